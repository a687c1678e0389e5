"""Browser tests: Playwright driving Debian's Chromium (``/usr/bin/chromium``; `.ci/run`
installs it) against a real ``goldpath up``. Screenshots go to ``test-artifacts/browser/``.

One server per module (they are slow to start); tests must not depend on each other's
writes beyond what they create under names of their own.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from server_process import running_server

CHROMIUM = os.environ.get("GOLDPATH_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
# Headless on a machine with no network beyond loopback: nothing may reach out.
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `goldpath up` (demo organisation, built-in golden paths) on SQLite."""
    root = tmp_path_factory.mktemp("portal")
    with running_server(
        "up",
        root / "data",
        f"sqlite:///{root / 'goldpath.db'}",
        timeout=120,
    ) as url:
        yield url


# Module scope: Playwright's sync API keeps an event loop running in this thread while it
# is open, and later tests that start their own loop (asyncio.run) must not see it.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    try:
        yield opened
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = request.node.name.replace("/", "_")
        try:
            opened.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        finally:
            context.close()
