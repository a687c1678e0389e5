"""Docs of a repository on goldpath's hosted git: a service created on the http-service golden
path gets its docs built from the bare repository, and rebuilt when a push changes them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from goldpath.app import create_app
from goldpath.catalog.service import get_catalog
from goldpath.core.platform import Platform
from goldpath.docs.service import get_docs
from goldpath.git.service import GitService
from templates.golden_path_harness import REPO_OWNER, create_from_template


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.com", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


@pytest.mark.slow
def test_golden_path_docs_are_built_from_hosted_git(
    sqlite_platform: Platform, tmp_path: Path
) -> None:
    platform = sqlite_platform
    name = "invoice-service"
    clone = create_from_template(
        platform,
        "http-service",
        {"name": name, "description": "Sends invoices", "owner": "group:default/team-payments"},
        tmp_path / "clone",
    )
    docs = get_docs(platform)
    (build, *_) = docs.builds("component", "default", name)
    assert build.status == "succeeded", build.log
    assert build.source == f"git:{REPO_OWNER}/{name}@main:/"
    assert build.pages == 3  # home, runbook, the first ADR
    print(f"http-service docs build: {build.seconds:.2f} s")  # noqa: T201 - the perf note

    static = f"/api/techdocs/static/docs/default/component/{name}/"
    with TestClient(create_app(platform)) as client:
        assert "Sends invoices" in client.get(static).text
        assert client.get(f"{static}runbook/").status_code == 200
        entity = client.get(f"/api/techdocs/metadata/entity/default/component/{name}").json()
        base = platform.settings.base_url()
        assert entity["locationMetadata"] == {
            "type": "url",
            "target": f"{base}/git/{REPO_OWNER}/{name}/tree/main",
        }
        page = client.get(f"/docs/default/component/{name}/runbook/")
        assert page.status_code == 200 and "Runbook" in page.text

        # A push through goldpath that changes the docs rebuilds them at once.
        index = clone / "docs" / "index.md"
        index.write_text(index.read_text() + "\n## Billing runs\n\nOn the first of the month.\n")
        platform.service("git", GitService).publish_directory(
            REPO_OWNER,
            name,
            clone,
            branch="main",
            message="Document billing runs",
            author_name="Dev",
            author_email="dev@example.com",
        )
        platform.tasks.run_until_idle(timeout=120)
        newest = docs.builds("component", "default", name)[0]
        assert (newest.status, newest.reason) == ("succeeded", "changed")
        assert "On the first of the month" in client.get(static).text

        # A push straight into the repository: the catalog's refresh notices it. One that
        # leaves the docs alone builds nothing.
        git(clone, "commit", "-qam", "Document billing runs")
        (clone / "README.md").write_text("Changed readme\n")
        git(clone, "commit", "-qam", "Readme only")
        git(clone, "pull", "-q", "--rebase", "-X", "theirs", "origin", "main")
        git(clone, "push", "-q", "origin", "HEAD:main")
        location = get_catalog(platform).location_by_entity("component", "default", name)
        get_catalog(platform).schedule_refresh(location.id)
        platform.tasks.run_until_idle(timeout=120)
        assert len(docs.builds("component", "default", name)) == 2

        runbook = clone / "docs" / "runbook.md"
        runbook.write_text(runbook.read_text() + "\n## Paging\n\nPage the payments team.\n")
        git(clone, "commit", "-qam", "Paging")
        git(clone, "push", "-q", "origin", "HEAD:main")
        get_catalog(platform).schedule_refresh(location.id)
        platform.tasks.run_until_idle(timeout=120)
        assert len(docs.builds("component", "default", name)) == 3
        assert "Page the payments team" in client.get(f"{static}runbook/").text
