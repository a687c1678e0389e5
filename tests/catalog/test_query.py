"""Final-entity writes and Backstage's read semantics, on SQLite and PostgreSQL.

Entities go in through ``write_final_entities`` (what the stitcher calls) and come out through
``EntityQueries``. Every query test runs twice per engine: once with the filter treated as
small (materialised, then sorted) and once as large (walked in order, probed per entity), so
both plans are held to the same answers.
"""

from __future__ import annotations

import base64
import uuid
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from goldpath.catalog import query as query_module
from goldpath.catalog.final import (
    FinalEntity,
    delete_final_entities,
    read_final_by_keys,
    write_final_entities,
)
from goldpath.catalog.flatten import search_rows
from goldpath.catalog.query import EntityQueries, parse_filter
from goldpath.core.db import Database
from goldpath.core.errors import InputError, NotFoundError


def entity(kind: str, name: str, *, namespace: str = "default", **extra: Any) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    metadata.update(extra.pop("metadata", {}))
    body: dict[str, Any] = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": kind,
        "metadata": metadata,
        "spec": extra.pop("spec", {}),
        "relations": extra.pop("relations", []),
    }
    body.update(extra)
    metadata.setdefault("uid", str(uuid.uuid4()))
    metadata.setdefault("etag", uuid.uuid4().hex)
    return body


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


def owned_by(group: str) -> list[dict[str, str]]:
    return [{"type": "ownedBy", "targetRef": f"group:default/{group}"}]


CATALOG = [
    entity(
        "Component",
        "checkout",
        metadata={
            "title": "Checkout",
            "tags": ["java", "payments"],
            "annotations": {"backstage.io/techdocs-ref": "dir:."},
        },
        spec={"type": "service", "lifecycle": "production", "owner": "team-a"},
        relations=owned_by("team-a") + [{"type": "partOf", "targetRef": "system:default/shop"}],
    ),
    entity(
        "Component",
        "Billing",
        metadata={"title": "Billing", "tags": ["python"]},
        spec={"type": "Service", "lifecycle": "experimental", "owner": "team-b"},
        relations=owned_by("team-b"),
    ),
    entity(
        "Component",
        "web",
        metadata={"tags": ["java"]},
        spec={"type": "website", "lifecycle": "production", "owner": "team-a"},
        relations=owned_by("team-a"),
    ),
    entity(
        "Component",
        "legacy",
        namespace="ops",
        metadata={"title": "Legacy thing"},
        spec={"type": "service", "lifecycle": "deprecated", "owner": "team-b"},
        relations=owned_by("team-b"),
    ),
    entity(
        "API",
        "checkout-api",
        metadata={"title": "Checkout API", "description": "Pay for the cart"},
        spec={"type": "openapi", "lifecycle": "production", "owner": "team-a"},
        relations=owned_by("team-a"),
    ),
    entity(
        "Group",
        "team-a",
        spec={"type": "team", "children": []},
        relations=[{"type": "ownerOf", "targetRef": "component:default/checkout"}],
    ),
    entity("Group", "team-b", spec={"type": "team", "children": []}),
    entity("System", "shop", spec={"owner": "team-a"}, relations=owned_by("team-a")),
]


@pytest.fixture(params=["small", "large"])
def queries(
    request: pytest.FixtureRequest, db: Database, monkeypatch: pytest.MonkeyPatch
) -> EntityQueries:
    if request.param == "large":
        # Every filter counts as large: the walk-in-order plan answers.
        monkeypatch.setattr(query_module, "SMALL_SET", -1)
    with db.session() as session:
        write_final_entities(session, [final(e) for e in CATALOG])
    return EntityQueries(db)


def names(items: list[dict[str, Any]]) -> list[str]:
    return [e["metadata"]["name"] for e in items]


# ================================================================ flattening
def test_search_rows_follow_backstage() -> None:
    rows = search_rows(
        {
            "apiVersion": "a",
            "kind": "Component",
            "metadata": {"name": "N", "uid": "U-1", "etag": "e", "tags": ["Java", "java", "go"]},
            "spec": {
                "count": 7,
                "ratio": 1.5,
                "whole": 2.0,
                "flag": False,
                "none": None,
                "list": [{"a": 1}, {"a": 2}],
                "Long": "x" * 201,
                "edge": "y" * 200,
            },
            "status": {"items": [1]},
            "relations": [{"type": "ownedBy", "targetRef": "group:default/Team"}],
        }
    )
    as_set = set(rows)
    assert ("apiversion", "a", "a") in as_set
    assert ("kind", "component", "Component") in as_set
    # Arrays: one row per item, plus "<key>.<item>" = true, de-duplicated case-insensitively.
    assert ("metadata.tags", "java", "Java") in as_set
    assert ("metadata.tags.java", "true", "true") in as_set
    assert ("metadata.tags", "go", "go") in as_set and (
        "metadata.tags.go",
        "true",
        "true",
    ) in as_set
    assert [r for r in rows if r[0] == "metadata.tags" and r[1] == "java"] == [
        ("metadata.tags", "java", "Java")
    ]
    assert [r for r in rows if r[0] == "metadata.tags.java"] == [
        ("metadata.tags.java", "true", "true")
    ]
    # JavaScript's String() for scalars.
    assert ("spec.count", "7", "7") in as_set
    assert ("spec.ratio", "1.5", "1.5") in as_set
    assert ("spec.whole", "2", "2") in as_set
    assert ("spec.flag", "false", "false") in as_set
    assert ("spec.none", None, None) in as_set
    assert {r for r in rows if r[0] == "spec.list.a"} == {
        ("spec.list.a", "1", "1"),
        ("spec.list.a", "2", "2"),
    }
    # Over 200 characters: the key stays, the value goes.
    assert ("spec.long", None, None) in as_set
    assert ("spec.edge", "y" * 200, "y" * 200) in as_set
    # Special keys: always present, never walked; status and etag are not indexed.
    assert ("metadata.name", "n", "N") in as_set
    assert ("metadata.uid", "u-1", "U-1") in as_set
    assert ("metadata.namespace", None, None) in as_set
    assert ("metadata.namespace", "default", "default") in as_set
    assert not [r for r in rows if r[0].startswith(("status", "metadata.etag"))]
    assert ("relations.ownedby", "group:default/team", "group:default/Team") in as_set
    assert len(rows) == len({(k, v) for k, v, _ in rows})


def test_search_rows_reject_keys_differing_only_in_case() -> None:
    with pytest.raises(InputError, match="vary only in casing, 'spec.owner'"):
        search_rows({"kind": "K", "metadata": {"name": "n"}, "spec": {"owner": "a", "Owner": "b"}})


def test_long_keys_are_dropped() -> None:
    rows = search_rows({"kind": "K", "metadata": {"name": "n"}, "spec": {"k" * 300: "v"}})
    assert not [r for r in rows if r[0].startswith("spec.")]


# ================================================================ writes
def _search(db: Database, entity_id: int) -> set[tuple[str, str | None]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT key, value FROM catalog_search WHERE entity_id = :i"), {"i": entity_id}
        ).all()
    return {(r[0], r[1]) for r in rows}


def _id(db: Database, ref_key: str) -> int:
    with db.engine.connect() as conn:
        return int(
            conn.execute(
                sa.text("SELECT id FROM catalog_entities WHERE ref_key = :k"), {"k": ref_key}
            ).scalar_one()
        )


def test_write_replace_delete(db: Database) -> None:
    body = entity("Component", "svc", spec={"owner": "a"}, metadata={"tags": ["x"]})
    item = final(body)
    with db.session() as session:
        assert write_final_entities(session, [item]) == {}
    first_id = _id(db, "component:default/svc")
    assert ("spec.owner", "a") in _search(db, first_id)

    body["spec"]["owner"] = "b"
    body["metadata"]["tags"] = ["x", "y"]
    with db.session() as session:
        write_final_entities(session, [item])
    assert _id(db, "component:default/svc") == first_id
    rows = _search(db, first_id)
    assert ("spec.owner", "b") in rows and ("spec.owner", "a") not in rows
    assert {("metadata.tags", "x"), ("metadata.tags", "y"), ("metadata.tags.y", "true")} <= rows
    assert sorted(rows) == sorted({(k, v) for k, v, _ in search_rows(body)})

    with db.session() as session:
        assert read_final_by_keys(session, ["component:default/svc", "nope"]) == {
            "component:default/svc": body
        }
        assert delete_final_entities(session, ["component:default/svc", "nope"]) == 1
    assert _search(db, first_id) == set()
    with db.session() as session:
        assert read_final_by_keys(session, ["component:default/svc"]) == {}
        assert delete_final_entities(session, ["component:default/svc"]) == 0


def test_write_rejects_case_clashes_alone(db: Database) -> None:
    good = final(entity("Component", "good"))
    bad = final(entity("Component", "bad", spec={"owner": "a", "OWNER": "b"}))
    with db.session() as session:
        rejected = write_final_entities(session, [good, bad])
    assert set(rejected) == {"component:default/bad"}
    queries = EntityQueries(db)
    assert names(queries.list_entities()) == ["good"]


def test_later_duplicate_wins_and_many_entities_batch(db: Database) -> None:
    items = [final(entity("Component", f"c{i:04d}", spec={"n": i})) for i in range(1200)]
    items.append(final(entity("Component", "c0000", spec={"n": "last"})))
    with db.session() as session:
        write_final_entities(session, items)
    queries = EntityQueries(db)
    assert queries.by_name("component", "default", "c0000")["spec"] == {"n": "last"}
    assert queries.query_entities(limit=0)["totalItems"] == 1200
    assert len(queries.list_entities(filter=["spec.n"])) == 1200


# ================================================================ filters
def test_filter_semantics(queries: EntityQueries) -> None:
    q = queries.list_entities
    # AND inside one filter, values and keys case-insensitive.
    assert names(q(filter=["KIND=component,Spec.Type=SERVICE"])) == [
        "Billing",
        "checkout",
        "legacy",
    ]
    # Several filters are OR'ed.
    assert names(q(filter=["kind=group", "kind=system"])) == ["team-a", "team-b", "shop"]
    # The same key twice in one filter means any of the values.
    assert names(
        q(filter=["kind=component,spec.lifecycle=experimental,spec.lifecycle=deprecated"])
    ) == [
        "Billing",
        "legacy",
    ]
    # A key alone: it exists.
    assert names(q(filter=["metadata.title,kind=component"])) == ["Billing", "checkout", "legacy"]
    # Relations, by full target ref.
    assert names(q(filter=["relations.ownedBy=group:default/team-a"])) == [
        "checkout-api",
        "checkout",
        "web",
        "shop",
    ]
    assert names(q(filter=["kind=component,relations.ownedby=GROUP:default/TEAM-A"])) == [
        "checkout",
        "web",
    ]
    # Array items: by value, and as "<key>.<item>" so several can be required at once.
    assert names(q(filter=["metadata.tags=java"])) == ["checkout", "web"]
    assert names(q(filter=["metadata.tags.java,metadata.tags.payments"])) == ["checkout"]
    assert names(q(filter=["metadata.annotations.backstage.io/techdocs-ref=dir:."])) == ["checkout"]
    assert names(q(filter=["metadata.namespace=ops"])) == ["legacy"]
    assert q(filter=["kind=nothing"]) == []
    # Empty statements are ignored; an empty filter is no filter.
    assert len(q(filter=[",", ""])) == len(CATALOG)
    assert len(q(filter=["kind=component,,"])) == 4


@pytest.mark.parametrize("bad", ["=x", "kind=component,=x", " = "])
def test_malformed_filter(queries: EntityQueries, bad: str) -> None:
    with pytest.raises(InputError, match="Invalid filter"):
        queries.list_entities(filter=[bad])


def test_parse_filter_shape() -> None:
    parsed = parse_filter(["kind=A,kind=b,spec.x", "Metadata.Name= N "])
    assert parsed is not None
    assert [[(c.key, c.values) for c in group] for group in parsed] == [
        [("kind", ("a", "b")), ("spec.x", None)],
        [("metadata.name", ("n",))],
    ]


# ================================================================ GET /entities
def test_list_order_offset_limit_after(queries: EntityQueries) -> None:
    everything = queries.list_entities()
    refs = [
        f"{e['kind']}:{e['metadata']['namespace']}/{e['metadata']['name']}".lower()
        for e in everything
    ]
    assert refs == sorted(refs)
    assert len(everything) == len(CATALOG)

    by_title = queries.list_entities(filter=["kind=component"], order=["asc:metadata.title"])
    # Missing values sort last.
    assert names(by_title) == ["Billing", "checkout", "legacy", "web"]
    by_title_desc = queries.list_entities(filter=["kind=component"], order=["desc:metadata.title"])
    assert names(by_title_desc) == ["legacy", "checkout", "Billing", "web"]
    two_keys = queries.list_entities(
        filter=["kind=component"], order=["asc:spec.lifecycle", "desc:metadata.name"]
    )
    assert names(two_keys) == ["legacy", "Billing", "web", "checkout"]

    page = queries.list_page(filter=["kind=component"], limit=2)
    assert [orjson.loads(b)["metadata"]["name"] for b in page.bodies] == ["Billing", "checkout"]
    assert page.after is not None
    assert orjson.loads(base64.b64decode(page.after)) == {"limit": 2, "offset": 2}
    second = queries.list_page(filter=["kind=component"], after=page.after)
    assert [orjson.loads(b)["metadata"]["name"] for b in second.bodies] == ["web", "legacy"]
    assert second.after is None
    assert names(queries.list_entities(offset="1", limit="1")) == [names(everything)[1]]
    assert names(queries.list_entities(offset=6)) == names(everything)[6:]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": "0"}, "Invalid limit"),
        ({"limit": "abc"}, "Invalid limit"),
        ({"limit": "010"}, "Invalid limit"),
        ({"offset": "-1"}, "Invalid offset"),
        ({"after": ""}, "Invalid after"),
        ({"after": "@@@"}, "Malformed after cursor"),
        ({"after": base64.b64encode(b'{"limit": "x"}').decode()}, "limit was not"),
        ({"order": ["up:metadata.name"]}, "Invalid order parameter"),
        ({"fields": ["metadata.tags[0]"]}, "array type fields"),
    ],
)
def test_list_rejects_bad_input(
    queries: EntityQueries, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        queries.list_entities(**kwargs)


def test_fields_projection(queries: EntityQueries) -> None:
    [item] = queries.list_entities(
        filter=["metadata.name=checkout"],
        fields=["kind,metadata.name", "metadata.annotations.backstage.io/techdocs-ref", "nope.x"],
    )
    assert item == {
        "kind": "Component",
        "metadata": {"name": "checkout", "annotations": {"backstage.io/techdocs-ref": "dir:."}},
    }
    [spec_only] = queries.list_entities(filter=["metadata.name=web"], fields=["spec"])
    assert spec_only == {"spec": CATALOG[2]["spec"]}
    [tag] = queries.list_entities(filter=["metadata.name=web"], fields=["metadata.tags.0"])
    assert tag == {"metadata": {"tags": ["java"]}}


def test_streamed_list_is_the_same_json(queries: EntityQueries) -> None:
    streamed = orjson.loads(b"".join(queries.iter_list_json(filter=["kind=group"])))
    assert streamed == queries.list_entities(filter=["kind=group"])
    assert b"".join(queries.iter_list_json(filter=["kind=none"])) == b"[]"
    projected = orjson.loads(b"".join(queries.iter_list_json(fields=["metadata.name"])))
    assert projected == [{"metadata": {"name": n}} for n in names(queries.list_entities())]


# ================================================================ by-query
@pytest.mark.parametrize(
    "order",
    [
        None,
        ["metadata.name,asc"],
        ["metadata.title,desc"],
        ["metadata.title"],
        ["metadata.tags,asc"],
    ],
)
def test_cursor_paging_forward_and_back(queries: EntityQueries, order: list[str] | None) -> None:
    whole = queries.query_entities(limit=100, order_fields=order)
    assert whole["totalItems"] == len(CATALOG) and whole["pageInfo"] == {}
    expected = [e["metadata"]["uid"] for e in whole["items"]]
    assert len(set(expected)) == len(CATALOG)

    first = queries.query_entities(limit=3, order_fields=order)
    assert first["totalItems"] == len(CATALOG)
    assert "prevCursor" not in first["pageInfo"]
    pages = [first]
    while cursor := pages[-1]["pageInfo"].get("nextCursor"):
        pages.append(queries.query_entities(cursor=cursor, limit=3))
    assert [len(p["items"]) for p in pages] == [3, 3, 2]
    assert all(p["totalItems"] == len(CATALOG) for p in pages)
    assert [e["metadata"]["uid"] for p in pages for e in p["items"]] == expected
    assert "nextCursor" not in pages[-1]["pageInfo"]

    # And back again, page by page, to the first one.
    back = [pages[-1]]
    while cursor := back[-1]["pageInfo"].get("prevCursor"):
        back.append(queries.query_entities(cursor=cursor, limit=3))
    assert [[e["metadata"]["uid"] for e in p["items"]] for p in back] == [
        [e["metadata"]["uid"] for e in p["items"]] for p in reversed(pages)
    ]
    assert "nextCursor" in back[-1]["pageInfo"]


def test_query_order_values(queries: EntityQueries) -> None:
    by_name = queries.query_entities(filter=["kind=component"], order_fields=["metadata.name,asc"])
    assert names(by_name["items"]) == ["Billing", "checkout", "legacy", "web"]
    by_title = queries.query_entities(
        filter=["kind=component"], order_fields=["metadata.title,desc"]
    )
    assert names(by_title["items"]) == ["legacy", "checkout", "Billing", "web"]
    default = queries.query_entities()
    uids = [e["metadata"]["uid"] for e in default["items"]]
    assert uids == sorted(uids)  # Backstage orders by its entity id, the uid


def test_query_filters_fields_offset(queries: EntityQueries) -> None:
    page = queries.query_entities(
        filter=["kind=component", "kind=api"],
        fields=["metadata.name"],
        order_fields=["metadata.name,asc"],
        limit=2,
        offset=1,
    )
    assert page["totalItems"] == 5
    assert page["items"] == [
        {"metadata": {"name": "checkout"}},
        {"metadata": {"name": "checkout-api"}},
    ]
    rest = queries.query_entities(cursor=page["pageInfo"]["nextCursor"], fields=["kind"])
    assert [e["kind"] for e in rest["items"]] == ["Component", "Component"]
    # Filters and order come from the cursor; new ones alongside it are ignored.
    ignored = queries.query_entities(
        cursor=page["pageInfo"]["nextCursor"], filter=["kind=group"], order_fields=["kind,desc"]
    )
    assert names(ignored["items"]) == ["legacy", "web"]
    empty = queries.query_entities(filter=["kind=none"])
    assert empty == {"items": [], "totalItems": 0, "pageInfo": {}}
    counted = queries.query_entities(filter=["kind=component"], limit=0)
    assert counted == {"items": [], "totalItems": 4, "pageInfo": {}}
    beyond = queries.query_entities(filter=["kind=component"], offset=10)
    assert beyond["items"] == [] and beyond["totalItems"] == 4


def test_full_text_filter(queries: EntityQueries) -> None:
    page = queries.query_entities(
        full_text_term=" CHECK ", full_text_fields=["metadata.name,metadata.title"]
    )
    assert sorted(names(page["items"])) == ["checkout", "checkout-api"]
    assert page["totalItems"] == 2
    # Without fields, the sort field is searched (Backstage's default)...
    by_title = queries.query_entities(full_text_term="thing", order_fields=["metadata.title,asc"])
    assert names(by_title["items"]) == ["legacy"]
    # ... or, without one either, the uid.
    uid = CATALOG[1]["metadata"]["uid"]
    assert names(queries.query_entities(full_text_term=uid[4:12])["items"]) == ["Billing"]
    # Combined with filters; LIKE wildcards in the term are literal.
    both = queries.query_entities(
        filter=["kind=api"], full_text_term="cart", full_text_fields=["metadata.description"]
    )
    assert names(both["items"]) == ["checkout-api"]
    assert (
        queries.query_entities(full_text_term="%", full_text_fields=["metadata.name"])["items"]
        == []
    )
    assert queries.query_entities(full_text_term="   ")["totalItems"] == len(CATALOG)
    # Paging keeps the term.
    first = queries.query_entities(full_text_term="e", full_text_fields=["metadata.name"], limit=1)
    seen = names(first["items"])
    cursor = first["pageInfo"].get("nextCursor")
    while cursor:
        page = queries.query_entities(cursor=cursor, limit=1)
        seen += names(page["items"])
        cursor = page["pageInfo"].get("nextCursor")
    assert sorted(seen) == ["checkout", "checkout-api", "legacy", "team-a", "team-b", "web"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"cursor": "not-a-cursor"}, "Malformed cursor"),
        ({"cursor": base64.urlsafe_b64encode(b'{"f": []}').decode()}, "Malformed cursor"),
        ({"limit": "-1"}, "Invalid limit"),
        ({"limit": "x"}, "Invalid limit"),
        ({"offset": "-2"}, "Invalid offset"),
        ({"order_fields": ["metadata.name,up"]}, "must be asc or desc"),
        ({"filter": ["=x"]}, "Invalid filter"),
    ],
)
def test_query_rejects_bad_input(
    queries: EntityQueries, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InputError, match=message):
        queries.query_entities(**kwargs)


def test_tampered_cursor_positions_are_refused(queries: EntityQueries) -> None:
    page = queries.query_entities(limit=1, order_fields=["metadata.name,asc"])
    raw = page["pageInfo"]["nextCursor"]
    data = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    data["p"] = ["x", "not-an-id"]
    forged = base64.urlsafe_b64encode(orjson.dumps(data)).decode()
    with pytest.raises(InputError, match="Malformed cursor"):
        queries.query_entities(cursor=forged)


def test_json_variant_matches(queries: EntityQueries) -> None:
    raw = orjson.loads(queries.query_entities_json(limit=3, fields=["kind"]))
    assert raw == queries.query_entities(limit=3, fields=["kind"])


# ================================================================ single entities, by-refs
def test_by_name_and_uid(queries: EntityQueries) -> None:
    billing = queries.by_name("COMPONENT", "Default", "billing")
    assert billing == CATALOG[1]
    assert queries.by_uid(billing["metadata"]["uid"]) == billing
    assert orjson.loads(queries.by_name_json("component", "ops", "legacy")) == CATALOG[3]
    with pytest.raises(NotFoundError, match="No entity named 'x' found, with kind 'component'"):
        queries.by_name("component", "default", "x")
    with pytest.raises(NotFoundError, match="No entity with uid"):
        queries.by_uid(str(uuid.uuid4()))


def test_by_refs(queries: EntityQueries) -> None:
    refs = [
        "group:default/team-b",
        "component:default/missing",
        "Component:Default/Checkout",
        "component:legacy",  # default namespace: there is none there
        "not a ref",
        "component:ops/legacy",
        "group:default/team-b",
    ]
    items = queries.by_refs(refs)["items"]
    assert [i and i["metadata"]["name"] for i in items] == [
        "team-b",
        None,
        "checkout",
        None,
        None,
        "legacy",
        "team-b",
    ]
    filtered = queries.by_refs(refs, fields=["metadata.name"], filter=["kind=component"])
    assert filtered["items"] == [
        None,
        None,
        {"metadata": {"name": "checkout"}},
        None,
        None,
        {"metadata": {"name": "legacy"}},
        None,
    ]
    assert orjson.loads(queries.by_refs_json(refs[:2], fields=["kind"])) == {
        "items": [{"kind": "Group"}, None]
    }
    assert queries.by_refs([]) == {"items": []}


# ================================================================ facets
def test_facets(queries: EntityQueries) -> None:
    result = queries.facets(["kind", "spec.lifecycle", "metadata.tags"])
    assert result["facets"]["kind"] == [
        {"value": "API", "count": 1},
        {"value": "Component", "count": 4},
        {"value": "Group", "count": 2},
        {"value": "System", "count": 1},
    ]
    assert result["facets"]["spec.lifecycle"] == [
        {"value": "deprecated", "count": 1},
        {"value": "experimental", "count": 1},
        {"value": "production", "count": 3},
    ]
    assert {f["value"]: f["count"] for f in result["facets"]["metadata.tags"]} == {
        "java": 2,
        "payments": 1,
        "python": 1,
    }
    filtered = queries.facets(["spec.type", "Spec.Owner"], ["kind=component"])
    # Spellings of one value count together (filters match them alike).
    types = filtered["facets"]["spec.type"]
    assert [(t["value"].lower(), t["count"]) for t in types] == [("service", 3), ("website", 1)]
    assert filtered["facets"]["Spec.Owner"] == [
        {"value": "team-a", "count": 2},
        {"value": "team-b", "count": 2},
    ]
    owned = queries.facets(["kind"], ["relations.ownedBy=group:default/team-a"])
    assert owned["facets"]["kind"] == [
        {"value": "API", "count": 1},
        {"value": "Component", "count": 2},
        {"value": "System", "count": 1},
    ]
    assert queries.facets(["nothing"]) == {"facets": {"nothing": []}}
    with pytest.raises(InputError, match="Missing facet"):
        queries.facets([])


def test_facets_see_writes(db: Database, queries: EntityQueries) -> None:
    assert queries.facets(["kind"], ["kind=user"])["facets"]["kind"] == []
    with db.session() as session:
        write_final_entities(session, [final(entity("User", "ann"))])
    assert queries.facets(["kind"], ["kind=user"])["facets"]["kind"] == [
        {"value": "User", "count": 1}
    ]
    with db.session() as session:
        delete_final_entities(session, ["user:default/ann"])
    assert queries.facets(["kind"], ["kind=user"])["facets"]["kind"] == []


def test_names_of_one_kind_read_from_the_kind_index(db: Database, queries: EntityQueries) -> None:
    """``kind=x`` sorted by name walks the kind/name index; it answers exactly as the
    generic walk does (a filter on two kinds takes that one), ties across namespaces and
    mixed-case names included, page by page both ways."""
    extra = [
        entity("Component", name, namespace=ns, spec={"lifecycle": "production"})
        for name, ns in (("web", "ops"), ("Zeta", "default"), ("alpha", "ops"), ("mid", "x"))
    ]
    with db.session() as session:
        write_final_entities(session, [final(e) for e in extra])
    for direction in ("asc", "desc"):
        order = [f"metadata.name,{direction}"]
        for extra_filter in ("", ",spec.lifecycle=production"):
            fast = f"kind=component{extra_filter}"
            generic = f"kind=component,kind=no-such-kind{extra_filter}"
            want = queries.query_entities(filter=generic, order_fields=order, limit=100)
            expected = [e["metadata"]["uid"] for e in want["items"]]
            page = queries.query_entities(filter=fast, order_fields=order, limit=2)
            assert page["totalItems"] == want["totalItems"]
            pages = [page]
            while cursor := pages[-1]["pageInfo"].get("nextCursor"):
                pages.append(queries.query_entities(cursor=cursor, limit=2))
            assert [e["metadata"]["uid"] for p in pages for e in p["items"]] == expected
            back = [pages[-1]]
            while cursor := back[-1]["pageInfo"].get("prevCursor"):
                back.append(queries.query_entities(cursor=cursor, limit=2))
            assert [e["metadata"]["uid"] for p in reversed(back) for e in p["items"]] == expected
