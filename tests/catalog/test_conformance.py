"""../shared/conformance/catalog: the outcome a real Backstage gives, plus $text resolved."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from goldpath.catalog.service import get_catalog
from goldpath.core.platform import Platform
from shared_fixtures import conformance_dir


@pytest.fixture
def examples(tmp_path: Path) -> Path:
    target = tmp_path / "backstage-examples"
    shutil.copytree(conformance_dir("catalog", "backstage-examples"), target)
    return target


def _register(platform: Platform, target: Path) -> None:
    get_catalog(platform).add_location("file", str(target))
    platform.tasks.run_until_idle(timeout=60)


def _rels(entity: dict[str, Any]) -> set[tuple[str, str]]:
    return {(r["type"], r["targetRef"]) for r in entity["relations"]}


def test_all_yaml_gives_backstage_outcome(platform: Platform, examples: Path) -> None:
    _register(platform, examples / "all.yaml")
    catalog = get_catalog(platform)
    entities = catalog.queries.list_entities()
    by_kind: dict[str, set[str]] = {}
    for e in entities:
        assert e["metadata"]["namespace"] == "default"
        by_kind.setdefault(e["kind"], set()).add(e["metadata"]["name"])

    assert by_kind["Component"] == {
        "artist-lookup",
        "petstore",
        "playback-order",
        "podcast-api",
        "example",
        "shuffle-api",
        "wayback-search",
        "www-artist",
    }
    assert by_kind["API"] == {"petstore", "inventory"}
    assert len(by_kind["System"]) == 2 and len(by_kind["Domain"]) == 1
    assert len(by_kind["Resource"]) == 1
    # conformance-all, conformance-components and one generated-… for the registration
    locations = by_kind["Location"]
    assert {"conformance-all", "conformance-components"} <= locations
    assert len([n for n in locations if n.startswith("generated-")]) == 1
    assert set(by_kind) == {"Component", "API", "System", "Domain", "Resource", "Location"}

    q = catalog.queries
    artist = q.by_name("component", "default", "artist-lookup")
    assert _rels(artist) >= {
        ("ownedBy", "group:default/team-a"),
        ("partOf", "system:default/artist-engagement-portal"),
        ("dependsOn", "resource:default/artists-db"),
    }
    assert ("dependencyOf", "component:default/artist-lookup") in _rels(
        q.by_name("resource", "default", "artists-db")
    )
    assert ("providesApi", "api:default/petstore") in _rels(
        q.by_name("component", "default", "petstore")
    )
    assert ("partOf", "domain:default/playback") in _rels(
        q.by_name("system", "default", "audio-playback")
    )
    assert ("ownedBy", "user:default/guest") in _rels(
        q.by_name("component", "default", "playback-order")
    )
    inventory = q.by_name("api", "default", "inventory")
    expected = (examples / "apis" / "inventory.oas.yaml").read_text(encoding="utf-8")
    assert inventory["spec"]["definition"] == expected
    assert catalog.errors() == []


def test_broken_file_fails_alone_with_a_clear_error(platform: Platform, examples: Path) -> None:
    _register(platform, examples / "all.yaml")
    catalog = get_catalog(platform)
    before = {e["metadata"]["uid"]: e["metadata"]["etag"] for e in catalog.queries.list_entities()}

    _register(platform, examples / "broken" / "wayback-search-api.yaml")
    errors = catalog.errors()
    assert len(errors) == 1
    error = errors[0]
    assert error["entityRef"] == "api:default/wayback-search"
    assert "github.com" in error["message"] and "$text" in error["message"]
    assert "wayback-search-api.yaml" in error["source"]
    with pytest.raises(Exception, match="wayback-search"):
        catalog.queries.by_name("api", "default", "wayback-search")
    after = {
        e["metadata"]["uid"]: e["metadata"]["etag"]
        for e in catalog.queries.list_entities()
        if not e["metadata"]["name"].startswith("generated-") or e["metadata"]["uid"] in before
    }
    assert after == before
