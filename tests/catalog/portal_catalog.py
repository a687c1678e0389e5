"""What the catalog page tests share: the catalog they browse and how they read pages."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from goldpath.app import create_app
from goldpath.catalog.service import get_catalog
from goldpath.core.platform import Platform

EXTRA = """\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: night-batch
  namespace: ops
  title: Night batch
  description: Reconciles yesterday's ledger entries against the bank's statements overnight.
  tags: [cron, python]
  links:
    - {url: "javascript:alert(1)", title: Sneaky}
    - {url: "https://ops.example/night-batch", title: Dashboard}
  annotations:
    backstage.io/source-location: url:https://git.example/ops/night-batch
    example.com/pager-rotation: nights
spec:
  type: batch
  lifecycle: experimental
  owner: group:default/platform-team
  system: ops-tools
  dependsOn: [component:default/ghost-service, no-kind-given]
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata: {name: ops-tools, namespace: ops}
spec: {owner: group:default/platform-team}
"""
HX = {"HX-Request": "true", "HX-Target": "catalog-results"}
ROW = re.compile(r'<tr data-ref="([^"]+)"')


def load_catalog(platform: Platform, tmp_path: Path) -> None:
    """The demo organisation, plus a namespace ``ops`` whose component broke after it was
    read once (the catalog keeps serving the last good version, with the errors)."""
    platform.plugins.hook.goldpath_demo_data(platform=platform)
    extra = tmp_path / "extra.yaml"
    extra.write_text(EXTRA.replace(", no-kind-given", ""), encoding="utf-8")
    catalog = get_catalog(platform)
    location = catalog.add_location("file", str(extra), refresh=False)["location"]
    catalog.refresh_location_now(location["id"])
    extra.write_text(EXTRA, encoding="utf-8")
    catalog.refresh_location_now(location["id"])


def everything(platform: Platform) -> dict[str, dict[str, Any]]:
    """Every entity by its lower-cased ref, read through the service."""
    entities = get_catalog(platform).queries.list_entities()
    return {
        f"{e['kind']}:{e['metadata']['namespace']}/{e['metadata']['name']}".lower(): e
        for e in entities
    }


def refs(page: str) -> list[str]:
    return [r.lower() for r in ROW.findall(page)]


def link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)"[^>]*rel="{rel}"', page)
    return html.unescape(found.group(1)) if found else None


def walk(client: TestClient, url: str) -> list[list[str]]:
    """Every page of a list, following its Next links: the refs of each page."""
    pages = []
    next_url: str | None = url
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, response.text
        pages.append(refs(response.text))
        next_url = link(response.text, "next")
        assert len(pages) < 20, "paging does not end"
    return pages


def listed(client: TestClient, url: str) -> list[str]:
    return [ref for page in walk(client, url) for ref in page]


def owner(entity: dict[str, Any]) -> str | None:
    found = [r["targetRef"] for r in entity.get("relations", []) if r["type"] == "ownedBy"]
    return found[0].lower() if found else None


def spec(entity: dict[str, Any], key: str) -> str | None:
    value = (entity.get("spec") or {}).get(key)
    return value.lower() if isinstance(value, str) else None


def matching(all_: dict[str, dict[str, Any]], test: Callable[[dict[str, Any]], bool]) -> set[str]:
    return {ref for ref, entity in all_.items() if test(entity)}


def tags(entity: dict[str, Any]) -> set[str]:
    return {t.lower() for t in entity["metadata"].get("tags") or []}


@contextmanager
def catalog_statements(platform: Platform) -> Iterator[list[str]]:
    """SQL statements on the catalog's tables while the block runs (the shell's own, if any,
    are not this page's to pin)."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "catalog_" in statement:
            seen.append(statement)

    event.listen(platform.db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(platform.db.engine, "before_cursor_execute", record)


@contextmanager
def portal(platform: Platform, tmp_path: Path) -> Iterator[TestClient]:
    load_catalog(platform, tmp_path)
    with TestClient(create_app(platform)) as client:
        yield client
