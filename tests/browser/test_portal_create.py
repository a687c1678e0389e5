"""A developer creating a service from a built-in golden path in a real browser."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.slow


def test_create_a_worker_through_the_form_and_watch_the_task_finish(
    page: Page, portal: str
) -> None:
    page.goto(portal + "/create")
    card = page.locator('[data-testid="template-card"][data-template="template:default/worker"]')
    expect(card).to_be_visible()
    card.get_by_role("link").first.click()
    page.wait_for_url("**/create/templates/default/worker")

    # An invalid answer is shown beside its field, and the other answers are kept.
    page.get_by_role("textbox", name=re.compile(r"^Name\b")).fill("Not A Name")
    page.get_by_role("textbox", name=re.compile(r"^Description\b")).fill(
        "Renders invoices in the browser test"
    )
    page.get_by_role("combobox", name=re.compile(r"^Owner\b")).select_option(
        "group:default/team-checkout"
    )
    page.get_by_role("button", name="Next").click()
    error = page.get_by_test_id("error-name")
    expect(error).to_be_visible()
    name = page.get_by_role("textbox", name=re.compile(r"^Name\b"))
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("textbox", name=re.compile(r"^Description\b"))).to_have_value(
        "Renders invoices in the browser test"
    )

    name.fill("browser-worker")
    page.get_by_role("button", name="Next").click()
    page.get_by_role("spinbutton", name=re.compile(r"^Attempts per job")).fill("3")
    page.get_by_role("button", name="Review").click()
    expect(page.get_by_test_id("review-name")).to_have_text("browser-worker")
    page.get_by_role("button", name="Create").click()

    page.wait_for_url(re.compile(r".*/create/tasks/[0-9a-f-]+$"))
    # Live over SSE: no reload needed to see it finish.
    expect(page.get_by_test_id("task-status")).to_contain_text("completed", timeout=60_000)
    expect(page.get_by_test_id("step-register")).to_have_attribute("data-status", "completed")
    links = page.get_by_test_id("task-links")
    links.get_by_role("link", name=re.compile("catalog", re.I)).click()
    page.wait_for_url("**/catalog/default/component/browser-worker")
    expect(page.get_by_role("heading", level=1)).to_contain_text("browser-worker")
