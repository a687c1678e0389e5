"""A broken docs source is a failed build with a clear one-line error and its full log, and
the last good site stays served. Paths never leave the docs source or the stored site."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from techdocs_helpers import (
    PORTAL,
    STATIC,
    builds,
    latest,
    refresh,
    register,
    service_folder,
    write,
)

from goldpath.catalog.service import get_catalog
from goldpath.core.platform import Platform
from goldpath.docs.service import get_docs

BROKEN = {
    "bad-yaml": (
        {"mkdocs.yml": "site_name: Ledger\nnav:\n  - Home: index.md\n  oops: [\n"},
        "mkdocs.yml is not valid YAML: ",
    ),
    "missing-page": (
        {
            "mkdocs.yml": "site_name: Ledger\nstrict: true\nnav:\n  - Home: index.md\n"
            "  - Gone: missing.md\n"
        },
        "strict mode: A reference to 'missing.md' is included in the 'nav' configuration",
    ),
    "unknown-plugin": (
        {"mkdocs.yml": "site_name: Ledger\nplugins:\n  - no-such-plugin\n"},
        'mkdocs.yml: plugins: The "no-such-plugin" plugin is not installed',
    ),
    "hooks": (
        {
            "mkdocs.yml": "site_name: Ledger\nhooks:\n  - hooks.py\n",
            "hooks.py": "import os\nos.system('touch /tmp/pwned-by-docs')\n",
        },
        "mkdocs.yml: hooks run Python files from the repository; goldpath does not run them",
    ),
    "docs-dir-outside": (
        {"mkdocs.yml": "site_name: Ledger\ndocs_dir: ../..\n"},
        "mkdocs.yml: docs_dir '../..' is outside the docs source",
    ),
    "python-object": (
        {"mkdocs.yml": "site_name: !!python/object/apply:os.getcwd []\n"},
        "could not determine a constructor for the tag",
    ),
}


def assert_last_good_build_served(
    platform: Platform, client: TestClient, good: Any, expected_error: str
) -> None:
    failed = latest(platform)
    assert failed.status == "failed"
    assert failed.error is not None and expected_error in failed.error, failed.log
    assert "\n" not in failed.error and len(failed.error) <= 500
    assert failed.error in failed.log
    assert [b.id for b in builds(platform)][1] == good.id
    # Nothing of the failed build is served: the good site, its etag, its pages.
    assert "The ledger keeps the books" in client.get(STATIC).text
    metadata = client.get("/api/techdocs/metadata/techdocs/default/component/ledger").json()
    assert metadata["etag"] == good.source_hash
    page = client.get(PORTAL)
    assert page.status_code == 200 and "The ledger keeps the books" in page.text
    assert "The docs could not be built" in page.text and "Showing the last good build" in page.text
    status = client.get("/api/techdocs/builds/default/component/ledger").json()
    assert status["latest"]["error"] == failed.error
    assert status["lastSuccessful"]["id"] == good.id


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_source_fails_clearly_and_keeps_the_last_good_site(
    platform: Platform, client: TestClient, tmp_path: Path, case: str
) -> None:
    folder = service_folder(tmp_path)
    location = register(platform, folder)
    good = latest(platform)
    assert good.status == "succeeded"

    files, expected = BROKEN[case]
    for name, text in files.items():
        write(folder / name, text)
    refresh(platform, location)
    assert_last_good_build_served(platform, client, good, expected)
    assert not Path("/tmp/pwned-by-docs").exists()

    # The same broken source is not built again on every refresh; fixing it is.
    refresh(platform, location)
    assert len(builds(platform)) == 2
    write(folder / "mkdocs.yml", "site_name: Ledger again\nnav:\n  - Home: index.md\n")
    refresh(platform, location)
    assert latest(platform).status == "succeeded"
    assert "Ledger again" in client.get(STATIC).text


def test_a_build_over_the_time_limit_is_stopped_and_the_last_good_site_stays(
    platform: Platform, client: TestClient, tmp_path: Path, make_settings: Any
) -> None:
    folder = service_folder(tmp_path)
    location = register(platform, folder)
    good = latest(platform)
    for n in range(300):
        write(folder / "docs" / "many" / f"page-{n}.md", f"# Page {n}\n\n" + "Text. " * 200)
    # The same database and storage, with a time limit no build of 300 pages meets.
    strict_limit = Platform.create(make_settings(**{"plugins.techdocs.build_timeout_seconds": 0.5}))
    try:
        refresh(strict_limit, location)
    finally:
        strict_limit.close()
    assert_last_good_build_served(
        platform, client, good, "the build took longer than 0.5 s and was stopped"
    )


def test_no_mkdocs_yml_is_a_clear_failure(platform: Platform, tmp_path: Path) -> None:
    folder = service_folder(tmp_path)
    (folder / "mkdocs.yml").unlink()
    register(platform, folder)
    failed = latest(platform)
    assert failed.status == "failed"
    assert failed.error == "no mkdocs.yml in the docs folder: add one (see docs/techdocs.md)"
    assert get_docs(platform).storage.list_sites() == []


@pytest.mark.parametrize("ref", ["dir:..", "dir:../outside", "dir:/etc", "dir:docs/../../.."])
def test_dir_refs_cannot_leave_the_folder_of_the_catalog_file(
    platform: Platform, client: TestClient, tmp_path: Path, ref: str
) -> None:
    write(tmp_path / "outside" / "mkdocs.yml", "site_name: Not yours\n")
    write(tmp_path / "outside" / "docs" / "index.md", "# Secret\n")
    register(platform, service_folder(tmp_path, ref=ref))
    failed = latest(platform)
    assert failed.status == "failed"
    assert failed.error is not None and "leaves the folder of" in failed.error
    assert get_docs(platform).storage.list_sites() == []
    page = client.get(PORTAL)
    assert page.status_code == 200 and "leaves the folder of" in page.text
    pressed = client.post(f"{PORTAL}rebuild", follow_redirects=False)
    assert pressed.status_code == 303  # the page's status panel says why nothing builds


def test_links_out_of_the_docs_source_are_left_out(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    secret = write(tmp_path / "secret.md", "# Private\n\nThe root password.\n")
    folder = service_folder(tmp_path)
    (folder / "docs" / "secret.md").symlink_to(secret)
    (folder / "docs" / "alias.md").symlink_to(folder / "docs" / "guide.md")
    register(platform, folder)
    build = latest(platform)
    assert build.status == "succeeded", build.log
    assert "left out docs/secret.md: it links outside the source" in build.log
    assert client.get(f"{STATIC}secret/").status_code == 404
    assert "Every entry has two sides" in client.get(f"{STATIC}alias/").text


def test_the_static_route_never_serves_outside_the_site(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    register(platform, service_folder(tmp_path))
    storage_root = platform.settings.data_dir / "techdocs"
    write(storage_root / "secret.txt", "TOP SECRET")
    write(storage_root / "default" / "component" / "secret.txt", "TOP SECRET")
    write(platform.settings.data_dir / "secret.txt", "TOP SECRET")
    for path in (
        f"{STATIC}%2e%2e/%2e%2e/secret.txt",
        f"{STATIC}..%2F..%2Fsecret.txt",
        f"{STATIC}..%2F..%2F..%2F..%2Fsecret.txt",
        f"{STATIC}%2e%2e%2f%2e%2e%2f%2e%2e%2fsecret.txt",
        f"{STATIC}%5c..%5c..%5csecret.txt",
        "/api/techdocs/static/docs/default/component/%2e%2e/secret.txt",
        "/api/techdocs/static/docs/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        f"{PORTAL}%2e%2e/%2e%2e/secret.txt",
    ):
        response = client.get(path, follow_redirects=False)
        assert response.status_code in (400, 403, 404), (path, response.status_code)
        assert "TOP SECRET" not in response.text, path


def test_docs_of_an_entity_without_a_techdocs_ref_are_not_built(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    folder = service_folder(tmp_path)
    info = folder / "catalog-info.yaml"
    info.write_text(info.read_text().replace("backstage.io/techdocs-ref", "example.com/docs"))
    get_catalog(platform).add_location("file", str(info))
    platform.tasks.run_until_idle(timeout=60)
    assert builds(platform) == []
    answer = client.get("/api/techdocs/sync/default/component/ledger")
    assert answer.status_code == 400
    assert "no backstage.io/techdocs-ref annotation" in answer.json()["detail"]
    assert client.post("/api/techdocs/builds/default/component/ledger").status_code == 400
    refresh(platform, get_catalog(platform).list_locations()[0].id)
    assert builds(platform) == []
