"""The official ``@backstage/catalog-client`` against a real goldpath server, unchanged.

``tests/compat`` pins the npm package (``package.json`` and ``package-lock.json``); it is
installed with ``npm ci`` on first use, never vendored. ``catalog_client_check.mjs`` calls every
public method of ``CatalogClient`` and asserts what comes back; it expects the catalog written
below, so change the two together. Run it by hand against any server with
``node tests/compat/catalog_client_check.mjs <url> <catalog file> --keep-going`` to list every
incompatibility at once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from server_process import running_server

COMPAT = Path(__file__).parent / "compat"
CHECK = COMPAT / "catalog_client_check.mjs"
CLIENT = "@backstage/catalog-client"

CATALOG = """
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: finance-catalog
  description: The finance team's other files
spec:
  targets: [./org.yaml]
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata: {name: finance, description: "Money in, money out"}
spec: {owner: team-money}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: ledger
  description: Keeps the books
  tags: [python, accounting]
spec:
  type: service
  lifecycle: production
  owner: team-money
  system: finance
  providesApis: [ledger-api]
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: invoices
  description: Sends the invoices
  tags: [python]
spec:
  type: website
  lifecycle: experimental
  owner: team-money
  system: finance
  consumesApis: [ledger-api]
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata: {name: ledger-api, description: "The ledger's REST API"}
spec:
  type: openapi
  lifecycle: production
  owner: team-money
  system: finance
  definition: "openapi: 3.0.0"
"""

ORG = """
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-money, description: The money team}
spec: {type: team, children: []}
"""


def _installed_matches_lock() -> bool:
    """``node_modules`` holds what ``package-lock.json`` pins (npm ci wrote it since)."""
    lock = COMPAT / "package-lock.json"
    hidden_lock = COMPAT / "node_modules" / ".package-lock.json"
    installed = COMPAT / "node_modules" / CLIENT / "package.json"
    if not hidden_lock.exists() or not installed.exists():
        return False
    if hidden_lock.stat().st_mtime < lock.stat().st_mtime:
        return False
    pinned = json.loads(lock.read_text())["packages"][f"node_modules/{CLIENT}"]["version"]
    return bool(json.loads(installed.read_text())["version"] == pinned)


@pytest.fixture(scope="session")
def node() -> str:
    """``node``, with the pinned client installed in ``tests/compat/node_modules``."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the Backstage client check, but node or npm is missing")
        pytest.skip(
            "this machine has no node/npm, which @backstage/catalog-client (JavaScript) needs"
        )
    if not _installed_matches_lock():
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=COMPAT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if result.returncode != 0:
            pytest.fail(f"npm ci in {COMPAT} failed:\n{result.stdout}\n{result.stderr}")
    return node


def test_backstage_catalog_client_works_unchanged(
    tmp_path: Path, database_url: str, node: str
) -> None:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "catalog-info.yaml").write_text(textwrap.dedent(CATALOG).lstrip())
    (catalog / "org.yaml").write_text(textwrap.dedent(ORG).lstrip())
    # The checks start from an empty catalog, as a Backstage client would see a new one.
    config = tmp_path / "goldpath.yaml"
    config.write_text("plugins: {templates: {builtin: false}}\n")
    env = {
        "GOLDPATH_CONFIG": str(config),
        "GOLDPATH_CATALOG_FILE_ROOTS": str(tmp_path),
        # No scheduled refresh in the middle of the checks: they refresh when they mean to.
        "GOLDPATH_CATALOG_REFRESH_INTERVAL_SECONDS": "3600",
    }
    with running_server("serve", tmp_path / "data", database_url, env=env) as url:
        result = subprocess.run(
            [node, str(CHECK), url, str(catalog / "catalog-info.yaml")],
            cwd=COMPAT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0, (
        f"{CLIENT} is not compatible with goldpath:\n{result.stdout}\n{result.stderr}"
    )
    assert "checks passed" in result.stdout
