"""``goldpath search`` against a real server process: what a user types, end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from search_helpers import ORG, write

from server_process import run_cli, running_server


@pytest.mark.slow
def test_search_commands_against_a_running_server(tmp_path: Path, database_url: str) -> None:
    catalog = write(tmp_path / "org" / "catalog-info.yaml", ORG)
    config = tmp_path / "goldpath.yaml"
    config.write_text("plugins: {templates: {builtin: false}}\n")
    env = {"GOLDPATH_CATALOG_FILE_ROOTS": str(tmp_path), "GOLDPATH_CONFIG": str(config)}
    with running_server("serve", tmp_path / "data", database_url, env=env) as url:
        run_cli("catalog", "add", str(catalog), url=url, check=True)

        table = run_cli("search", "payments", url=url, check=True)
        lines = table.stdout.splitlines()
        assert lines[0].split()[:4] == ["TYPE", "TITLE", "WHERE", "MATCH"]
        assert any("component:default/payments-gateway" in line for line in lines[1:])
        assert "results" in table.stderr

        found = json.loads(run_cli("search", "pay", "--json", url=url, check=True).stdout)
        assert found["numberOfResults"] >= 3
        assert {"kind", "owner", "types"} <= set(found["facets"])
        titles = {r["document"]["title"] for r in found["results"]}
        assert "Payments Gateway" in titles

        only = json.loads(
            run_cli("search", "pay", "--type", "template", "--json", url=url, check=True).stdout
        )
        assert [r["type"] for r in only["results"]] == ["software-template"]
        owned = run_cli(
            "search", "--kind", "component", "--owner", "team-shop", "--limit", "1", url=url
        )
        assert "storefront" in owned.stdout.lower() and "1 of 1 results" in owned.stderr

        none = run_cli("search", "nothing-like-this", url=url)
        assert none.returncode == 0 and "no results" in none.stderr

        bad = run_cli("search", "pay", "--type", "wiki", url=url)
        assert bad.returncode == 1 and "unknown document type" in bad.stderr

        rebuilt = run_cli("search", "reindex", url=url, check=True)
        assert "7 documents written" not in rebuilt.stdout  # the change hook indexed them
        assert "entities" in rebuilt.stdout
        status = json.loads(run_cli("search", "status", "--json", url=url, check=True).stdout)
        assert status["upToDate"] is True and status["documents"]["software-template"] == 1
