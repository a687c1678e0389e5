"""The software catalog: Backstage-compatible entities, locations, processing and queries."""
