"""A developer browsing the portal in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.slow


def test_home_shows_the_team_services_and_search_works_from_the_header(
    page: Page, portal: str
) -> None:
    page.goto(portal + "/")
    expect(page.get_by_role("heading", name="Your platform at a glance")).to_be_visible()
    services = page.get_by_test_id("team-services")
    expect(services.get_by_role("link").first).to_be_visible()
    page.get_by_label("Team", exact=True).select_option("group:default/team-checkout")
    page.get_by_role("button", name="Show").click()
    checkout = page.get_by_test_id("team-services").locator(
        'a[href="/catalog/default/component/checkout-service"]'
    )
    expect(checkout).to_be_visible()
    # Keyboard: the skip link is the first stop and moves focus to the content.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.get_by_role("searchbox", name="Search").first.fill("checkout")
    page.get_by_role("searchbox", name="Search").first.press("Enter")
    page.wait_for_url("**/search?query=checkout")
