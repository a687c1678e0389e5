"""goldpath's built-in golden paths: one folder per template (template.yaml, skeleton/,
CHANGELOG.md), plus ``_shared/`` for what they have in common."""
