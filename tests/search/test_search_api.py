"""Search over HTTP, with the parameters Backstage's search client sends (``qs`` encoded)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from search_helpers import ORG, SITE, register, write

from goldpath.app import create_app
from goldpath.core.platform import Platform
from goldpath.search.service import REINDEX_TASK


@pytest.fixture
def client(platform: Platform, tmp_path: Path) -> Iterator[TestClient]:
    register(platform, write(tmp_path / "org" / "catalog-info.yaml", ORG))
    platform.plugins.hook.goldpath_docs_built(
        platform=platform, entity_ref="component:default/payments-gateway", pages=SITE
    )
    with TestClient(create_app(platform)) as c:
        yield c


def test_query_answers_backstage_result_sets(client: TestClient) -> None:
    response = client.get("/api/search/query", params={"term": "gateway"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"results", "numberOfResults", "facets"}
    first = body["results"][0]
    assert set(first) == {"type", "document", "highlight", "rank"}
    assert first["rank"] == 1
    assert {"title", "text", "location"} <= set(first["document"])
    assert set(first["highlight"]) == {"preTag", "postTag", "fields"}
    assert set(first["highlight"]["fields"]) == {"title", "text"}
    assert {f["value"] for f in body["facets"]["types"]} == {"software-catalog", "techdocs"}


@pytest.mark.parametrize(
    "query",
    [
        "term=pay&types[]=software-catalog&filters[kind]=Component",
        "term=pay&types[0]=software-catalog&filters[kind][0]=Component",
        "term=pay&types=software-catalog&filters[kind][]=Component",
    ],
)
def test_qs_encodings_of_types_and_filters(client: TestClient, query: str) -> None:
    body = client.get(f"/api/search/query?{query}").json()
    assert body["numberOfResults"] == 3  # the gateway, the storefront, the ledger ("payment")
    assert {r["type"] for r in body["results"]} == {"software-catalog"}
    assert {r["document"]["kind"] for r in body["results"]} == {"Component"}


def test_repeated_filter_values_are_alternatives(client: TestClient) -> None:
    body = client.get(
        "/api/search/query?filters[lifecycle]=experimental&filters[lifecycle]=production"
        "&filters[kind]=component&types[]=software-catalog&facets=none"
    ).json()
    assert body["numberOfResults"] == 3 and "facets" not in body
    picked = client.get("/api/search/query?facets=kind,owner").json()["facets"]
    assert set(picked) == {"kind", "owner"}


def test_paging_with_page_limit_and_cursors(client: TestClient) -> None:
    first = client.get("/api/search/query", params={"pageLimit": 3, "facets": "none"}).json()
    assert len(first["results"]) == 3 and "previousPageCursor" not in first
    second = client.get(
        "/api/search/query",
        params={"pageLimit": 3, "facets": "none", "pageCursor": first["nextPageCursor"]},
    ).json()
    assert [r["rank"] for r in second["results"]] == [4, 5, 6]
    assert second["previousPageCursor"]
    titles = {r["document"]["title"] for r in first["results"]}
    assert titles.isdisjoint(r["document"]["title"] for r in second["results"])


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ("pageLimit=500", "pageLimit"),
        ("pageLimit=many", "pageLimit"),
        ("types[]=wiki", "types"),
        ("filters[colour]=red", "filters[colour]"),
        ("filters=red", "filters"),
        ("term=x&pageCursor=bogus", "pageCursor"),
    ],
)
def test_bad_input_is_a_problem_document(client: TestClient, query: str, where: str) -> None:
    response = client.get(f"/api/search/query?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["where"] == where and problem["error"]["name"] == "InputError"


def test_hostile_terms_over_http(client: TestClient) -> None:
    for term in ('"', "*", "a:b", "-x", "NEAR(", "'; DROP TABLE search_content; --"):
        assert client.get("/api/search/query", params={"term": term}).status_code == 200
    assert client.get("/api/search/query", params={"term": "gateway"}).json()["results"]


def test_reindex_and_status(client: TestClient, platform: Platform) -> None:
    status = client.get("/api/search/status").json()
    assert status["upToDate"] is False  # never fully built: the version stamp is missing
    assert status["documents"]["software-catalog"] == 7
    assert status["documents"]["techdocs"] == 4
    response = client.post("/api/search/reindex")
    assert response.status_code == 202
    task_id = response.json()["taskId"]
    platform.tasks.run_until_idle(timeout=60)
    task = client.get(f"/api/platform/tasks/{task_id}").json()
    assert task["kind"] == REINDEX_TASK and task["status"] == "succeeded"
    assert client.get("/api/search/status").json()["upToDate"] is True
