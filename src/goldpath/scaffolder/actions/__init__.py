"""Scaffolder actions: the interface (``base``) and the built-in actions."""
