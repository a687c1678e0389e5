"""A small organisation in catalog files, registered through the catalog service."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from goldpath.catalog.service import get_catalog
from goldpath.core.platform import Platform
from goldpath.search.model import SearchQuery
from goldpath.search.service import get_search

ORG = """
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments-gateway
  title: Payments Gateway
  description: Takes card payments from the checkout and settles them nightly.
  tags: [python, pci]
spec: {type: service, lifecycle: production, owner: team-money, system: shop}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ledger
  description: Keeps the books; every payment ends up here as two entries.
  tags: [java]
spec: {type: service, lifecycle: experimental, owner: team-money, system: shop}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: storefront
  title: Storefront
  description: The website shoppers browse; it calls the payments gateway at checkout.
  tags: [typescript]
spec: {type: website, lifecycle: production, owner: team-shop, system: shop}
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: payments-api
  description: Authorise and capture card transactions.
  tags: [rest, pci]
spec:
  type: openapi
  lifecycle: production
  owner: team-money
  definition: "openapi: 3.0.0"
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-money, description: Owns money movement}
spec: {type: team, children: [], profile: {displayName: Team Money}}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-shop}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: ada}
spec: {memberOf: [team-money], profile: {displayName: Ada Lovelace, email: ada@example.com}}
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: payment-service
  title: Payment service
  description: A new service that moves money, with PCI checks wired in.
  tags: [python]
spec:
  owner: team-money
  type: service
  steps:
    - id: log
      name: Log
      action: debug:log
      input: {message: hello}
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def register(platform: Platform, path: Path) -> str:
    catalog = get_catalog(platform)
    location = catalog.add_location("file", str(path))["location"]
    platform.tasks.run_until_idle(timeout=60)
    return str(location["id"])


def refresh(platform: Platform, location_id: str) -> None:
    get_catalog(platform).refresh_location_now(location_id)


def search(platform: Platform, term: str = "", **kwargs: Any) -> dict[str, Any]:
    return get_search(platform).query(SearchQuery(term=term, **kwargs))


def refs(result: dict[str, Any]) -> list[str]:
    """Each result's entity ref; a docs page's is followed by ``/`` and its path."""
    out = []
    for item in result["results"]:
        document = item["document"]
        if item["type"] == "techdocs":
            ref = f"{document['kind']}:{document['namespace']}/{document['name']}".lower()
            out.append(f"{ref}/{document['path']}")
        else:
            out.append(document["authorization"]["resourceRef"])
    return out


SITE = [
    {
        "path": "",
        "title": "Payments Gateway",
        "text": "Payments Gateway. How card payments flow. Settlement runs nightly and "
        "reconciles every capture with the acquirer. Refunds are issued from the back office.",
        "sections": [
            {
                "id": "settlement",
                "title": "Settlement",
                "text": "Settlement runs nightly and reconciles every capture with the acquirer.",
            },
            {
                "id": "refunds",
                "title": "Refunds",
                "text": "Refunds are issued from the back office.",
            },
        ],
    },
    {
        "path": "runbook/",
        "title": "Runbook",
        "text": "When the acquirer times out, page the on-call engineer.",
        "sections": [],
    },
]
