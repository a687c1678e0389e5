"""The environment every git subprocess goldpath starts runs with."""

from __future__ import annotations

import os


def _base() -> dict[str, str]:
    # No prompts, no system config, only plain transports (no ext::/fd:: helpers that run
    # commands).
    return {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_ALLOW_PROTOCOL": "http:https:file",
    }


def git_env(**extra: str) -> dict[str, str]:
    """For git run on goldpath's behalf. The user's own git config is ignored too: a
    ``commit.gpgSign`` or credential helper there must not leak into the server's git."""
    return {**_base(), "GIT_CONFIG_GLOBAL": os.devnull, **extra}


def clone_env() -> dict[str, str]:
    """For cloning the catalog's repositories: the user's git config stays, since private
    repositories may rely on the credential helper configured there."""
    return _base()
