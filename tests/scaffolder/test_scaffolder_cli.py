"""``goldpath create``, ``templates`` and ``tasks`` against a real `goldpath up` process."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from server_process import run_cli, running_server


@pytest.mark.slow
def test_the_readme_tour_of_golden_paths(tmp_path: Path, database_url: str) -> None:
    with running_server("up", tmp_path / "data", database_url) as url:
        listed = run_cli("templates", "ls", url=url, check=True)
        assert "default/python-library" in listed.stdout and "1.0.0" in listed.stdout

        bad = run_cli(
            "create", "python-library", "--set", "name=Not Valid", "--set", "owner=x", url=url
        )
        assert bad.returncode == 1
        assert "name: must match" in bad.stderr and "description: is required" in bad.stderr

        dry = run_cli(
            "create",
            "python-library",
            "--dry-run",
            "--set",
            "name=dry-lib",
            "--set",
            "owner=group:default/team-checkout",
            "--set",
            "description=Dry",
            url=url,
            check=True,
        )
        assert "src/dry_lib/__init__.py" in dry.stdout
        assert "would create larkspur/dry-lib" in dry.stdout

        created = run_cli(
            "create",
            "python-library",
            "--set",
            "name=price-rounding",
            "--set",
            "owner=group:default/team-checkout",
            "--set",
            "description=Rounds prices",
            url=url,
            check=True,
        )
        out = created.stdout
        assert "✓ Generate the library" in out and "✓ Register in the catalog" in out
        assert f"Repository: {url}/git/larkspur/price-rounding.git" in out
        assert "Open in catalog: component:default/price-rounding" in out

        clone = tmp_path / "clone"
        subprocess.run(
            ["git", "clone", "-q", f"{url}/git/larkspur/price-rounding.git", str(clone)],
            check=True,
            timeout=60,
        )
        assert (clone / "src" / "price_rounding" / "__init__.py").exists()
        shown = run_cli("catalog", "get", "component:default/price-rounding", url=url, check=True)
        assert "Rounds prices" in shown.stdout

        tasks = json.loads(run_cli("tasks", "ls", "--json", url=url, check=True).stdout)
        assert tasks["totalTasks"] == 1
        task_id = tasks["tasks"][0]["id"]
        assert tasks["tasks"][0]["status"] == "completed"
        logs = run_cli("tasks", "logs", task_id, url=url, check=True)
        assert "Publish to hosted git" in logs.stdout and "status: completed" in logs.stdout

        again = run_cli(
            "create",
            "python-library",
            "--set",
            "name=price-rounding",
            "--set",
            "owner=group:default/team-checkout",
            "--set",
            "description=Again",
            url=url,
        )
        assert again.returncode == 1
        assert "already exists" in again.stdout + again.stderr
