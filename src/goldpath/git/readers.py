"""Reads this server's own hosted-git URLs straight from the repositories (no HTTP).

Registered through ``goldpath_url_readers``: the catalog and the scaffolder's fetch actions
ask it before going to the network, so our own address needs no allowlist entry and a
single-process server never waits on a request to itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from goldpath.core.errors import NotFoundError
from goldpath.git.service import GitService

_PATH = re.compile(r"/git/([^/]+)/([^/]+)/(blob|tree)/(.+)")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class HostedGitUrl:
    owner: str
    name: str
    kind: str  # blob | tree
    #: ``<ref>/<path>``: where the ref ends is only known by looking at the repository.
    rest: str


class HostedGitReader:
    """Handles ``{base_url}/git/<owner>/<name>/blob|tree/<ref>/<path>``."""

    def __init__(self, git: GitService) -> None:
        self.git = git

    def _bases(self) -> list[str]:
        """Our own URL, plus its other loopback spellings when it is on loopback: a user
        who browses http://localhost:7007 pastes such URLs."""
        base = self.git.base_url()
        parts = urlsplit(base)
        if parts.hostname not in _LOOPBACK:
            return [base]
        port = f":{parts.port}" if parts.port else ""
        return [base] + [
            f"{parts.scheme}://{f'[{host}]' if ':' in host else host}{port}{parts.path}".rstrip("/")
            for host in _LOOPBACK
            if host != parts.hostname
        ]

    def parse(self, url: str) -> HostedGitUrl | None:
        base = next((b for b in self._bases() if url.startswith(b + "/git/")), None)
        if base is None:
            return None
        # The path as the HTTP server would see it: percent-decoded, no query or fragment.
        path = unquote(urlsplit(url[len(base) :]).path)
        match = _PATH.fullmatch(path)
        if match is None:
            return None
        owner, name, kind, rest = match.groups()
        return HostedGitUrl(owner, name.removesuffix(".git"), kind, rest)

    def handles(self, url: str) -> bool:
        return self.parse(url) is not None

    def _resolve(self, url: str) -> tuple[HostedGitUrl, str, str]:
        parsed = self.parse(url)
        if parsed is None:
            raise NotFoundError(f"{url} is not a hosted git URL", where=url)
        ref, inner = self.git.split_ref(parsed.owner, parsed.name, parsed.rest)
        return parsed, ref, inner

    def read(self, url: str) -> bytes:
        parsed, ref, inner = self._resolve(url)
        return self.git.read_file(parsed.owner, parsed.name, ref, inner)

    def read_tree(self, url: str, dest: Path) -> None:
        parsed, ref, inner = self._resolve(url)
        self.git.export_tree(parsed.owner, parsed.name, ref, inner, dest)
