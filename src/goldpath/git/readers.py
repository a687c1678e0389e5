"""Reads this server's own hosted-git URLs straight from the repositories (no HTTP)."""

from __future__ import annotations

import re
from pathlib import Path

from goldpath.core.errors import NotFoundError
from goldpath.git.service import GitService

_PATH = re.compile(r"^/git/([^/]+)/([^/]+)/(blob|tree)/(.+)$")


class HostedGitReader:
    """Handles ``{base_url}/git/<owner>/<name>/blob|tree/<ref>/<path>``."""

    def __init__(self, git: GitService) -> None:
        self.git = git

    def _parse(self, url: str) -> tuple[str, str, str, str, str] | None:
        base = self.git.base_url()
        if not url.startswith(base + "/git/"):
            return None
        path = url[len(base) :].split("?", 1)[0].split("#", 1)[0]
        match = _PATH.match(path)
        if match is None:
            return None
        owner, name, kind, rest = match.groups()
        return owner, name.removesuffix(".git"), kind, rest, url

    def handles(self, url: str) -> bool:
        return self._parse(url) is not None

    def read(self, url: str) -> bytes:
        parsed = self._parse(url)
        if parsed is None:
            raise NotFoundError(f"{url} is not a hosted git URL")
        owner, name, _kind, rest, _ = parsed
        ref, inner = self.git.split_ref(owner, name, rest)
        return self.git.read_file(owner, name, ref, inner)

    def read_tree(self, url: str, dest: Path) -> None:
        parsed = self._parse(url)
        if parsed is None:
            raise NotFoundError(f"{url} is not a hosted git URL")
        owner, name, _kind, rest, _ = parsed
        ref, inner = self.git.split_ref(owner, name, rest)
        self.git.export_tree(owner, name, ref, inner, dest)
