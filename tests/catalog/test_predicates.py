"""Predicate queries (``$all``, ``$any``, ``$not``, ``$exists``, ``$in``) and field ordering of
``GET /entities``, on SQLite and PostgreSQL, through ``EntityQueries`` and the HTTP API."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from goldpath.app import create_app
from goldpath.catalog import query as query_module
from goldpath.catalog.final import FinalEntity, write_final_entities
from goldpath.catalog.predicates import NOTHING, parse_predicate
from goldpath.catalog.query import Condition, EntityQueries
from goldpath.core.db import Database
from goldpath.core.errors import InputError
from goldpath.core.platform import Platform


def entity(kind: str, name: str, *, namespace: str = "default", **extra: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    metadata.update(extra.pop("metadata", {}))
    metadata.setdefault("uid", str(uuid.uuid4()))
    metadata.setdefault("etag", uuid.uuid4().hex)
    return {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": metadata,
        "spec": extra.pop("spec", {}),
        "relations": [],
    }


def final(body: dict[str, Any]) -> FinalEntity:
    meta = body["metadata"]
    return FinalEntity(
        ref_key=f"{body['kind']}:{meta['namespace']}/{meta['name']}".lower(),
        uid=meta["uid"],
        etag=meta["etag"],
        kind=body["kind"],
        namespace=meta["namespace"],
        name=meta["name"],
        entity=body,
    )


CATALOG = [
    entity(
        "Component",
        "ledger",
        metadata={"title": "Ledger", "tags": ["python", "accounting"]},
        spec={"type": "service", "lifecycle": "production", "replicas": 3, "public": True},
    ),
    entity(
        "Component",
        "Invoices",
        metadata={"tags": ["python"]},
        spec={"type": "Website", "lifecycle": "experimental"},
    ),
    entity(
        "Component",
        "legacy",
        namespace="ops",
        metadata={"title": "Old"},
        spec={"type": "service", "lifecycle": "deprecated"},
    ),
    entity("API", "ledger-api", spec={"type": "openapi", "lifecycle": "production"}),
    entity("Group", "team-money", spec={"type": "team"}),
    entity("System", "finance"),
]


def write_catalog(db: Database) -> None:
    with db.session() as session:
        write_final_entities(session, [final(e) for e in CATALOG])


@pytest.fixture(params=["small", "large"])
def queries(
    request: pytest.FixtureRequest, db: Database, monkeypatch: pytest.MonkeyPatch
) -> EntityQueries:
    if request.param == "large":
        monkeypatch.setattr(query_module, "SMALL_SET", -1)
    write_catalog(db)
    return EntityQueries(db)


def names(items: list[Any]) -> list[str]:
    return [e["metadata"]["name"] for e in items]


def matching(queries: EntityQueries, predicate: Any, **kwargs: Any) -> list[str]:
    kwargs.setdefault("order_fields", ["metadata.name"])
    result = queries.query_entities(where=parse_predicate(predicate), query=predicate, **kwargs)
    return names(result["items"])


# ================================================================ GET /entities ordering
def test_list_order_with_limit_and_offset(queries: EntityQueries) -> None:
    """Field order with and without paging (PostgreSQL rejected the ORDER BY before)."""
    by_name = queries.list_entities(order=["asc:metadata.name"])
    assert names(by_name) == sorted(names(by_name), key=str.lower)
    assert (
        names(queries.list_entities(order=["asc:metadata.name"], limit="2")) == names(by_name)[:2]
    )
    assert (
        names(queries.list_entities(order=["asc:metadata.name"], limit="2", offset="2"))
        == (names(by_name)[2:4])
    )
    assert (
        names(queries.list_entities(order=["asc:metadata.name"], offset="4"))
        == (names(by_name)[4:])
    )
    # Missing titles sort last in both directions.
    titled = queries.list_entities(order=["desc:metadata.title"], limit="3")
    assert names(titled) == ["legacy", "ledger", names(titled)[2]]
    assert "title" not in titled[2]["metadata"]
    streamed = orjson.loads(b"".join(queries.iter_list_json(order=["desc:metadata.name"])))
    assert names(streamed) == list(reversed(names(by_name)))


def test_streamed_list_fails_before_returning(
    queries: EntityQueries, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> tuple[str, dict[str, Any]]:
        return "SELECT body FROM no_such_table", {}

    monkeypatch.setattr(queries, "_list_sql", broken)
    with pytest.raises(Exception, match="no_such_table"):
        queries.iter_list_json()


# ================================================================ parsing
def test_parse_predicate_shapes() -> None:
    assert parse_predicate({"Kind": "Component"}) == ((Condition("kind", ("component",)),),)
    assert parse_predicate({"kind": "a", "spec.type": {"$in": ["X", "y"]}}) == (
        (Condition("kind", ("a",)), Condition("spec.type", ("x", "y"))),
    )
    assert parse_predicate({"$not": {"$any": [{"a": 1}, {"b": {"$exists": True}}]}}) == (
        (Condition("a", ("1",), negated=True), Condition("b", None, negated=True)),
    )
    assert parse_predicate({"a": {"$exists": False}}) == ((Condition("a", None, negated=True),),)
    assert parse_predicate({"$all": []}) is None
    assert parse_predicate({}) is None
    assert parse_predicate({"$any": []}) == NOTHING
    assert parse_predicate({"$all": [{"a": "x"}, {"$not": {"a": "x"}}]}) == NOTHING
    assert parse_predicate({"$any": [{"a": True}, {"$all": [{"b": 2.0}, {"c": "z"}]}]}) == (
        (Condition("a", ("true",)),),
        (Condition("b", ("2",)), Condition("c", ("z",))),
    )


@pytest.mark.parametrize(
    ("predicate", "message"),
    [
        ([{"kind": "x"}], "query: expected an object"),
        ({"$all": {"kind": "x"}}, r"query\.\$all: \$all takes an array"),
        ({"$any": [{"kind": "x"}, 3]}, r"query\.\$any\[1\]: expected an object"),
        ({"$nope": 1}, r"unknown operator '\$nope'"),
        ({"kind": {"$regex": "x"}}, r"query\.kind\.\$regex: unknown operator"),
        ({"kind": {"$in": []}}, r"\$in takes a non-empty array"),
        ({"kind": {"$in": ["a", {"b": 1}]}}, r"query\.kind\.\$in\[1\]: expected a string"),
        ({"kind": {"$exists": "yes"}}, r"\$exists takes true or false"),
        ({"kind": ["a", "b"]}, r"query\.kind: use"),
        ({"kind": None}, r"query\.kind: expected a string"),
        ({"kind": {"$in": ["a"], "$exists": True}}, "exactly one operator"),
        ({"$all": [{"$any": [{"a": str(i)}, {"b": str(i)}]} for i in range(8)]}, "too complex"),
    ],
)
def test_invalid_predicates(predicate: Any, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_predicate(predicate)


# ================================================================ evaluation
def test_predicate_semantics(queries: EntityQueries) -> None:
    assert matching(queries, {"kind": "COMPONENT"}) == ["Invoices", "ledger", "legacy"]
    assert matching(queries, {"spec.type": "website"}) == ["Invoices"]
    assert matching(queries, {"kind": {"$in": ["component", "api"]}, "spec.type": "service"}) == [
        "ledger",
        "legacy",
    ]
    assert matching(
        queries,
        {
            "$all": [
                {"kind": {"$in": ["component", "api"]}},
                {"$not": {"metadata.name": "invoices"}},
            ]
        },
    ) == ["ledger", "ledger-api", "legacy"]
    assert matching(queries, {"$any": [{"kind": "group"}, {"metadata.namespace": "ops"}]}) == [
        "legacy",
        "team-money",
    ]
    assert matching(queries, {"metadata.title": {"$exists": True}}) == ["ledger", "legacy"]
    assert matching(queries, {"metadata.title": {"$exists": False}}) == [
        "finance",
        "Invoices",
        "ledger-api",
        "team-money",
    ]
    # Only negations: every entity is a candidate.
    assert matching(queries, {"$not": {"kind": {"$in": ["component", "api", "group"]}}}) == [
        "finance"
    ]
    assert matching(queries, {"$not": {"$all": [{"kind": "component"}, {"spec.type": "service"}]}})
    assert matching(queries, {"metadata.tags": "accounting"}) == ["ledger"]
    assert matching(queries, {"spec.replicas": 3, "spec.public": True}) == ["ledger"]
    assert matching(queries, {"$any": []}) == []
    assert len(matching(queries, {})) == len(CATALOG)
    # Combined with a filter, and with full text.
    assert matching(queries, {"$not": {"kind": "api"}}, filter=["spec.lifecycle=production"]) == [
        "ledger"
    ]
    assert matching(
        queries, {"kind": "component"}, full_text_term="LED", full_text_fields=["metadata.name"]
    ) == ["ledger"]


def test_predicate_cursors(queries: EntityQueries) -> None:
    predicate = {"$all": [{"kind": {"$in": ["component", "api"]}}, {"$not": {"kind": "api"}}]}
    first = queries.query_entities(
        where=parse_predicate(predicate), query=predicate, limit=2, order_fields=["metadata.name"]
    )
    assert names(first["items"]) == ["Invoices", "ledger"] and first["totalItems"] == 3
    cursor = first["pageInfo"]["nextCursor"]
    # What the client checks before following a cursor with POST: JSON.parse(atob(cursor)).
    assert json.loads(base64.b64decode(cursor, validate=True))["query"] == predicate
    second = queries.query_entities(cursor=cursor, limit=2)
    assert names(second["items"]) == ["legacy"] and "nextCursor" not in second["pageInfo"]
    back = queries.query_entities(cursor=second["pageInfo"]["prevCursor"], limit=2)
    assert names(back["items"]) == ["Invoices", "ledger"]
    # Plain by-query cursors stay as they were (no query key).
    plain = queries.query_entities(limit=1)["pageInfo"]["nextCursor"]
    decoded = base64.urlsafe_b64decode(plain + "=" * (-len(plain) % 4))
    assert "query" not in json.loads(decoded)


def test_predicate_facets_and_by_refs(queries: EntityQueries) -> None:
    facets = queries.facets(["spec.type"], where=parse_predicate({"kind": "component"}))
    assert sorted((f["value"], f["count"]) for f in facets["facets"]["spec.type"]) == [
        ("Website", 1),
        ("service", 2),
    ]
    negated = queries.facets(["kind"], where=parse_predicate({"$not": {"kind": "component"}}))
    assert sorted((f["value"], f["count"]) for f in negated["facets"]["kind"]) == [
        ("API", 1),
        ("Group", 1),
        ("System", 1),
    ]
    refs = ["component:default/ledger", "group:default/team-money", "component:default/invoices"]
    found = queries.by_refs(
        refs, where=parse_predicate({"spec.type": {"$in": ["service", "team"]}})
    )
    assert [e and e["metadata"]["name"] for e in found["items"]] == ["ledger", "team-money", None]
    both = queries.by_refs(
        refs, filter=["kind=component"], where=parse_predicate({"$not": {"spec.type": "service"}})
    )
    assert [e and e["metadata"]["name"] for e in both["items"]] == [None, None, "Invoices"]


# ================================================================ HTTP
def test_http_endpoints(platform: Platform) -> None:
    queries: EntityQueries = platform.services["catalog"].queries
    write_catalog(queries.db)
    with TestClient(create_app(platform)) as client:
        ordered = client.get("/api/catalog/entities", params={"order": "asc:metadata.name"})
        assert ordered.status_code == 200
        assert names(ordered.json())[:2] == ["finance", "Invoices"]
        paged = client.get(
            "/api/catalog/entities",
            params={"order": "desc:metadata.name", "limit": "2", "offset": "1"},
        )
        assert paged.status_code == 200 and names(paged.json()) == ["legacy", "ledger-api"]

        body = {
            "query": {"kind": {"$in": ["component", "api"]}},
            "orderBy": [{"field": "metadata.name", "order": "asc"}],
            "limit": 2,
            "fields": ["metadata.name"],
        }
        first = client.post("/api/catalog/entities/by-query", json=body)
        assert first.status_code == 200, first.text
        page = first.json()
        assert page["items"] == [
            {"metadata": {"name": "Invoices"}},
            {"metadata": {"name": "ledger"}},
        ]
        assert page["totalItems"] == 4
        nxt = client.post(
            "/api/catalog/entities/by-query",
            json={"cursor": page["pageInfo"]["nextCursor"], "limit": 2},
        )
        assert names(nxt.json()["items"]) == ["ledger-api", "legacy"]
        text = client.post(
            "/api/catalog/entities/by-query",
            json={"fullTextFilter": {"term": "ledg", "fields": ["metadata.name"]}, "offset": 1},
        )
        assert text.status_code == 200 and text.json()["totalItems"] == 2
        assert len(text.json()["items"]) == 1

        bad = client.post("/api/catalog/entities/by-query", json={"query": {"kind": {"$x": 1}}})
        assert bad.status_code == 400 and "query.kind.$x" in bad.text
        bad_limit = client.post("/api/catalog/entities/by-query", json={"limit": "2"})
        assert bad_limit.status_code == 400

        facets = client.post(
            "/api/catalog/entity-facets",
            json={"facets": ["spec.lifecycle"], "query": {"kind": "component"}},
        )
        assert facets.status_code == 200
        assert [f["value"] for f in facets.json()["facets"]["spec.lifecycle"]] == [
            "deprecated",
            "experimental",
            "production",
        ]

        refs = client.post(
            "/api/catalog/entities/by-refs",
            json={
                "entityRefs": ["component:default/ledger", "api:default/ledger-api"],
                "query": {"kind": "api"},
            },
        )
        assert refs.status_code == 200
        assert [e and e["metadata"]["name"] for e in refs.json()["items"]] == [None, "ledger-api"]


def test_http_stream_error_is_an_error_status(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    queries: EntityQueries = platform.services["catalog"].queries

    def broken(*args: Any, **kwargs: Any) -> tuple[str, dict[str, Any]]:
        return "SELECT body FROM no_such_table", {}

    monkeypatch.setattr(queries, "_list_sql", broken)
    app = create_app(platform)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/catalog/entities")
        assert response.status_code == 500
