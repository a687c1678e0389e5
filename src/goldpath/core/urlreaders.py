"""Readers for URLs that goldpath serves itself, read without an HTTP round trip.

Hosted git answers ``<base>/git/<owner>/<name>/blob/<ref>/<path>`` (a file) and
``.../tree/<ref>/<path>`` (a folder). When the catalog or a scaffolder action reads such a URL
it asks these readers first: reading the repository directly needs no allowlist entry for our
own host and cannot deadlock a single-process server calling itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from goldpath.core.platform import Platform


@runtime_checkable
class UrlReader(Protocol):
    def handles(self, url: str) -> bool:
        """True when this reader serves ``url``."""

    def read(self, url: str) -> bytes:
        """The file at ``url``; ``NotFoundError`` when there is none."""

    def read_tree(self, url: str, dest: Path) -> None:
        """Copy the folder (or single file) at ``url`` into the existing folder ``dest``."""


def url_readers(platform: Platform) -> list[UrlReader]:
    cached = platform.services.get("_url_readers")
    if cached is None:
        cached = [
            reader
            for readers in platform.plugins.hook.goldpath_url_readers(platform=platform)
            for reader in (readers or [])
        ]
        platform.services["_url_readers"] = cached
    return list(cached)


def find_url_reader(platform: Platform, url: str) -> UrlReader | None:
    return next((r for r in url_readers(platform) if r.handles(url)), None)
