"""Search: one index over catalog entities, TechDocs pages and templates."""
