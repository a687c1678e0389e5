"""Catalog entity reads over HTTP, with the parameters ``@backstage/catalog-client`` sends.

The client repeats ``filter``, ``orderField`` and ``facet``, joins ``fields`` and
``fullTextFilterFields`` with commas, and reads errors from ``error.message``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from goldpath.app import create_app
from goldpath.catalog.final import FinalEntity, write_final_entities
from goldpath.core.platform import Platform


def _entity(kind: str, name: str, owner: str | None = None, **spec: Any) -> FinalEntity:
    uid = str(uuid.uuid4())
    body: dict[str, Any] = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "default", "uid": uid, "etag": "e1"},
        "spec": {**spec, **({"owner": owner} if owner else {})},
        "relations": (
            [{"type": "ownedBy", "targetRef": f"group:default/{owner}"}] if owner else []
        ),
    }
    return FinalEntity(
        ref_key=f"{kind}:default/{name}".lower(),
        uid=uid,
        etag="e1",
        kind=kind,
        namespace="default",
        name=name,
        entity=body,
    )


ENTITIES = [
    _entity("Component", "checkout", "team-a", type="service"),
    _entity("Component", "web", "team-a", type="website"),
    _entity("Component", "billing", "team-b", type="service"),
    _entity("API", "checkout-api", "team-a", type="openapi"),
    _entity("Group", "team-a", type="team"),
    _entity("Group", "team-b", type="team"),
]


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient]:
    with platform.db.session() as session:
        write_final_entities(session, ENTITIES)
    with TestClient(create_app(platform)) as c:
        yield c


def _names(items: list[dict[str, Any]]) -> list[str]:
    return [e["metadata"]["name"] for e in items]


def test_get_entities(client: TestClient) -> None:
    everything = client.get("/api/catalog/entities")
    assert everything.status_code == 200
    assert everything.headers["content-type"].startswith("application/json")
    assert _names(everything.json()) == [
        "checkout-api",
        "billing",
        "checkout",
        "web",
        "team-a",
        "team-b",
    ]
    owned = client.get(
        "/api/catalog/entities",
        params=[("filter", "kind=component,relations.ownedBy=group:default/team-a")],
    )
    assert _names(owned.json()) == ["checkout", "web"]
    either = client.get(
        "/api/catalog/entities",
        params=[("filter", "kind=group"), ("filter", "kind=api"), ("fields", "kind,metadata.name")],
    )
    assert either.json() == [
        {"kind": "API", "metadata": {"name": "checkout-api"}},
        {"kind": "Group", "metadata": {"name": "team-a"}},
        {"kind": "Group", "metadata": {"name": "team-b"}},
    ]
    ordered = client.get(
        "/api/catalog/entities",
        params=[("filter", "kind=component"), ("order", "desc:metadata.name")],
    )
    assert _names(ordered.json()) == ["web", "checkout", "billing"]


def test_get_entities_pages_with_a_link_header(client: TestClient) -> None:
    first = client.get("/api/catalog/entities", params={"limit": "4", "offset": "0"})
    assert len(first.json()) == 4
    link = first.headers["link"]
    assert link.startswith("</api/catalog/entities?") and link.endswith('>; rel="next"')
    assert "offset" not in link and "after=" in link
    second = client.get(link[1 : link.index(">")])
    assert _names(second.json()) == ["team-a", "team-b"]
    assert "link" not in second.headers


def test_by_query(client: TestClient) -> None:
    page = client.get(
        "/api/catalog/entities/by-query",
        params=[
            ("filter", "kind=component"),
            ("orderField", "metadata.name,desc"),
            ("limit", "2"),
            ("fields", "metadata.name,kind"),
        ],
    ).json()
    assert page["totalItems"] == 3
    assert page["items"] == [
        {"kind": "Component", "metadata": {"name": "web"}},
        {"kind": "Component", "metadata": {"name": "checkout"}},
    ]
    assert set(page["pageInfo"]) == {"nextCursor"}
    rest = client.get(
        "/api/catalog/entities/by-query",
        params={"cursor": page["pageInfo"]["nextCursor"], "fields": "metadata.name"},
    ).json()
    assert rest["items"] == [{"metadata": {"name": "billing"}}]
    assert rest["totalItems"] == 3 and set(rest["pageInfo"]) == {"prevCursor"}
    back = client.get(
        "/api/catalog/entities/by-query", params={"cursor": rest["pageInfo"]["prevCursor"]}
    ).json()
    assert _names(back["items"]) == ["web", "checkout"]

    text = client.get(
        "/api/catalog/entities/by-query",
        params={"fullTextFilterTerm": "CHECK", "fullTextFilterFields": "metadata.name,spec.type"},
    ).json()
    assert sorted(_names(text["items"])) == ["checkout", "checkout-api"]
    default = client.get("/api/catalog/entities/by-query").json()
    assert default["totalItems"] == len(ENTITIES) and default["pageInfo"] == {}


def test_by_refs(client: TestClient) -> None:
    response = client.post(
        "/api/catalog/entities/by-refs",
        json={
            "entityRefs": [
                "group:default/team-b",
                "component:default/nope",
                "API:default/checkout-api",
            ],
            "fields": ["kind"],
        },
    )
    assert response.status_code == 200
    assert response.json() == {"items": [{"kind": "Group"}, None, {"kind": "API"}]}
    filtered = client.post(
        "/api/catalog/entities/by-refs?filter=kind=group",
        json={"entityRefs": ["group:default/team-b", "api:default/checkout-api"]},
    )
    assert [i and i["metadata"]["name"] for i in filtered.json()["items"]] == ["team-b", None]
    bad = client.post("/api/catalog/entities/by-refs", json={"fields": ["kind"]})
    assert bad.status_code == 400


def test_single_entities(client: TestClient) -> None:
    one = client.get("/api/catalog/entities/by-name/Component/default/CHECKOUT")
    assert one.status_code == 200
    assert one.json() == ENTITIES[0].entity
    uid = ENTITIES[0].uid
    assert client.get(f"/api/catalog/entities/by-uid/{uid}").json() == ENTITIES[0].entity
    missing = client.get("/api/catalog/entities/by-name/component/default/nope")
    assert missing.status_code == 404
    assert missing.json()["error"]["name"] == "NotFoundError"
    assert "No entity named 'nope'" in missing.json()["error"]["message"]
    assert client.get("/api/catalog/entities/by-uid/nope").status_code == 404


def test_facets(client: TestClient) -> None:
    response = client.get(
        "/api/catalog/entity-facets",
        params=[("facet", "kind"), ("facet", "spec.type"), ("filter", "kind=component")],
    )
    assert response.json() == {
        "facets": {
            "kind": [{"value": "Component", "count": 3}],
            "spec.type": [{"value": "service", "count": 2}, {"value": "website", "count": 1}],
        }
    }
    assert client.get("/api/catalog/entity-facets").status_code == 400


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/api/catalog/entities", {"filter": "=x"}, "Invalid filter"),
        ("/api/catalog/entities", {"limit": "ten"}, "Invalid limit"),
        ("/api/catalog/entities", {"after": "%%%"}, "Malformed after cursor"),
        ("/api/catalog/entities", {"fields": "a[0]"}, "array type fields"),
        ("/api/catalog/entities/by-query", {"cursor": "garbage"}, "Malformed cursor"),
        ("/api/catalog/entities/by-query", {"orderField": "kind,sideways"}, "asc or desc"),
    ],
)
def test_bad_input_is_a_400(
    client: TestClient, path: str, params: dict[str, str], message: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["name"] == "InputError"
    assert message in body["error"]["message"]
