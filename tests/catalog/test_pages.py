"""Catalog pages of the portal at Backstage's URLs."""

from __future__ import annotations

from fastapi.testclient import TestClient

from goldpath.app import create_app
from goldpath.core.platform import Platform


def test_catalog_list_entity_page_and_not_found(platform: Platform) -> None:
    platform.plugins.hook.goldpath_demo_data(platform=platform)
    with TestClient(create_app(platform)) as client:
        home = client.get("/")
        assert home.status_code == 200 and 'href="/catalog?kind=Component"' in home.text

        listing = client.get("/catalog", params={"kind": "component"})
        assert listing.status_code == 200
        assert "checkout-service" in listing.text and "team-checkout" in listing.text
        assert "listings-api" not in listing.text  # an API, filtered out by kind

        found = client.get("/catalog", params={"q": "ledger"})
        assert "ledger-service" in found.text and "checkout-service" not in found.text

        page = client.get("/catalog/default/component/checkout-service")
        assert page.status_code == 200
        assert 'href="/catalog/default/group/team-checkout"' in page.text
        assert 'href="/catalog/default/api/cart-api"' in page.text

        api = client.get("/catalog/default/api/listings-api")
        assert "Listings are what makers sell" in api.text  # the $text definition, rendered

        missing = client.get("/catalog/default/component/nope")
        assert missing.status_code == 404 and "component:default/nope" in missing.text
