"""The index follows the catalog and TechDocs: registration, edits, removals, reindexing."""

from __future__ import annotations

from pathlib import Path

import pytest
from search_helpers import ORG, SITE, refresh, refs, register, search, write
from sqlalchemy import text

from goldpath.catalog.service import get_catalog
from goldpath.core.platform import Platform
from goldpath.search.service import REINDEX_TASK, get_search


@pytest.fixture
def org(platform: Platform, tmp_path: Path) -> tuple[Path, str]:
    path = write(tmp_path / "org" / "catalog-info.yaml", ORG)
    return path, register(platform, path)


def test_registered_entities_are_found_with_backstage_documents(
    platform: Platform, org: tuple[Path, str]
) -> None:
    found = search(platform, "gateway")
    assert refs(found)[0] == "component:default/payments-gateway"
    hit = found["results"][0]
    assert hit["type"] == "software-catalog" and hit["rank"] == 1
    assert hit["document"] == {
        "title": "Payments Gateway",
        "text": "Takes card payments from the checkout and settles them nightly.",
        "location": "/catalog/default/component/payments-gateway",
        "kind": "Component",
        "namespace": "default",
        "componentType": "service",
        "type": "service",
        "lifecycle": "production",
        "owner": "team-money",
        "tags": ["python", "pci"],
        "authorization": {"resourceRef": "component:default/payments-gateway"},
    }
    # Profiles are searchable text, as in Backstage's collator; Locations are not indexed.
    assert refs(search(platform, "lovelace")) == ["user:default/ada"]
    assert not [r for r in search(platform, "")["results"] if r["document"]["kind"] == "Location"]


def test_templates_are_their_own_document_type(platform: Platform, org: tuple[Path, str]) -> None:
    templates = search(platform, "", types=["software-template"])
    assert refs(templates) == ["template:default/payment-service"]
    document = templates["results"][0]["document"]
    assert document["location"] == "/create/templates/default/payment-service"
    assert document["title"] == "Payment service" and document["kind"] == "Template"
    catalog_only = search(platform, "payment", types=["software-catalog"])
    assert "template:default/payment-service" not in refs(catalog_only)
    assert "template:default/payment-service" in refs(search(platform, "payment"))


def test_edits_and_removals_follow_the_catalog(
    platform: Platform, org: tuple[Path, str], tmp_path: Path
) -> None:
    path, location_id = org
    assert refs(search(platform, "books")) == ["component:default/ledger"]
    path.write_text(
        path.read_text().replace("Keeps the books", "Double-entry bookkeeping"), encoding="utf-8"
    )
    refresh(platform, location_id)
    assert refs(search(platform, "bookkeeping")) == ["component:default/ledger"]
    assert search(platform, "books")["numberOfResults"] == 0

    # An entity that leaves its file is orphaned (still served, as in Backstage) …
    path.write_text(path.read_text().replace("name: storefront", "name: shopfront"))
    refresh(platform, location_id)
    assert "component:default/shopfront" in refs(search(platform, "shoppers"))
    # … and gone from search once the catalog deletes it.
    get_catalog(platform).remove_location(location_id)
    assert search(platform, "")["numberOfResults"] == 0


def test_docs_pages_and_sections_come_from_the_docs_hook(
    platform: Platform, org: tuple[Path, str]
) -> None:
    platform.plugins.hook.goldpath_docs_built(
        platform=platform, entity_ref="component:default/payments-gateway", pages=SITE
    )
    settlement = search(platform, "reconciles", types=["techdocs"])
    # The section holds the words, the page's own text no longer repeats them: one hit.
    assert refs(settlement) == ["component:default/payments-gateway/#settlement"]
    document = settlement["results"][0]["document"]
    assert document["location"] == "/docs/default/component/payments-gateway/#settlement"
    assert document["title"] == "Settlement" and document["entityTitle"] == "Payments Gateway"
    assert document["owner"] == "team-money" and document["lifecycle"] == "production"
    runbook = search(platform, "on-call")
    assert refs(runbook) == ["component:default/payments-gateway/runbook/"]
    assert runbook["results"][0]["document"]["location"].endswith("/payments-gateway/runbook/")
    # Entity filters apply to docs too.
    assert search(platform, "acquirer", filters={"owner": ["team-shop"]})["numberOfResults"] == 0
    assert search(platform, "acquirer", filters={"owner": ["team-money"]})["numberOfResults"] == 2

    # A new build replaces the entity's pages.
    platform.plugins.hook.goldpath_docs_built(
        platform=platform,
        entity_ref="component:default/payments-gateway",
        pages=[{"path": "", "title": "Gateway", "text": "Rewritten from scratch.", "sections": []}],
    )
    assert search(platform, "acquirer")["numberOfResults"] == 0
    assert refs(search(platform, "scratch")) == ["component:default/payments-gateway/"]


def test_docs_follow_their_entity_and_leave_with_it(
    platform: Platform, org: tuple[Path, str]
) -> None:
    path, location_id = org
    platform.plugins.hook.goldpath_docs_built(
        platform=platform, entity_ref="Component:default/Payments-Gateway", pages=SITE
    )
    # An entity written again unchanged leaves its documents (and docs pages) alone.
    again = get_search(platform).entities_changed(["component:default/payments-gateway"], [])
    assert again.written == 0 and again.unchanged == 5
    path.write_text(
        path.read_text().replace("owner: team-money, system", "owner: team-shop, system", 1)
    )
    refresh(platform, location_id)
    moved = search(platform, "acquirer", filters={"owner": ["team-shop"]})
    assert moved["numberOfResults"] == 2
    assert {r["document"]["owner"] for r in moved["results"]} == {"team-shop"}

    catalog = get_catalog(platform)
    gateway = catalog.queries.by_name("component", "default", "payments-gateway")
    catalog.delete_entity_by_uid(gateway["metadata"]["uid"])
    assert search(platform, "acquirer")["numberOfResults"] == 0
    assert "component:default/payments-gateway" not in refs(search(platform, "gateway"))


def test_docs_of_unknown_entities_are_ignored(platform: Platform) -> None:
    platform.plugins.hook.goldpath_docs_built(
        platform=platform, entity_ref="component:default/ghost", pages=SITE
    )
    assert search(platform, "")["numberOfResults"] == 0


def test_reindex_repairs_the_index_and_start_up_schedules_it(
    platform: Platform, org: tuple[Path, str]
) -> None:
    service = get_search(platform)
    assert service.reindex()["written"] == 0  # the change hook already indexed everything
    with platform.db.session() as session:
        for table in ("search_tags", "search_content", "search_documents"):
            session.execute(text(f"DELETE FROM {table}"))
    if platform.db.is_sqlite:
        with platform.db.session() as session:
            session.execute(text("INSERT INTO search_fts(search_fts) VALUES ('rebuild')"))
    assert search(platform, "gateway")["numberOfResults"] == 0
    assert not service.status()["upToDate"]

    task_id = service.ensure_fresh()
    assert task_id is not None
    platform.tasks.run_until_idle(timeout=60)
    task = platform.tasks.get(task_id)
    assert task.kind == REINDEX_TASK and task.status == "succeeded"
    assert task.result and task.result["written"] == 8
    assert refs(search(platform, "gateway"))[0] == "component:default/payments-gateway"
    assert service.status()["upToDate"] and service.ensure_fresh() is None
    # The periodic safety net skips a reindex so recent.
    periodic = platform.tasks.enqueue(REINDEX_TASK, {"unless_within_seconds": 3600})
    platform.tasks.run_until_idle(timeout=60)
    assert platform.tasks.get(periodic).result == {"skipped": "a reindex ran recently"}


def test_a_failing_index_write_never_fails_the_catalog(platform: Platform, tmp_path: Path) -> None:
    with platform.db.session() as session:
        session.execute(text("DROP TABLE search_tags"))
    path = write(tmp_path / "org" / "catalog-info.yaml", ORG)
    register(platform, path)
    assert get_catalog(platform).queries.by_name("component", "default", "ledger")
    queued = platform.tasks.list(kind=REINDEX_TASK)
    assert queued, "the failed update schedules a reindex"
