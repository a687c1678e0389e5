"""A developer browsing the portal in a real browser: home, catalog, an entity, its
relations and docs, and search."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.slow
CHECKOUT = "/catalog/default/component/checkout-service"


def test_home_shows_the_team_services_and_search_works_from_the_header(
    page: Page, portal: str
) -> None:
    page.goto(portal + "/")
    expect(page.get_by_role("heading", name="Your platform at a glance")).to_be_visible()
    services = page.get_by_test_id("team-services")
    expect(services.get_by_role("link").first).to_be_visible()
    page.get_by_label("Team", exact=True).select_option("group:default/team-checkout")
    page.get_by_role("button", name="Show").click()
    checkout = page.get_by_test_id("team-services").locator(f'a[href="{CHECKOUT}"]')
    expect(checkout).to_be_visible()
    # Keyboard: the skip link is the first stop.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    header_search = page.get_by_role("searchbox", name="Search", exact=True)
    header_search.fill("checkout")
    header_search.press("Enter")
    page.wait_for_url("**/search?query=checkout")
    results = page.get_by_test_id("search-results")
    expect(results.locator(f'a[href="{CHECKOUT}"]')).to_be_visible()


def test_browse_filter_open_an_entity_follow_a_relation_and_read_its_docs(
    page: Page, portal: str
) -> None:
    page.goto(portal + "/catalog")
    table = page.get_by_test_id("catalog-table")
    expect(table).to_be_visible()
    page.get_by_label("Kind", exact=True).select_option("Component")
    expect(table.locator('a[href="/catalog/default/api/cart-api"]')).to_have_count(0)
    page.get_by_label("Filter by text").fill("checkout")
    page.get_by_label("Filter by text").press("Enter")
    row_link = table.locator(f'a[href="{CHECKOUT}"]').first
    expect(row_link).to_be_visible()
    expect(table.locator('a[href="/catalog/default/component/ledger-service"]')).to_have_count(0)
    assert "kind=Component" in page.url and "q=checkout" in page.url  # shareable

    row_link.click()
    page.wait_for_url(f"**{CHECKOUT}")
    header = page.get_by_test_id("entity-header")
    expect(header).to_contain_text("checkout")
    owner = page.get_by_test_id("entity-owner").get_by_role("link").first
    owner_href = owner.get_attribute("href")
    assert owner_href and owner_href.startswith("/catalog/default/group/")

    # The dependency graph's nodes are links to their entities.
    tabs = page.locator("nav.tabs")
    tabs.get_by_role("link", name=re.compile("^Dependencies")).click()
    graph = page.get_by_test_id("dependency-graph")
    expect(graph).to_be_visible()
    expect(graph.locator(f'a[href="{owner_href}"]').first).to_be_attached()

    # Docs: built by the worker from the component's own folder.
    tabs.get_by_role("link", name=re.compile("^Docs")).click()
    read = page.get_by_test_id("docs-link")
    expect(read).to_be_visible(timeout=60_000)
    read.click()
    page.wait_for_url(re.compile(r".*/docs/default/component/checkout-service/.*"))
    expect(page.get_by_role("heading", level=1).first).to_be_visible()

    # Follow the ownership relation.
    page.goto(portal + owner_href)
    expect(page.get_by_test_id("entity-kind")).to_have_text(re.compile("Group", re.I))
