"""What the TechDocs tests share: a service folder with docs, registering it, reading builds."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from goldpath.catalog.service import get_catalog
from goldpath.core.hookspecs import hookimpl
from goldpath.core.platform import Platform
from goldpath.docs.model import Build
from goldpath.docs.service import get_docs

REF = "component:default/ledger"
STATIC = "/api/techdocs/static/docs/default/component/ledger/"
PORTAL = "/docs/default/component/ledger/"

CATALOG_INFO = """
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: {name}
  description: Keeps the books
  annotations:
    backstage.io/techdocs-ref: {ref}
spec: {{type: service, lifecycle: production, owner: team-money}}
"""

MKDOCS = """
site_name: Ledger
site_description: How the ledger keeps the books
nav:
  - Home: index.md
  - Guide: guide.md
"""

INDEX = """
# Ledger

The ledger keeps the books. Read [the guide](guide.md) first.

## Setup

Run `make run` and open the books.

<script>alert("from the docs")</script>
"""

GUIDE = """
# Guide

![The logo](img/logo.png)

## Posting entries

Every entry has two sides.
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def service_folder(
    root: Path,
    *,
    name: str = "ledger",
    ref: str = "dir:.",
    mkdocs: str = MKDOCS,
    pages: dict[str, str] | None = None,
) -> Path:
    """A repository-like folder: catalog-info.yaml, mkdocs.yml, docs/ and some source."""
    folder = root / name
    write(folder / "catalog-info.yaml", CATALOG_INFO.format(name=name, ref=ref))
    write(folder / "mkdocs.yml", mkdocs)
    for page, text in (pages or {"index.md": INDEX, "guide.md": GUIDE}).items():
        write(folder / "docs" / page, text)
    (folder / "docs" / "img").mkdir(parents=True, exist_ok=True)
    (folder / "docs" / "img" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    write(folder / "src" / "main.py", "print('hello')\n")
    return folder


def register(platform: Platform, folder: Path) -> str:
    """Register ``folder``'s catalog-info.yaml and run every task that follows."""
    location = get_catalog(platform).add_location("file", str(folder / "catalog-info.yaml"))
    platform.tasks.run_until_idle(timeout=120)
    return str(location["location"]["id"])


def refresh(platform: Platform, location_id: str) -> None:
    get_catalog(platform).schedule_refresh(location_id)
    platform.tasks.run_until_idle(timeout=120)


def builds(platform: Platform, name: str = "ledger") -> list[Build]:
    """Newest first."""
    return get_docs(platform).builds("component", "default", name)


def latest(platform: Platform, name: str = "ledger") -> Build:
    found = builds(platform, name)
    assert found, f"no build of {name}"
    return get_docs(platform).build("component", "default", name, found[0].id)


class BuiltRecorder:
    """A plugin, as the search feature is one, that hears of every stored site."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[dict[str, Any]]]] = []

    @hookimpl
    def goldpath_docs_built(
        self, platform: Platform, entity_ref: str, pages: list[dict[str, Any]]
    ) -> None:
        self.calls.append((entity_ref, pages))
