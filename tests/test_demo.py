"""The demo organisation `goldpath up` shows: complete, valid, every relation resolvable."""

from __future__ import annotations

from collections import Counter

from goldpath.catalog.service import get_catalog
from goldpath.core.platform import Platform


def test_demo_organisation_is_complete_and_consistent(platform: Platform) -> None:
    platform.plugins.hook.goldpath_demo_data(platform=platform)
    catalog = get_catalog(platform)
    assert catalog.errors() == []

    entities = catalog.queries.list_entities()
    counts = Counter(e["kind"] for e in entities)
    assert counts["Domain"] >= 3 and counts["System"] >= 5
    assert counts["Group"] >= 5 and counts["User"] >= 15
    assert counts["Component"] >= 25 and counts["API"] >= 8 and counts["Resource"] >= 5

    known = {
        f"{e['kind'].lower()}:{e['metadata']['namespace']}/{e['metadata']['name']}".lower()
        for e in entities
    }
    dangling = {
        (e["metadata"]["name"], r["type"], r["targetRef"])
        for e in entities
        for r in e["relations"]
        if r["targetRef"] not in known
    }
    assert dangling == set()
    # Every kind of API definition is there, including one read from a file beside it.
    listings = catalog.queries.by_name("api", "default", "listings-api")
    assert "openapi: 3.0.3" in listings["spec"]["definition"]
    assert {e["spec"]["type"] for e in entities if e["kind"] == "API"} >= {
        "openapi",
        "graphql",
        "asyncapi",
    }


def test_loading_the_demo_twice_changes_nothing(platform: Platform) -> None:
    platform.plugins.hook.goldpath_demo_data(platform=platform)
    catalog = get_catalog(platform)
    before = {e["metadata"]["uid"]: e["metadata"]["etag"] for e in catalog.queries.list_entities()}
    platform.plugins.hook.goldpath_demo_data(platform=platform)
    after = {e["metadata"]["uid"]: e["metadata"]["etag"] for e in catalog.queries.list_entities()}
    assert after == before
    assert len(catalog.list_locations()) == 1
