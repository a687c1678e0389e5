"""Hosted git: bare repositories under the data dir, served over git's smart HTTP."""
