"""`goldpath up`'s demo organisation shows TechDocs at once: every entity with a techdocs-ref
has real docs that build (with the techdocs-core plugin, as Backstage sites name it)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from goldpath.app import create_app
from goldpath.core.platform import Platform
from goldpath.docs.service import get_docs

DEMO_DOCS = {"checkout-service", "payments-gateway", "storefront-web"}


def test_demo_docs_build_and_show_in_the_portal(sqlite_platform: Platform) -> None:
    platform = sqlite_platform
    platform.plugins.hook.goldpath_demo_data(platform=platform)
    platform.tasks.run_until_idle(timeout=180)
    docs = get_docs(platform)
    overview = {row["entity"]["metadata"]["name"]: row for row in docs.overview()}
    assert set(overview) == DEMO_DOCS
    for name, row in overview.items():
        assert row["latest"].status == "succeeded", (name, row["latest"].error)
        assert row["latest"].pages >= 2
    build = docs.build(
        "component", "default", "checkout-service", overview["checkout-service"]["latest"].id
    )
    # techdocs-core is named but not installed: goldpath's stand-in gives the Material theme.
    assert "mkdocs-techdocs-core is not installed; using goldpath's equivalent" in build.log

    with TestClient(create_app(platform)) as client:
        listing = client.get("/docs")
        for name in DEMO_DOCS:
            assert f'href="/docs/default/component/{name}/"' in listing.text
        page = client.get("/docs/default/component/checkout-service/saga/")
        assert page.status_code == 200 and "Compensation" in page.text
        assert 'href="/docs/default/component/checkout-service/runbook/#stuck-checkouts"' in (
            page.text
        )
        raw = client.get("/api/techdocs/static/docs/default/component/payments-gateway/")
        assert "assets/stylesheets/main" in raw.text  # built with Material
        assert "Docs" in client.get("/").text  # in the portal's navigation
