"""TechDocs: docs as code, built with MkDocs, stored per entity and served in the portal."""
