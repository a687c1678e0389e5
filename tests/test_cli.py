"""The CLI against a real server process: the commands a user types, end to end."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from server_process import run_cli, running_server

GOOD = """
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: ledger, description: Keeps the books}
spec: {type: service, lifecycle: production, owner: team-money, system: finance}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-money}
spec: {type: team, children: []}
"""

BAD = """
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: "no good"}
spec: {type: service}
"""


def test_catalog_commands_against_a_running_server(tmp_path: Path, database_url: str) -> None:
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "catalog-info.yaml").write_text(textwrap.dedent(GOOD))
    (catalog / "broken.yaml").write_text(textwrap.dedent(BAD))
    # Only what the test registers: no built-in golden paths.
    config = tmp_path / "goldpath.yaml"
    config.write_text("plugins: {templates: {builtin: false}}\n")
    env = {"GOLDPATH_CATALOG_FILE_ROOTS": str(tmp_path), "GOLDPATH_CONFIG": str(config)}
    with running_server("serve", tmp_path / "data", database_url, env=env) as url:
        added = run_cli("catalog", "add", str(catalog / "catalog-info.yaml"), url=url, check=True)
        assert "registered location" in added.stdout and "3 entities" in added.stdout

        listed = run_cli("catalog", "ls", "--kind", "component", url=url, check=True)
        assert "default/ledger" in listed.stdout and "team-money" in listed.stdout
        as_json = json.loads(
            run_cli("catalog", "ls", "--owner", "team-money", "--json", url=url, check=True).stdout
        )
        assert [e["metadata"]["name"] for e in as_json] == ["ledger"]

        shown = run_cli("catalog", "get", "component:default/ledger", url=url, check=True)
        assert "Keeps the books" in shown.stdout and "ownedBy" in shown.stdout
        assert (
            json.loads(run_cli("catalog", "get", "ledger", "--json", url=url, check=True).stdout)[
                "metadata"
            ]["name"]
            == "ledger"
        )

        valid = run_cli("catalog", "validate", str(catalog / "catalog-info.yaml"), url=url)
        assert valid.returncode == 0 and "2 entities valid" in valid.stdout
        invalid = run_cli("catalog", "validate", str(catalog / "broken.yaml"), url=url)
        assert invalid.returncode == 1
        assert "metadata.name" in invalid.stderr and "spec.owner" in invalid.stderr

        assert run_cli("catalog", "errors", url=url).returncode == 0
        assert run_cli("catalog", "refresh", url=url, check=True).returncode == 0

        missing = run_cli("catalog", "get", "component:default/ghost", url=url)
        assert missing.returncode == 1 and "ghost" in missing.stderr

        locations = json.loads(
            run_cli("catalog", "locations", "--json", url=url, check=True).stdout
        )
        assert len(locations) == 1
        run_cli("catalog", "rm", locations[0]["id"], url=url, check=True)
        after = json.loads(run_cli("catalog", "ls", "--json", url=url, check=True).stdout)
        assert after == []


def test_cli_reports_an_unreachable_server_clearly(tmp_path: Path) -> None:
    result = run_cli("catalog", "ls", url="http://127.0.0.1:9")
    assert result.returncode == 1
    assert "cannot reach goldpath at http://127.0.0.1:9" in result.stderr


def test_up_serves_the_demo_organisation(tmp_path: Path, database_url: str) -> None:
    with running_server("up", tmp_path / "data", database_url) as url:
        kinds = json.loads(
            run_cli("catalog", "ls", "--json", "--limit", "1000", url=url, check=True).stdout
        )
        counts: dict[str, int] = {}
        for e in kinds:
            counts[e["kind"]] = counts.get(e["kind"], 0) + 1
        assert counts.get("Component", 0) >= 25
        assert counts.get("Group", 0) >= 5 and counts.get("User", 0) >= 15
        assert counts.get("API", 0) >= 5 and counts.get("Resource", 0) >= 5
        assert counts.get("System", 0) >= 3 and counts.get("Domain", 0) >= 2
        errors = run_cli("catalog", "errors", "--json", url=url, check=True)
        assert json.loads(errors.stdout) == []
        home = run_cli("version", url=url, check=True)
        assert home.stdout.startswith("goldpath ")
