"""Catalog entity page of the portal, /catalog/:namespace/:kind/:name: header, tabs (built in
and from plugins, through the same hook), relations, the dependency graph, API definitions,
docs, and the friendly 404."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from portal_catalog import everything, load_catalog, portal

from goldpath.app import create_app
from goldpath.catalog import definitions
from goldpath.core.hookspecs import hookimpl
from goldpath.core.platform import Platform
from goldpath.core.plugins import build_plugin_manager
from goldpath.docs.service import get_docs
from goldpath.docs.storage import site_key


@pytest.fixture
def client(platform: Platform, tmp_path: Path) -> Iterator[TestClient]:
    with portal(platform, tmp_path) as test_client:
        yield test_client


# ------------------------------------------------------------------------- an entity
def test_entity_page_header_tabs_and_relations(client: TestClient, platform: Platform) -> None:
    entity = everything(platform)["component:default/checkout-service"]
    page = client.get("/catalog/default/component/checkout-service")
    assert page.status_code == 200
    text = page.text
    header = text[text.index('data-testid="entity-header"') : text.index('id="entity-tabs"')]
    assert "<h1>Checkout</h1>" in header and ">Component</span> · service" in header
    assert '<a href="/catalog/default/group/team-checkout">team-checkout</a>' in header
    assert '<a href="/catalog/default/system/checkout">checkout</a>' in header
    assert ">production<" in header and 'href="/catalog?tags=saga"' in header
    assert 'href="https://runbooks.larkspur.example/checkout/checkout-service"' in header
    tabs = re.findall(r'data-tab="([^"]+)"', text)
    assert tabs == ["overview", "dependencies", "docs"]  # no API tab for a component
    assert 'data-tab="overview" aria-current="page"' in text
    panel = text[text.index('data-testid="tab-panel-overview"') :]
    assert entity["metadata"]["description"] in panel
    assert (
        "<code>backstage.io/techdocs-ref</code></dt>"
        '<dd><a href="/docs/default/component/checkout-service/">dir:.</a>' in panel
    )
    # Every relation, grouped by type, links to its target.
    for relation in entity["relations"]:
        kind, _, rest = relation["targetRef"].partition(":")
        namespace, _, name = rest.partition("/")
        assert f'href="/catalog/{namespace}/{kind}/{name}"' in panel, relation
    assert panel.count('data-relation="dependsOn"') == 1

    api = client.get("/catalog/default/api/listings-api").text
    assert re.findall(r'data-tab="([^"]+)"', api) == ["overview", "dependencies", "api"]


def test_entity_page_shows_errors_annotations_and_only_safe_links(client: TestClient) -> None:
    text = client.get("/catalog/ops/component/night-batch").text
    errors = text[text.index('data-testid="processing-errors"') :]
    assert "no-kind-given" in errors
    assert 'href="https://git.example/ops/night-batch"' in text  # source-location, linked
    assert "example.com/pager-rotation" in text[text.index('data-testid="other-annotations"') :]
    assert 'href="https://ops.example/night-batch"' in text
    assert "javascript:" not in text.replace("Sneaky", "")  # shown as text, never a link
    assert '<a href="/catalog/ops/system/ops-tools">ops/ops-tools</a>' in text


def test_tab_fragment_for_htmx(client: TestClient) -> None:
    url = "/catalog/default/component/checkout-service"
    fragment = client.get(
        url,
        params={"tab": "dependencies"},
        headers={"HX-Request": "true", "HX-Target": "entity-panel"},
    )
    text = fragment.text
    assert fragment.status_code == 200 and "<html" not in text and "<h1>" not in text
    assert '<h2 id="panel-heading">Dependencies</h2>' in text
    assert 'id="entity-tabs"' in text and 'hx-swap-oob="true"' in text
    assert 'data-tab="dependencies" aria-current="page"' in text
    unknown = client.get(url, params={"tab": "nope"}).text
    assert "no tab “nope”" in unknown and 'data-testid="tab-panel-overview"' in unknown


def nodes(svg_page: str) -> dict[str, str]:
    """The linked nodes of the graph: ref -> their <title>."""
    svg = svg_page[svg_page.index("<svg") : svg_page.index("</svg>")]
    return {
        m.group(2): html.unescape(m.group(3))
        for m in re.finditer(
            r'<a class="([^"]+)" href="[^"]+" data-ref="([^"]+)">\s*<title>([^<]*)</title>', svg
        )
    }


def test_dependency_graph_links_related_entities(client: TestClient, platform: Platform) -> None:
    entity = everything(platform)["component:default/checkout-service"]
    page = client.get(
        "/catalog/default/component/checkout-service", params={"tab": "dependencies"}
    ).text
    assert (
        'data-testid="dependency-graph"' in page
        and 'aria-label="Dependency graph of Checkout"' in page
    )
    found = nodes(page)
    related = {r["targetRef"].lower() for r in entity["relations"]}
    assert related == set(found)
    assert found["group:default/team-checkout"].startswith(
        "Group Checkout (team-checkout), ownedBy"
    )
    for ref in related:
        kind, _, rest = ref.partition(":")
        namespace, _, name = rest.partition("/")
        assert f'href="/catalog/{namespace}/{kind}/{name}" data-ref="{ref}"' in page
    # Drawn one way, labelled: the entity's owner to its right, with an arrow.
    assert (
        'data-edge="component:default/checkout-service ownedBy group:default/team-checkout"' in page
    )
    assert page.count('marker-end="url(#graph-arrow)"') == len(related)
    # The same as a plain list, for screen readers and for anyone who prefers one.
    listing = page[page.index('data-testid="graph-list"') :]
    assert (
        '<a href="/catalog/default/group/team-checkout">Checkout</a> '
        '<span class="muted">group</span>' in listing
    )

    # Two hops: the team's parent group and the system's domain, further right.
    two = nodes(
        client.get(
            "/catalog/default/component/checkout-service",
            params={"tab": "dependencies", "depth": "2"},
        ).text
    )
    assert "group:default/product-engineering" in two and "domain:default/commerce" in two
    assert related < set(two)

    # Left of a group: what it owns and its members.
    team = nodes(
        client.get("/catalog/default/group/team-checkout", params={"tab": "dependencies"}).text
    )
    assert (
        "component:default/checkout-service" in team
        and "ownedBy" in team["component:default/checkout-service"]
    )

    # A ref to nothing is still drawn, marked missing.
    ops = client.get("/catalog/ops/component/night-batch", params={"tab": "dependencies"}).text
    assert re.search(
        r'class="node kind-component missing" href="/catalog/default/component/ghost-service"', ops
    )
    assert "not in the catalog" in nodes(ops)["component:default/ghost-service"]


def test_openapi_tab_serves_its_definition_to_swagger_ui(
    client: TestClient, platform: Platform
) -> None:
    entity = everything(platform)["api:default/listings-api"]
    page = client.get("/catalog/default/api/listings-api", params={"tab": "api"}).text
    panel = page[page.index('data-testid="tab-panel-api"') :]
    assert 'data-testid="swagger-ui"' in panel
    assert 'data-definition-url="/catalog/default/api/listings-api/definition"' in panel
    assert (
        f'href="{definitions.SWAGGER_CSS}"' in panel
        and f'data-bundle="{definitions.SWAGGER_JS}"' in panel
    )
    for asset in (definitions.SWAGGER_JS, definitions.SWAGGER_CSS):
        served = client.get(asset)
        assert served.status_code == 200, f"{asset} missing: run `make assets`"
    # Without JavaScript: the source, highlighted.
    assert '<div class="highlight">' in panel and '<span class="nt">openapi</span>' in panel

    definition = client.get("/catalog/default/api/listings-api/definition")
    assert (
        definition.status_code == 200 and definition.headers["content-type"] == "application/json"
    )
    assert definition.json() == yaml.safe_load(entity["spec"]["definition"])
    raw = client.get("/catalog/default/api/listings-api/definition", params={"format": "raw"})
    assert raw.text == entity["spec"]["definition"] and raw.headers["content-type"].startswith(
        "text/plain"
    )
    for missing in (
        "/catalog/default/api/nope/definition",
        "/catalog/default/api/checkout-service/definition",
    ):
        assert client.get(missing).status_code == 404


def test_asyncapi_and_graphql_are_highlighted_on_the_server(client: TestClient) -> None:
    asyncapi = client.get("/catalog/default/api/order-events", params={"tab": "api"}).text
    panel = asyncapi[asyncapi.index('data-testid="tab-panel-api"') :]
    assert 'data-language="yaml"' in panel and '<span class="nt">asyncapi</span>' in panel
    assert 'id="swagger-ui"' not in panel
    document = client.get("/catalog/default/api/order-events/definition")
    assert document.json()["asyncapi"]

    graphql = client.get("/catalog/default/api/storefront-graphql", params={"tab": "api"}).text
    panel = graphql[graphql.index('data-testid="tab-panel-api"') :]
    assert 'data-language="graphql-sdl"' in panel
    assert '<span class="k">type</span>' in panel and 'class="err"' not in panel
    sdl = client.get("/catalog/default/api/storefront-graphql/definition")
    assert sdl.headers["content-type"].startswith("text/plain") and "type " in sdl.text


def test_docs_tab_links_to_the_entity_s_techdocs(
    client: TestClient, platform: Platform, tmp_path: Path
) -> None:
    url = "/catalog/default/component/checkout-service"
    page = client.get(url, params={"tab": "docs"}).text
    panel = page[page.index('data-testid="tab-panel-docs"') :]
    assert "not built yet" in panel and 'data-testid="docs-contents"' not in panel
    # Once a site is stored, its contents are listed, each page a link into the reader.
    site = tmp_path / "site"
    (site / "_goldpath").mkdir(parents=True)
    (site / "techdocs_metadata.json").write_text('{"site_name": "Checkout"}', encoding="utf-8")
    nav = [
        {"title": "Home", "url": "", "path": "index.html"},
        {"title": "Operate", "children": [{"title": "Runbook", "url": "runbook/"}]},
        {"title": "Status", "url": "javascript:alert(1)", "external": True},
    ]
    (site / "_goldpath" / "site.json").write_text(json.dumps({"nav": nav}), encoding="utf-8")
    get_docs(platform).storage.put_site(site_key("default", "component", "checkout-service"), site)
    built = client.get(url, params={"tab": "docs"}).text
    contents = built[built.index('data-testid="docs-contents"') :]
    assert '<a href="/docs/default/component/checkout-service/runbook/">Runbook</a>' in contents
    assert "Operate" in contents and "javascript:" not in contents
    panel = built[built.index('data-testid="tab-panel-docs"') :]
    assert (
        '<a class="btn btn-primary" href="/docs/default/component/checkout-service/" '
        'data-testid="docs-link">' in panel
    )
    assert "dir:." in panel


def test_unknown_entity_gets_a_friendly_404(client: TestClient) -> None:
    missing = client.get("/catalog/default/system/checkout-service")
    assert missing.status_code == 404
    assert (
        "system:default/checkout-service" in missing.text
        and 'data-testid="not-found"' in missing.text
    )
    # Something of that name under another kind is offered, and a search for it.
    assert 'href="/catalog/default/component/checkout-service"' in missing.text
    assert 'href="/catalog?q=checkout-service"' in missing.text
    assert client.get("/catalog/default/component/nope").status_code == 404


class OnCallTabs:
    """A third party's tabs, plugged in through the same hook as the built-in ones."""

    @hookimpl
    def goldpath_entity_tabs(
        self, platform: Platform, entity: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if entity["kind"] != "Component":
            return []

        def oncall(request: Any, e: dict[str, Any]) -> str:
            return f'<p data-testid="oncall">Paging {html.escape(e["metadata"]["name"])}</p>'

        def broken(request: Any, e: dict[str, Any]) -> str:
            raise RuntimeError("the pager service is down")

        def runbook(request: Any, e: dict[str, Any]) -> str:
            return '<p data-testid="runbook">Read the runbook first.</p>'

        return [
            {"id": "oncall", "title": "On call", "order": 15, "render": oncall},
            {"id": "broken", "title": "Broken", "order": 99, "render": broken},
            # The id of a built-in tab: this plugin's replaces it.
            {"id": "docs", "title": "Runbook", "order": 30, "render": runbook},
        ]


def test_plugins_add_entity_tabs(settings: Any, tmp_path: Path) -> None:
    pm = build_plugin_manager(load_entry_points=False)
    pm.register(OnCallTabs(), name="oncall-tabs")
    platform = Platform.create(settings, plugins=pm)
    try:
        load_catalog(platform, tmp_path)
        with TestClient(create_app(platform)) as client:
            url = "/catalog/default/component/checkout-service"
            page = client.get(url).text
            # Ordered by "order": between Dependencies (10) and Docs (30).
            assert re.findall(r'data-tab="([^"]+)"', page) == [
                "overview",
                "dependencies",
                "oncall",
                "docs",
                "broken",
            ]
            assert re.search(r'data-tab="docs"[^>]*>Runbook</a>', page)
            replaced = client.get(url, params={"tab": "docs"}).text
            assert 'data-testid="runbook"' in replaced and 'data-testid="docs-link"' not in replaced
            tab = client.get(url, params={"tab": "oncall"}).text
            assert '<p data-testid="oncall">Paging checkout-service</p>' in tab
            assert '<h2 id="panel-heading">On call</h2>' in tab
            failing = client.get(url, params={"tab": "broken"})
            assert failing.status_code == 200 and "The Broken tab failed to load." in failing.text
            api = client.get("/catalog/default/api/listings-api").text
            assert 'data-tab="oncall"' not in api
    finally:
        platform.close()
