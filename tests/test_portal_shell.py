"""The portal's shell: layout on every page, static assets, home cards, error pages."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from fastapi.testclient import TestClient

from goldpath.app import create_app
from goldpath.core.hookspecs import hookimpl
from goldpath.core.platform import Platform
from goldpath.core.plugins import build_plugin_manager
from goldpath.templates import plugin as templates_plugin

HTML = {"accept": "text/html"}


class Labels(HTMLParser):
    """Every form control and whether a <label for=...> names it."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[str] = []
        self.labelled: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in {"input", "select", "textarea"} and found.get("type") != "hidden":
            self.controls.append(found.get("id") or "")
        if tag == "label" and found.get("for"):
            self.labelled.add(str(found["for"]))


def unlabelled(html: str) -> list[str]:
    parser = Labels()
    parser.feed(html)
    return [control for control in parser.controls if control not in parser.labelled]


def test_every_page_has_the_shell_with_a_labelled_search_box(platform: Platform) -> None:
    platform.plugins.hook.goldpath_demo_data(platform=platform)
    with TestClient(create_app(platform)) as client:
        for path, status in (("/", 200), ("/nothing-here", 404)):
            page = client.get(path, headers=HTML)
            assert page.status_code == status, path
            assert 'action="/search"' in page.text and 'name="query"' in page.text
            assert '<a class="skip-link" href="#main">' in page.text
            assert "/static/vendor/htmx.min.js" in page.text
            assert unlabelled(page.text) == [], path
        home = client.get("/")
        assert 'href="/" aria-current="page"' in home.text


def test_static_files_are_served_and_cannot_escape(platform: Platform) -> None:
    with TestClient(create_app(platform)) as client:
        css = client.get("/static/portal.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert ":root" in css.text
        htmx = client.get("/static/vendor/htmx.min.js")
        assert htmx.status_code == 200, "portal assets missing: run `make assets`"
        assert "htmx" in htmx.text
        for sneaky in ("/static/../pages.py", "/static/%2e%2e/pages.py", "/static/..%2Fpages.py"):
            assert client.get(sneaky).status_code == 404, sneaky


def test_home_shows_a_team_s_services_golden_paths_and_runs(platform: Platform) -> None:
    templates_plugin.install(platform)
    platform.plugins.hook.goldpath_demo_data(platform=platform)
    with TestClient(create_app(platform)) as client:
        home = client.get("/")
        assert home.status_code == 200
        for card in ("team", "golden-paths", "tasks", "catalog"):
            assert f'data-testid="home-card-{card}"' in home.text
        # With no team chosen, the team owning most services is shown.
        assert 'data-testid="team-services"' in home.text
        assert 'href="/create/templates/default/http-service"' in home.text

        picked = client.get("/", params={"team": "group:default/team-checkout"})
        assert 'value="group:default/team-checkout" selected' in picked.text
        assert 'href="/catalog/default/component/checkout-service"' in picked.text
        # Remembered on the next visit.
        again = client.get("/")
        assert 'value="group:default/team-checkout" selected' in again.text


def test_plugins_add_home_cards(settings: Any) -> None:
    class Card:
        @hookimpl
        def goldpath_home_cards(self, platform: Platform) -> list[dict[str, Any]]:
            return [
                {"id": "oncall", "title": "On call", "order": 1, "render": lambda r: "<p>Ada</p>"}
            ]

    pm = build_plugin_manager(load_entry_points=False)
    pm.register(Card(), name="oncall-card")
    platform = Platform.create(settings, plugins=pm)
    try:
        with TestClient(create_app(platform)) as client:
            home = client.get("/").text
            assert '<h2 id="card-oncall">On call</h2>' in home and "<p>Ada</p>" in home
            assert home.index("card-oncall") < home.index("card-team")  # by order
    finally:
        platform.close()


def test_errors_get_friendly_pages_in_the_browser_and_problems_in_the_api(
    platform: Platform,
) -> None:
    with TestClient(create_app(platform)) as client:
        page = client.get("/no/such/page", headers=HTML)
        assert page.status_code == 404
        assert 'data-testid="error-page"' in page.text and "/no/such/page" in page.text
        assert 'action="/search"' in page.text
        api = client.get("/api/no/such", headers=HTML)
        assert api.status_code == 404 and api.headers["content-type"] == "application/problem+json"
        plain = client.get("/no/such/page")
        assert plain.headers["content-type"] == "application/problem+json"
