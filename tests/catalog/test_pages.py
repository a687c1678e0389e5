"""Catalog list page of the portal at Backstage's URL, /catalog: filters with facet counts,
full text, sort, cursor paging, htmx fragments, and the queries each page may run.

Expectations are computed from the entities themselves (every entity read once through the
service and filtered in Python), never from the SQL the pages use.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from portal_catalog import (
    HX,
    catalog_statements,
    everything,
    link,
    listed,
    matching,
    owner,
    portal,
    refs,
    spec,
    tags,
    walk,
)

from goldpath.catalog.service import get_catalog
from goldpath.core.platform import Platform


@pytest.fixture
def client(platform: Platform, tmp_path: Path) -> Iterator[TestClient]:
    with portal(platform, tmp_path) as test_client:
        yield test_client


# ------------------------------------------------------------------------- the list
def test_list_filters_by_each_field_and_combined(client: TestClient, platform: Platform) -> None:
    all_ = everything(platform)
    assert set(listed(client, "/catalog")) == set(all_)
    cases: list[tuple[dict[str, Any], Callable[[dict[str, Any]], bool]]] = [
        ({"kind": "component"}, lambda e: e["kind"] == "Component"),
        ({"type": "openapi"}, lambda e: spec(e, "type") == "openapi"),
        (
            {"owner": "group:default/team-checkout"},
            lambda e: owner(e) == "group:default/team-checkout",
        ),
        # A short owner is a group in the default namespace, as in catalog-info.yaml.
        ({"owner": "team-payments"}, lambda e: owner(e) == "group:default/team-payments"),
        ({"lifecycle": "deprecated"}, lambda e: spec(e, "lifecycle") == "deprecated"),
        ({"tags": "go"}, lambda e: "go" in tags(e)),
        ({"namespace": "ops"}, lambda e: e["metadata"]["namespace"] == "ops"),
        (
            {
                "kind": "component",
                "lifecycle": "production",
                "owner": "group:default/team-checkout",
            },
            lambda e: (
                e["kind"] == "Component"
                and spec(e, "lifecycle") == "production"
                and owner(e) == "group:default/team-checkout"
            ),
        ),
        # Several kinds: any of them; several tags: all of them.
        ({"kind": ["api", "resource"]}, lambda e: e["kind"] in ("API", "Resource")),
        ({"tags": ["go", "saga"]}, lambda e: {"go", "saga"} <= tags(e)),
        (
            {"kind": "component", "type": "website", "tags": "react"},
            lambda e: (
                e["kind"] == "Component" and spec(e, "type") == "website" and "react" in tags(e)
            ),
        ),
    ]
    for params, test in cases:
        query = "&".join(
            f"{k}={v}"
            for k, values in params.items()
            for v in ([values] if isinstance(values, str) else values)
        )
        expected = matching(all_, test)
        assert expected, params  # each case selects something, or it proves nothing
        got = listed(client, f"/catalog?{query}")
        assert len(got) == len(set(got)), params
        assert set(got) == expected, params


def test_filter_options_come_with_counts_and_keep_the_choice(
    client: TestClient, platform: Platform
) -> None:
    all_ = everything(platform)
    page = client.get("/catalog", params={"kind": "api"}).text
    components = sum(1 for e in all_.values() if e["kind"] == "Component")
    assert f'<option value="Component">Component ({components})</option>' in page
    assert re.search(r'<option value="API" selected>API \(\d+\)</option>', page)
    # Other fields count within the chosen kind: the types of APIs, not of components.
    openapi = sum(1 for e in all_.values() if e["kind"] == "API" and spec(e, "type") == "openapi")
    assert f">openapi ({openapi})</option>" in page and ">service (" not in page
    checkout = sum(
        1 for e in all_.values() if e["kind"] == "API" and owner(e) == "group:default/team-checkout"
    )
    assert (
        f'<option value="group:default/team-checkout">team-checkout ({checkout})</option>' in page
    )
    for param in ("kind", "type", "owner", "lifecycle", "tags", "namespace", "q"):
        control = "catalog-q" if param == "q" else f"filter-{param}"
        assert f'<label for="{control}">' in page and f'id="{control}"' in page


def test_full_text_filter(client: TestClient, platform: Platform) -> None:
    all_ = everything(platform)

    def mentions(entity: dict[str, Any], term: str) -> bool:
        meta = entity["metadata"]
        fields = (meta.get("name"), meta.get("title"), meta.get("description"))
        return any(term in (f or "").lower() for f in fields)

    for term in ("ledger", "Checkout", "night"):
        expected = matching(all_, lambda e, t=term.lower(): mentions(e, t))
        assert expected, term
        assert set(listed(client, f"/catalog?q={term}")) == expected, term
    # The text box narrows a filtered list further.
    both = matching(all_, lambda e: mentions(e, "ledger") and e["kind"] == "Component")
    assert set(listed(client, "/catalog?q=ledger&kind=component")) == both
    nothing = client.get("/catalog", params={"q": "no-such-thing-anywhere"}).text
    assert refs(nothing) == [] and 'data-testid="catalog-empty"' in nothing


@pytest.mark.parametrize("column", ["name", "kind", "type", "owner", "lifecycle"])
def test_sort_orders_every_page(client: TestClient, platform: Platform, column: str) -> None:
    all_ = everything(platform)

    def key(entity: dict[str, Any]) -> str | None:
        if column == "name":
            return str(entity["metadata"]["name"]).lower()
        if column == "kind":
            return str(entity["kind"]).lower()
        if column == "owner":
            return owner(entity)
        return spec(entity, column)

    for direction in ("asc", "desc"):
        got = listed(client, f"/catalog?sort={column},{direction}")
        assert sorted(got) == sorted(all_), (column, direction)
        values = [key(all_[ref]) for ref in got]
        present = [v for v in values if v is not None]
        # Entities without the field come last either way.
        assert values == present + [None] * (len(values) - len(present))
        assert present == sorted(present, reverse=direction == "desc"), (column, direction)
    page = client.get(f"/catalog?sort={column},desc").text
    assert f'aria-sort="descending" data-column="{column}"' in page


def test_bad_parameters_say_what_is_wrong(client: TestClient) -> None:
    for params, where in (({"sort": "colour,asc"}, "sort"), ({"cursor": "nonsense"}, "cursor")):
        page = client.get("/catalog", params=params)
        assert page.status_code == 400
        assert 'data-testid="catalog-error"' in page.text and where in page.text


def test_cursor_paging_forwards_and_back(client: TestClient, platform: Platform) -> None:
    all_ = everything(platform)
    forward = walk(client, "/catalog?sort=name,desc")
    assert len(forward) >= 3 and all(len(p) == 50 for p in forward[:-1])
    flat = [ref for page in forward for ref in page]
    assert len(flat) == len(set(flat)) == len(all_)
    # Go to the last page again, then back, page by page, with the Previous links.
    url: str | None = "/catalog?sort=name,desc"
    for _ in forward[:-1]:
        assert url is not None
        url = link(client.get(url).text, "next")
    backward = []
    while url:
        text = client.get(url).text
        backward.append(refs(text))
        url = link(text, "prev")
    assert backward[::-1] == forward
    # The range shown is where the page sits in the whole list.
    second = client.get(link(client.get("/catalog").text, "next") or "").text
    assert f"Showing 51–100 of {len(all_)} entities" in second
    first = client.get("/catalog").text
    assert f"Showing 1–50 of {len(all_)} entities" in first and link(first, "prev") is None


def test_htmx_gets_only_the_results_and_a_shareable_url(client: TestClient) -> None:
    fragment = client.get("/catalog", params={"kind": "component", "type": "", "q": ""}, headers=HX)
    assert fragment.status_code == 200
    text = fragment.text
    assert "<html" not in text and 'id="catalog-filters"' not in text
    assert text.lstrip().startswith('<div id="catalog-results"')
    # The filter options follow the kind (their counts are within it), the sort travels
    # with the form, and the count is announced where it always is.
    assert 'id="catalog-facets" class="catalog-facets" hx-swap-oob="true"' in text
    assert '<span id="catalog-sort" hx-swap-oob="true"></span>' in text
    assert 'id="catalog-status" hx-swap-oob="innerHTML"' in text
    assert refs(text) and all(r.startswith("component:") for r in refs(text))
    # The address bar gets the filters without the empty ones.
    assert fragment.headers["hx-push-url"] == "/catalog?kind=component"
    assert "HX-Request" in fragment.headers["vary"]
    # Sorting or paging within the same kinds leaves the options alone: a catalog of
    # 100,000 entities has thousands of owners, not worth sending on each keystroke.
    same_kind = {**HX, "HX-Current-URL": "http://testserver/catalog?kind=Component&q=x"}
    sorted_ = client.get("/catalog?kind=component&sort=type,desc", headers=same_kind).text
    assert 'id="catalog-facets"' not in sorted_
    assert '<input type="hidden" name="sort" value="type,desc">' in sorted_
    other_kind = {**HX, "HX-Current-URL": "http://testserver/catalog?kind=api"}
    assert 'id="catalog-facets"' in client.get("/catalog?kind=component", headers=other_kind).text
    # A boosted link or a history restore wants the whole page.
    for extra in ({"HX-Boosted": "true"}, {"HX-History-Restore-Request": "true"}):
        page = client.get("/catalog", params={"kind": "component"}, headers={**HX, **extra})
        assert 'id="catalog-filters"' in page.text
    # Without JavaScript the form and the links are plain GETs of the same URLs.
    page = client.get("/catalog").text
    assert (
        '<form id="catalog-filters" class="catalog-filters" method="get" action="/catalog"' in page
    )
    assert 'hx-get="/catalog" hx-target="#catalog-results"' in page and 'hx-push-url="true"' in page
    next_link = re.search(r'<a href="([^"]+)" hx-get="([^"]+)"[^>]*rel="next"', page)
    assert next_link and next_link.group(1) == next_link.group(2)


def test_pages_run_a_fixed_number_of_queries(client: TestClient, platform: Platform) -> None:
    """However many rows, owners or relations a page shows: no query per row (N+1)."""
    second = link(client.get("/catalog").text, "next")
    by_owner = link(client.get("/catalog?sort=owner,asc").text, "next")
    assert second and by_owner
    pins = {
        # the facet cache checked twice (one indexed read each), count, rows, bodies
        "/catalog": 5,
        "/catalog?sort=owner,asc": 5,
        # a filter: its plan (counts per condition, remembered per catalog generation: one
        # read), then rows (a small set is counted by its rows query) and bodies
        "/catalog?q=service&tags=go": 5,
        # one kind by name is read from the kind index; its count is remembered too
        "/catalog?kind=component&lifecycle=production": 5,
        # the total travels in the cursor
        second: 4,
        # a page reaching past the entities with an owner also reads those without one
        by_owner: 5,
        # the entity, and (graph) its neighbours in one lookup
        "/catalog/default/component/checkout-service": 1,
        "/catalog/default/group/team-checkout": 1,
        "/catalog/default/component/checkout-service?tab=dependencies": 2,
        "/catalog/default/component/checkout-service?tab=dependencies&depth=2": 2,
        "/catalog/default/group/platform-team?tab=dependencies": 2,
        "/catalog/default/api/listings-api?tab=api": 1,
    }
    for url in pins:
        assert client.get(url).status_code == 200  # warm the facet cache
    counts = {}
    for url in pins:
        with catalog_statements(platform) as statements:
            assert client.get(url).status_code == 200
        counts[url] = len(statements)
    assert counts == pins


def test_totals_follow_the_catalog(client: TestClient, platform: Platform, tmp_path: Path) -> None:
    """Totals are remembered between changes of the catalog, never across one."""
    total = len(everything(platform))
    assert f"of {total} entities" in client.get("/catalog").text
    extra = tmp_path / "one-more.yaml"
    extra.write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: one-more}\n"
        "spec: {type: service, lifecycle: production, owner: team-checkout}\n",
        encoding="utf-8",
    )
    catalog = get_catalog(platform)
    location = catalog.add_location("file", str(extra), refresh=False)["location"]
    catalog.refresh_location_now(location["id"])
    # The new entity and the Location entity of its file.
    assert f"of {total + 2} entities" in client.get("/catalog").text
    catalog.remove_location(location["id"])
    assert f"of {total} entities" in client.get("/catalog").text
