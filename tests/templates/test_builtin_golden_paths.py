"""`goldpath up` offers every built-in golden path, each versioned and documented, and the
README's `goldpath create` commands work against it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from goldpath.templates.plugin import template_folders
from server_process import run_cli, running_server

BUILTIN = ["http-service", "worker", "event-consumer", "data-pipeline"]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "golden-paths.md"


def test_each_builtin_golden_path_is_versioned_documented_and_tested() -> None:
    folders = {folder.name: folder for folder in template_folders()}
    assert set(BUILTIN) <= set(folders)
    guide = DOCS.read_text()
    tests = {path.name for path in Path(__file__).parent.glob("test_*.py")}
    for name in BUILTIN:
        template = yaml.safe_load((folders[name] / "template.yaml").read_text())
        version = template["metadata"]["annotations"]["goldpath.dev/template-version"]
        assert version.count(".") == 2 and all(part.isdigit() for part in version.split("."))
        assert f"## {version}" in (folders[name] / "CHANGELOG.md").read_text()
        assert "golden-path" in template["metadata"]["tags"]
        properties = {
            key for page in template["spec"]["parameters"] for key in page.get("properties", {})
        }
        assert {"name", "owner", "system", "description"} <= properties, name
        owner = next(
            page["properties"]["owner"]
            for page in template["spec"]["parameters"]
            if "owner" in page.get("properties", {})
        )
        assert owner["ui:field"] == "OwnerPicker"
        assert f"## {name}" in guide, f"docs/golden-paths.md has no section for {name}"
        module = name.replace("-", "_")
        assert {f"test_{module}.py", f"test_{module}_template.py"} & tests, f"no tests for {name}"


@pytest.mark.slow
def test_goldpath_up_offers_every_golden_path_to_goldpath_create(
    tmp_path: Path, sqlite_url: str
) -> None:
    # Once, on SQLite: the scaffolder's own tests cover both databases.
    with running_server("up", tmp_path / "data", sqlite_url) as url:
        listed = run_cli("templates", "ls", url=url, check=True)
        for name in BUILTIN:
            assert f"default/{name}" in listed.stdout

        created = run_cli(
            "create",
            "http-service",
            "--set",
            "name=gift-cards",
            "--set",
            "owner=group:default/team-checkout",
            "--set",
            "description=Sells gift cards",
            "--set",
            "database=postgres",
            url=url,
            check=True,
        )
        assert "Open in catalog: component:default/gift-cards" in created.stdout
        assert f"Repository: {url}/git/services/gift-cards.git" in created.stdout

        # As the README shows it.
        worker = run_cli(
            "create",
            "worker",
            "--set",
            "name=invoice-worker",
            "--set",
            "owner=group:default/team-checkout",
            "--set",
            "description=Renders invoices",
            url=url,
            check=True,
        )
        assert "Open in catalog: component:default/invoice-worker" in worker.stdout
        got = run_cli("catalog", "get", "resource:default/invoice-worker-queue", url=url)
        assert got.returncode == 0, got.stderr
