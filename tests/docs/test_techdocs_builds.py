"""TechDocs from a file location: built by the worker, stored, served raw and in the portal,
rebuilt when the docs change and only then."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from techdocs_helpers import (
    PORTAL,
    REF,
    STATIC,
    BuiltRecorder,
    builds,
    latest,
    refresh,
    register,
    service_folder,
    write,
)

from goldpath.catalog.service import get_catalog
from goldpath.core.errors import ConfigError
from goldpath.core.platform import Platform
from goldpath.docs.service import BUILD_TASK, get_docs


def test_docs_of_a_file_location_are_built_stored_and_served(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    recorder = BuiltRecorder()
    platform.plugins.register(recorder)
    folder = service_folder(tmp_path)
    register(platform, folder)

    build = latest(platform)
    assert build.status == "succeeded", build.log
    assert (build.reason, build.pages, build.error) == ("new", 2, None)
    assert build.source == f"file:{folder}"
    assert "Documentation built" in build.log

    # Raw, as Backstage's static route serves it.
    index = client.get(STATIC)
    assert index.status_code == 200 and index.headers["content-type"].startswith("text/html")
    assert "The ledger keeps the books" in index.text
    assert "sandbox" in index.headers["content-security-policy"]
    assert "Every entry has two sides" in client.get(f"{STATIC}guide/").text
    moved = client.get(f"{STATIC}guide", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == "guide/"
    logo = client.get(f"{STATIC}img/logo.png")
    assert logo.headers["content-type"] == "image/png" and logo.content.startswith(b"\x89PNG")
    assert client.get(f"{STATIC}nothing-here.html").status_code == 404

    metadata = client.get("/api/techdocs/metadata/techdocs/default/component/ledger").json()
    assert metadata["site_name"] == "Ledger"
    assert metadata["site_description"] == "How the ledger keeps the books"
    assert metadata["etag"] == build.source_hash
    assert isinstance(metadata["build_timestamp"], int) and metadata["build_timestamp"] > 1e12
    assert {"index.html", "guide/index.html", "techdocs_metadata.json"} <= set(metadata["files"])
    entity = client.get("/api/techdocs/metadata/entity/default/component/ledger").json()
    assert entity["metadata"]["name"] == "ledger"
    assert entity["locationMetadata"] == {"type": "dir", "target": str(folder)}

    # Inside the portal's layout: the page's article, its contents, links kept under /docs.
    page = client.get(PORTAL)
    assert page.status_code == 200
    assert 'class="brand"' in page.text and 'href="/docs"' in page.text  # the portal's layout
    assert "The ledger keeps the books" in page.text
    assert f'href="{PORTAL}guide/"' in page.text  # the nav and the link in the text
    assert 'href="#setup"' in page.text  # table of contents
    assert "from the docs" not in page.text  # raw script in a page never reaches the portal
    guide = client.get(f"{PORTAL}guide/")
    assert f'src="{STATIC}img/logo.png"' in guide.text
    assert client.get(f"{PORTAL}img/logo.png", follow_redirects=False).headers["location"] == (
        f"{STATIC}img/logo.png"
    )
    assert client.get(f"{PORTAL}no-such-page/").status_code == 404
    listing = client.get("/docs")
    assert 'href="/docs/default/component/ledger/"' in listing.text and "succeeded" in listing.text

    status = client.get("/api/techdocs/builds/default/component/ledger").json()
    assert (
        status["latest"]["status"] == "succeeded"
        and "Documentation built" in (status["latest"]["log"])
    )
    assert status["metadata"]["etag"] == build.source_hash
    assert [b["id"] for b in status["builds"]] == [build.id]

    # Plugins (search) hear of the stored site, page by page and section by section.
    ((entity_ref, pages),) = recorder.calls
    assert entity_ref == REF
    by_path = {p["path"]: p for p in pages}
    assert set(by_path) == {"", "guide/"}
    assert by_path[""]["title"] == "Home"
    assert "make run" in by_path[""]["text"] and "from the docs" not in by_path[""]["text"]
    assert {"id": "setup", "title": "Setup", "text": "Run make run and open the books."} in (
        by_path[""]["sections"]
    )
    assert by_path["guide/"]["sections"][-1]["title"] == "Posting entries"


def test_a_docs_change_rebuilds_on_refresh_and_nothing_else_does(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    folder = service_folder(tmp_path)
    location = register(platform, folder)
    assert [b.status for b in builds(platform)] == ["succeeded"]

    refresh(platform, location)  # nothing changed
    write(folder / "src" / "main.py", "print('changed code, same docs')\n")
    refresh(platform, location)
    assert len(builds(platform)) == 1
    assert not platform.tasks.list(kind=BUILD_TASK, status="queued")

    write(folder / "docs" / "guide.md", "# Guide\n\nEntries are immutable now.\n")
    refresh(platform, location)  # catalog-info.yaml is unchanged: only the docs moved
    newest = latest(platform)
    assert [b.status for b in builds(platform)] == ["succeeded", "succeeded"]
    assert newest.reason == "changed"
    assert "Entries are immutable now" in client.get(f"{STATIC}guide/").text
    assert "Entries are immutable now" in client.get(f"{PORTAL}guide/").text
    etag = client.get("/api/techdocs/metadata/techdocs/default/component/ledger").json()["etag"]
    assert etag == newest.source_hash

    # An edit of mkdocs.yml counts too.
    write(folder / "mkdocs.yml", "site_name: The Ledger\nnav:\n  - Home: index.md\n")
    refresh(platform, location)
    assert len(builds(platform)) == 3
    assert client.get("/api/techdocs/metadata/techdocs/default/component/ledger").json()[
        "site_name"
    ] == ("The Ledger")


def test_asking_for_a_build_rebuilds_unchanged_docs(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    register(platform, service_folder(tmp_path))
    queued = client.post("/api/techdocs/builds/default/component/ledger")
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    # Asked twice while queued: the same build, not a second one.
    again = client.post("/api/techdocs/builds/default/component/ledger").json()
    assert again["id"] == queued.json()["id"]
    platform.tasks.run_until_idle(timeout=120)
    done = client.get(f"/api/techdocs/builds/default/component/ledger/{again['id']}").json()
    assert (done["status"], done["reason"]) == ("succeeded", "requested")
    assert len(builds(platform)) == 2

    missing = client.post("/api/techdocs/builds/default/component/nobody")
    assert missing.status_code == 404

    # The portal's "Rebuild now" button.
    pressed = client.post(f"{PORTAL}rebuild", follow_redirects=False)
    assert pressed.status_code == 303 and pressed.headers["location"] == PORTAL
    platform.tasks.run_until_idle(timeout=120)
    assert [b.reason for b in builds(platform)] == ["requested", "requested", "new"]


def test_removing_the_entity_removes_its_docs(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    location = register(platform, service_folder(tmp_path))
    assert client.get(STATIC).status_code == 200
    get_catalog(platform).remove_location(location)
    platform.tasks.run_until_idle(timeout=60)
    assert get_docs(platform).storage.list_sites() == []
    assert get_docs(platform).store.with_builds([REF]) == set()
    assert client.get(STATIC).status_code == 404


def test_an_entity_that_drops_its_techdocs_ref_loses_its_site(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    folder = service_folder(tmp_path)
    location = register(platform, folder)
    info = folder / "catalog-info.yaml"
    info.write_text(
        re.sub(r"backstage.io/techdocs-ref: .*", "example.com/team: money", info.read_text())
    )
    refresh(platform, location)
    assert get_docs(platform).storage.list_sites() == []
    assert client.get("/api/techdocs/metadata/techdocs/default/component/ledger").status_code == (
        404
    )


def test_the_portal_says_so_while_the_first_build_is_waiting(
    platform: Platform, client: TestClient, tmp_path: Path
) -> None:
    get_catalog(platform).add_location("file", str(service_folder(tmp_path) / "catalog-info.yaml"))
    assert platform.tasks.run_one()  # the catalog reads the location
    assert platform.tasks.run_one()  # the docs check queues the first build
    assert latest(platform).status == "queued"
    page = client.get(PORTAL)
    assert "The docs are being built for the first time" in page.text
    assert '<meta http-equiv="refresh"' in page.text
    platform.tasks.run_until_idle(timeout=120)
    page = client.get(PORTAL)
    assert "The ledger keeps the books" in page.text and "http-equiv" not in page.text


def test_techdocs_settings_are_checked_at_start(make_settings: Any) -> None:
    for bad, key in (
        ({"plugins.techdocs.build_timeout_seconds": -1}, "plugins.techdocs.build_timeout_seconds"),
        ({"plugins.techdocs.stroage_dir": "/x"}, "plugins.techdocs.stroage_dir"),
    ):
        with pytest.raises(ConfigError, match=re.escape(key)):
            Platform.create(make_settings(**bad))
    platform = Platform.create(make_settings(**{"plugins.techdocs.storage": "nowhere.at:all"}))
    try:
        with pytest.raises(ConfigError, match="plugins.techdocs.storage"):
            platform.start()
    finally:
        platform.close()
