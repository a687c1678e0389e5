"""Where docs come from besides a file location's folder: a ``url:`` ref into hosted git, and
a ``dir:`` ref in a repository registered as a ``git`` location (cloned)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from fastapi.testclient import TestClient
from techdocs_helpers import CATALOG_INFO, builds, latest, refresh, register, write

from goldpath.catalog.service import get_catalog
from goldpath.core.platform import Platform
from goldpath.git.service import GitService


def test_a_url_ref_reads_a_folder_of_a_hosted_repository(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    handbook = tmp_path / "handbook"
    write(handbook / "README.md", "Not docs\n")
    write(handbook / "site" / "mkdocs.yml", "site_name: Handbook\n")
    write(handbook / "site" / "docs" / "index.md", "# Handbook\n\nHow we work.\n")
    git = platform.service("git", GitService)
    git.create_repository("acme", "handbook")
    git.publish_directory(
        "acme",
        "handbook",
        handbook,
        branch="main",
        message="docs",
        author_name="a",
        author_email="a@example.com",
    )
    url = f"{platform.settings.base_url()}/git/acme/handbook/tree/main/site"
    folder = tmp_path / "ledger"
    write(folder / "catalog-info.yaml", CATALOG_INFO.format(name="ledger", ref=f"url:{url}"))
    location = register(platform, folder)

    build = latest(platform)
    assert build.status == "succeeded", build.log
    assert build.source == "git:acme/handbook@main:site"
    static = "/api/techdocs/static/docs/default/component/ledger/"
    assert "How we work" in client.get(static).text
    entity = client.get("/api/techdocs/metadata/entity/default/component/ledger").json()
    assert entity["locationMetadata"] == {"type": "url", "target": url}

    # Unchanged tree, no build; a change to the folder in the repository, a build.
    refresh(platform, location)
    assert len(builds(platform)) == 1
    write(handbook / "site" / "docs" / "index.md", "# Handbook\n\nHow we work now.\n")
    git.publish_directory(
        "acme",
        "handbook",
        handbook,
        branch="main",
        message="edit",
        author_name="a",
        author_email="a@example.com",
    )
    platform.tasks.run_until_idle(timeout=120)  # the push is enough: no catalog refresh
    assert [b.reason for b in builds(platform)] == ["changed", "new"]
    assert "How we work now" in client.get(static).text

    write(folder / "catalog-info.yaml", CATALOG_INFO.format(name="ledger", ref=f"url:{url}/../.."))
    refresh(platform, location)
    assert latest(platform).error == f"url:{url}/../.. leaves the repository"
    assert "How we work now" in client.get(static).text


def test_a_dir_ref_in_a_git_location_is_read_from_a_clone(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    work = tmp_path / "repo"
    write(work / "catalog-info.yaml", CATALOG_INFO.format(name="ledger", ref="dir:./handbook"))
    write(work / "handbook" / "mkdocs.yml", "site_name: Cloned\n")
    write(work / "handbook" / "docs" / "index.md", "# Cloned\n\nRead from a clone.\n")
    run = ["git", "-c", "user.name=a", "-c", "user.email=a@example.com"]
    subprocess.run([*run, "init", "-q", "-b", "main", str(work)], check=True)
    subprocess.run([*run, "-C", str(work), "add", "."], check=True)
    subprocess.run([*run, "-C", str(work), "commit", "-qm", "docs"], check=True)
    bare = tmp_path / "remote.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)

    get_catalog(platform).add_location("git", f"{bare}//catalog-info.yaml")
    platform.tasks.run_until_idle(timeout=120)
    build = latest(platform)
    assert build.status == "succeeded", build.log
    assert build.source == f"git:{bare}@default branch:handbook"
    assert (
        "Read from a clone"
        in client.get("/api/techdocs/static/docs/default/component/ledger/").text
    )
