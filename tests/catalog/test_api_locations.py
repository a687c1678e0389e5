"""Catalog write endpoints and locations over HTTP, with Backstage's shapes."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from goldpath.app import create_app
from goldpath.core.platform import Platform

ENTITY = {
    "apiVersion": "backstage.io/v1alpha1",
    "kind": "Component",
    "metadata": {"name": "web"},
    "spec": {"type": "website", "lifecycle": "production", "owner": "team-web"},
}


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with TestClient(create_app(platform)) as c:
        yield c


@pytest.fixture
def catalog_file(tmp_path: Path) -> Path:
    path = tmp_path / "catalog-info.yaml"
    path.write_text(
        textwrap.dedent(
            """
            apiVersion: backstage.io/v1alpha1
            kind: Component
            metadata: {name: web}
            spec: {type: website, lifecycle: production, owner: team-web}
            """
        )
    )
    return path


def test_location_lifecycle(client: TestClient, platform: Platform, catalog_file: Path) -> None:
    body = {"type": "file", "target": str(catalog_file)}
    dry = client.post("/api/catalog/locations?dryRun=true", json=body)
    assert dry.status_code == 201
    assert [e["metadata"]["name"] for e in dry.json()["entities"] if e["kind"] == "Component"] == [
        "web"
    ]
    assert client.get("/api/catalog/locations").json() == []

    created = client.post("/api/catalog/locations", json=body)
    assert created.status_code == 201
    location = created.json()["location"]
    assert location["type"] == "file" and location["target"] == str(catalog_file)
    platform.tasks.run_until_idle(timeout=30)

    assert client.get("/api/catalog/locations").json() == [{"data": location}]
    assert client.get(f"/api/catalog/locations/{location['id']}").json() == location
    assert client.get("/api/catalog/locations/by-entity/component/default/web").json() == location
    again = client.post("/api/catalog/locations", json=body)
    assert again.status_code == 409

    web = client.get("/api/catalog/entities/by-name/component/default/web").json()
    ancestry = client.get("/api/catalog/entities/by-name/component/default/web/ancestry").json()
    assert ancestry["items"][0]["entity"]["metadata"]["uid"] == web["metadata"]["uid"]
    assert ancestry["rootEntityRef"] == "component:default/web"
    assert ancestry["items"][0]["parentEntityRefs"] == [location["entityRef"]]

    assert client.delete(f"/api/catalog/locations/{location['id']}").status_code == 204
    assert client.get("/api/catalog/entities/by-name/component/default/web").status_code == 404
    assert client.get(f"/api/catalog/locations/{location['id']}").status_code == 404


def test_errors_are_problem_json_with_backstage_members(client: TestClient) -> None:
    problem = {"accept": "application/problem+json"}
    response = client.post(
        "/api/catalog/locations", json={"type": "file", "target": "/etc/passwd"}, headers=problem
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    # Backstage's clients parse error bodies only when served as application/json.
    plain = client.post("/api/catalog/locations", json={"type": "file", "target": "/etc/passwd"})
    assert plain.headers["content-type"].startswith("application/json")
    assert plain.json()["error"]["name"] == "NotAllowedError"
    elsewhere = client.get("/api/platform/tasks/nope")
    assert elsewhere.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert "outside the catalog file roots" in body["detail"]
    assert body["error"]["name"] == "NotAllowedError"
    assert body["response"]["statusCode"] == 403

    missing = client.get("/api/catalog/entities/by-name/component/default/nope")
    assert missing.status_code == 404 and missing.json()["error"]["name"] == "NotFoundError"

    bad = client.post("/api/catalog/locations", json={"type": "ftp"})
    assert bad.status_code == 400
    assert any(e["where"].endswith("target") for e in bad.json()["errors"])


def test_validate_entity(client: TestClient) -> None:
    ok = client.post("/api/catalog/validate-entity", json={"entity": ENTITY, "location": "x"})
    assert ok.status_code == 200
    broken = {**ENTITY, "metadata": {"name": "Bad Name"}, "spec": {"type": "website"}}
    response = client.post("/api/catalog/validate-entity", json={"entity": broken})
    assert response.status_code == 400
    messages = " ".join(e["message"] for e in response.json()["errors"])
    assert "metadata.name" in messages and "spec.owner" in messages


def test_refresh_and_delete_by_uid(
    client: TestClient, platform: Platform, catalog_file: Path
) -> None:
    client.post("/api/catalog/locations", json={"type": "file", "target": str(catalog_file)})
    platform.tasks.run_until_idle(timeout=30)
    catalog_file.write_text(catalog_file.read_text().replace("website", "service"))

    refreshed = client.post("/api/catalog/refresh", json={"entityRef": "component:default/web"})
    assert refreshed.status_code == 200
    platform.tasks.run_until_idle(timeout=30)
    web = client.get("/api/catalog/entities/by-name/component/default/web").json()
    assert web["spec"]["type"] == "service"

    assert (
        client.post(
            "/api/catalog/refresh", json={"entityRef": "component:default/nope"}
        ).status_code
        == 404
    )
    assert (
        client.delete(f"/api/catalog/entities/by-uid/{web['metadata']['uid']}").status_code == 204
    )
    assert client.get(f"/api/catalog/entities/by-uid/{web['metadata']['uid']}").status_code == 404
    assert client.delete("/api/catalog/entities/by-uid/does-not-exist").status_code == 404


def test_health_metrics_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    client.get("/api/catalog/entities")
    metrics = client.get("/metrics").text
    assert 'goldpath_http_requests_total{method="GET",route="/api/catalog/entities"' in metrics
    spec = client.get("/api/openapi.json").json()
    for path in (
        "/api/catalog/entities",
        "/api/catalog/entities/by-query",
        "/api/catalog/entities/by-refs",
        "/api/catalog/locations",
        "/api/catalog/validate-entity",
    ):
        assert path in spec["paths"]
    assert client.get("/api/nothing-here").status_code == 404


def test_entities_ordered_by_a_field(
    client: TestClient, platform: Platform, tmp_path: Path
) -> None:
    docs = [
        f"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {{name: {n}}}\n"
        f"spec: {{type: service, lifecycle: production, owner: {o}}}\n"
        for n, o in (("b-svc", "team-z"), ("a-svc", "team-y"), ("c-svc", "team-x"))
    ]
    (tmp_path / "many.yaml").write_text("---\n".join(docs))
    client.post(
        "/api/catalog/locations", json={"type": "file", "target": str(tmp_path / "many.yaml")}
    )
    platform.tasks.run_until_idle(timeout=30)
    params = {"filter": "kind=component", "order": "desc:spec.owner"}
    names = [
        e["metadata"]["name"] for e in client.get("/api/catalog/entities", params=params).json()
    ]
    assert names == ["b-svc", "a-svc", "c-svc"]
    paged = client.get(
        "/api/catalog/entities", params={**params, "limit": 2, "order": "asc:metadata.name"}
    )
    assert paged.status_code == 200
    assert [e["metadata"]["name"] for e in paged.json()] == ["a-svc", "b-svc"]
