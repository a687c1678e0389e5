"""Query semantics through the service: ranking, prefixes, phrases, highlights, filters,
facets, paging, and input that must never break the full-text syntax."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from search_helpers import ORG, SITE, refs, register, search, write

from goldpath.core.errors import InputError
from goldpath.core.platform import Platform
from goldpath.search.documents import filter_token
from goldpath.search.model import POST_TAG, PRE_TAG, SearchQuery
from goldpath.search.service import get_search


def _many(n: int) -> str:
    docs = [
        f"""apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {{name: widget-{i:03d}, description: Widget number {i} renders widgets}}
spec: {{type: library, lifecycle: {"production" if i % 3 else "deprecated"}, owner: team-{i % 4}}}
"""
        for i in range(n)
    ]
    return "---\n".join(docs)


@pytest.fixture
def org(platform: Platform, tmp_path: Path) -> Platform:
    register(platform, write(tmp_path / "org" / "catalog-info.yaml", ORG))
    platform.plugins.hook.goldpath_docs_built(
        platform=platform, entity_ref="component:default/payments-gateway", pages=SITE
    )
    return platform


def test_title_match_ranks_above_text_match(org: Platform) -> None:
    # "storefront" is the storefront's title; the gateway only mentions "checkout" in text.
    assert refs(search(org, "storefront"))[0] == "component:default/storefront"
    found = refs(search(org, "gateway"))
    # Title "Payments Gateway" first; the storefront only says "payments gateway" in text.
    assert found.index("component:default/payments-gateway") < found.index(
        "component:default/storefront"
    )


def test_words_are_anded_and_the_last_is_a_prefix(org: Platform) -> None:
    assert refs(search(org, "books entries")) == ["component:default/ledger"]
    assert search(org, "books gateway")["numberOfResults"] == 0
    typed = [refs(search(org, t, types=["software-catalog"])) for t in ("led", "ledg", "ledge")]
    assert all(r == ["component:default/ledger"] for r in typed)
    assert "component:default/payments-gateway" in refs(search(org, "pay"))
    # A one-letter word is a word, not a prefix of every word.
    assert search(org, "p")["numberOfResults"] == 0


def test_quotes_make_a_phrase(org: Platform) -> None:
    loose = refs(search(org, "card payments"))
    assert "component:default/payments-gateway" in loose
    assert refs(search(org, '"takes card payments"')) == ["component:default/payments-gateway"]
    assert search(org, '"payments card"')["numberOfResults"] == 0


def test_highlights_mark_matches_in_title_and_text(org: Platform) -> None:
    hits = search(org, "settle")["results"]
    hit = next(h for h in hits if h["type"] == "software-catalog")
    assert hit["highlight"]["preTag"] == PRE_TAG and hit["highlight"]["postTag"] == POST_TAG
    fields = hit["highlight"]["fields"]
    assert f"{PRE_TAG}settles{POST_TAG}" in fields["text"]
    gateway = search(org, "gateway", types=["software-catalog"])["results"][0]
    assert gateway["highlight"]["fields"]["title"] == f"Payments {PRE_TAG}Gateway{POST_TAG}"
    # No term: nothing to highlight.
    assert "highlight" not in search(org, "")["results"][0]


def test_filters_and_facets(org: Platform) -> None:
    found = search(org, "payments", filters={"kind": ["component"]})
    assert {r["document"]["kind"] for r in found["results"]} == {"Component"}
    either = search(org, "", filters={"tags": ["pci", "java"]}, types=["software-catalog"])
    assert sorted(refs(either)) == [
        "api:default/payments-api",
        "component:default/ledger",
        "component:default/payments-gateway",
    ]
    both = search(org, "", filters={"tags": ["pci"], "kind": ["API"]})
    assert refs(both) == ["api:default/payments-api"]
    owned = search(org, "", filters={"owner": ["team-shop"]})
    assert refs(owned) == ["component:default/storefront"]
    assert search(org, "", filters={"owner": ["group:default/team-shop"]})["numberOfResults"] == 1
    lifecycle = search(org, "", filters={"lifecycle": ["experimental"]})
    assert refs(lifecycle) == ["component:default/ledger"]
    assert refs(search(org, "", filters={"type": ["website"]})) == ["component:default/storefront"]

    narrowed = search(org, "payments", filters={"kind": ["Component"]})
    facets = narrowed["facets"]

    def counts(name: str) -> dict[str, int]:
        return {f["value"]: f["count"] for f in facets[name]}

    # The kind facet ignores the kind filter, so other kinds can be picked ...
    assert counts("kind") == {"component": 6, "api": 1}
    # ... every other facet counts the filtered matches: two components, and the gateway's
    # four docs pages and sections (they carry its name, owner, lifecycle and tags).
    assert narrowed["numberOfResults"] == 6
    assert counts("types") == {"software-catalog": 2, "techdocs": 4}
    assert counts("owner") == {"group:default/team-money": 5, "group:default/team-shop": 1}
    assert counts("tags") == {"pci": 5, "python": 5, "typescript": 1}
    assert counts("lifecycle") == {"production": 6}
    assert facets["kind"][0] == {"value": "component", "count": 6}  # most frequent first
    whole = search(org, "")["facets"]
    assert {f["value"] for f in whole["types"]} == {
        "software-catalog",
        "software-template",
        "techdocs",
    }
    assert "facets" not in search(org, "", facets=[])


def test_cursor_paging_is_stable_and_complete(platform: Platform, tmp_path: Path) -> None:
    register(platform, write(tmp_path / "many.yaml", _many(60)))
    for term in ("widget", ""):
        seen: list[str] = []
        first = search(platform, term, page_limit=25, facets=[])
        page: dict[str, Any] = first
        while True:
            seen += refs(page)
            cursor = page.get("nextPageCursor")
            if not cursor:
                break
            page = search(platform, term, page_limit=25, page_cursor=cursor, facets=[])
            assert page["numberOfResults"] == first["numberOfResults"]
            assert page["results"][0]["rank"] == len(seen) + 1
        assert len(seen) == len(set(seen)) == first["numberOfResults"] == 60
        back = search(platform, term, page_limit=25, page_cursor=page["previousPageCursor"])
        assert refs(back) == seen[25:50]
    ordered = refs(search(platform, "", page_limit=5, facets=[]))
    assert ordered == [f"component:default/widget-{i:03d}" for i in range(5)]


def test_a_cursor_belongs_to_its_query(platform: Platform, tmp_path: Path) -> None:
    register(platform, write(tmp_path / "many.yaml", _many(30)))
    cursor = search(platform, "widget", page_limit=10)["nextPageCursor"]
    with pytest.raises(InputError, match="another query"):
        search(platform, "widgets", page_cursor=cursor)
    with pytest.raises(InputError, match="malformed"):
        search(platform, "widget", page_cursor="not-a-cursor")


BAD = [
    (SearchQuery(types=["software"]), "types"),
    (SearchQuery(filters={"color": ["red"]}), "filters[color]"),
    (SearchQuery(page_limit=0), "pageLimit"),
    (SearchQuery(page_limit=101), "pageLimit"),
    (SearchQuery(facets=["colour"]), "facets"),
    (SearchQuery(term="x" * 501), "term"),
]


def test_bad_queries_name_their_field(org: Platform) -> None:
    for query, where in BAD:
        with pytest.raises(InputError) as caught:
            get_search(org).query(query)
        assert caught.value.where == where


HOSTILE = [
    '"',
    '""',
    '"unterminated phrase',
    "*",
    "pay*",
    "title:payments",
    "-payments",
    "payments -ledger",
    "NEAR(payments ledger)",
    "payments NEAR ledger",
    "payments OR ledger",
    "NOT payments",
    "AND",
    "(payments",
    "payments)",
    "'; DROP TABLE search_documents; --",
    "o'brien",
    "\\",
    "a:* & b",
    "!payments | ledger",
    "{title}: payments",
    "payments^2",
    "\x00payments",
    "ümlaut café",
    "日本語",
]


def test_hostile_input_is_just_words(org: Platform) -> None:
    for term in HOSTILE:
        result = search(org, term)
        assert isinstance(result["numberOfResults"], int), term
    # Operators are plain words or separators: "payments OR ledger" wants all three words.
    assert search(org, "payments OR ledger")["numberOfResults"] == 0
    for term in ("-payments", "(payments", "payments)", "payments*", '"payments'):
        assert "component:default/payments-gateway" in refs(search(org, term)), term
    # Filters are tokens in the index; no word a user types matches one.
    token = filter_token("kind", "component")
    assert search(org, token)["numberOfResults"] == 0
    assert search(org, token[:4])["numberOfResults"] == 0


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=60))
def test_no_input_breaks_a_query(org: Platform, term: str) -> None:
    result = search(org, term, facets=["kind"])
    assert result["numberOfResults"] >= 0


def test_broad_terms_rank_heading_matches_first_and_still_page_completely(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ranking is capped so a term matching most of a large index stays fast; a small cap
    # shows the same behaviour on a small catalog.
    engine = get_search(platform).queries.engine
    monkeypatch.setattr(engine, "rank_cap", 10)
    monkeypatch.setattr(engine, "facet_cap", 10)
    if platform.db.is_postgres:
        monkeypatch.setattr(engine, "count_cap", 10)
    text = (
        _many(30)
        + "---\n"
        + (
            "apiVersion: backstage.io/v1alpha1\nkind: Component\n"
            "metadata: {name: gadget, title: Renders, description: Gadget}\n"
            "spec: {type: library, lifecycle: production, owner: team-1}\n"
        )
    )
    register(platform, write(tmp_path / "many.yaml", text))
    first = search(platform, "renders", page_limit=4)
    if platform.db.is_postgres:  # past the count cap, PostgreSQL's planner estimates
        assert first["numberOfResultsApproximate"] is True and first["numberOfResults"] > 10
    else:
        assert first["numberOfResults"] == 31
    assert refs(first)[0] == "component:default/gadget"  # its title says "Renders"
    assert first["facetsApproximate"] is True
    assert sum(f["count"] for f in first["facets"]["types"]) == 10
    seen = refs(first)
    page = first
    while page.get("nextPageCursor"):
        page = search(platform, "renders", page_limit=4, page_cursor=page["nextPageCursor"])
        seen += refs(page)
    assert len(seen) == len(set(seen)) == 31


def test_filters_give_the_same_matches_through_the_index_or_checked_on_matches(
    org: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PostgreSQL picks per query whether the index finds a term's filters or they are
    # checked on the term's matches; both must find the same documents.
    engine = get_search(org).queries.engine
    queries = [
        ("pay", {"kind": ["component"]}),
        ("payments", {"owner": ["team-money"], "tags": ["pci", "java"]}),
        ("acquirer", {"lifecycle": ["production"]}),
    ]
    answers = []
    for indexed in (True, False):
        monkeypatch.setattr(engine, "filters_by_index", lambda *_a, _i=indexed: _i)
        answers.append([refs(search(org, term, filters=f)) for term, f in queries])
    assert answers[0] == answers[1]
    assert {"api:default/payments-api", "component:default/payments-gateway"} <= set(answers[0][1])
