"""Site storage (whole sites swapped atomically, paths kept inside) and page content for the
portal (sanitised, links kept under /docs) and for search (text and sections)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from goldpath.core.errors import InputError, NotAllowedError
from goldpath.docs.content import portal_html, text_and_sections
from goldpath.docs.storage import LocalSiteStorage, SiteStorage, site_key, site_path


def site(root: Path, version: str, pages: int = 3) -> Path:
    folder = root / f"built-{version}"
    for n in range(pages):
        (folder / f"p{n}").mkdir(parents=True, exist_ok=True)
        (folder / f"p{n}" / "index.html").write_text(f"{version} page {n}")
    (folder / "techdocs_metadata.json").write_text(f'{{"site_name": "{version}", "etag": "e"}}')
    return folder


def test_local_storage_stores_reads_replaces_and_deletes(tmp_path: Path) -> None:
    storage = LocalSiteStorage(tmp_path / "store")
    assert isinstance(storage, SiteStorage)
    key = site_key("default", "Component", "Ledger")
    assert key == "default/component/ledger"
    assert storage.read(key, "p0/index.html") is None and storage.metadata(key) is None

    storage.put_site(key, site(tmp_path, "v1"))
    assert storage.read(key, "p1/index.html") == b"v1 page 1"
    assert storage.read(key, "p1/") is None  # folders are not files
    assert storage.metadata(key) == {"site_name": "v1", "etag": "e"}
    assert storage.list_sites() == [key]

    storage.put_site(key, site(tmp_path, "v2", pages=1))
    assert storage.read(key, "p0/index.html") == b"v2 page 0"
    assert storage.read(key, "p2/index.html") is None  # nothing of the old site is left
    storage.put_site(key, site(tmp_path, "v3", pages=1))
    # The one served now, and the one before it (readers may still be in it); no older.
    versions = [p for p in (tmp_path / "store" / key).iterdir() if not p.is_symlink()]
    assert len(versions) == 2

    storage.delete_site(key)
    assert storage.read(key, "p0/index.html") is None and storage.list_sites() == []
    storage.delete_site(key)  # gone already: nothing happens


def test_readers_never_see_half_a_site(tmp_path: Path) -> None:
    storage = LocalSiteStorage(tmp_path / "store")
    key = site_key("default", "component", "ledger")
    storage.put_site(key, site(tmp_path, "v0", pages=20))
    seen: set[bytes | None] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            first = storage.read(key, "p0/index.html")
            seen.add(first)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(1, 15):
            storage.put_site(key, site(tmp_path, f"v{n}", pages=20))
    finally:
        stop.set()
        reader.join()
    # Every read found a complete site (some version of page 0), never nothing.
    assert None not in seen and len(seen) > 1


@pytest.mark.parametrize("path", ["../x", "a/../../x", "/../x", "..", "a\\..\\x", "a\x00b", "a\nb"])
def test_site_paths_cannot_leave_the_site(path: str) -> None:
    with pytest.raises(NotAllowedError):
        site_path(path)


def test_entity_names_are_checked_before_they_become_paths() -> None:
    for bad in ("..", ".", "a/b", "", "-", "a b", "x" * 300):
        with pytest.raises(InputError):
            site_key("default", "component", bad)
    assert site_path("/a/./b/") == "a/b" and site_path("") == ""


def test_a_link_planted_in_a_stored_site_is_not_followed(tmp_path: Path) -> None:
    storage = LocalSiteStorage(tmp_path / "store")
    key = site_key("default", "component", "ledger")
    storage.put_site(key, site(tmp_path, "v1"))
    (tmp_path / "secret.txt").write_text("TOP SECRET")
    current = (tmp_path / "store" / key / "current").resolve()
    (current / "planted.txt").symlink_to(tmp_path / "secret.txt")
    with pytest.raises(NotAllowedError):
        storage.read(key, "planted.txt")


def test_portal_html_is_sanitised_and_keeps_links_in_the_portal() -> None:
    content = (
        '<h2 id="a">A</h2><p onclick="steal()">Hi <a href="../runbook/#b">runbook</a> '
        '<a href="other.html">file</a> <a href="https://example.com/x">out</a> '
        '<a href="javascript:alert(1)">js</a> <a href="#a">here</a></p>'
        '<img src="../img/a.png" onerror="steal()"><script>steal()</script>'
        '<iframe src="https://evil.example"></iframe><style>body{display:none}</style>'
        '<div class="admonition note"><p class="admonition-title">Note</p></div>'
        '<input type="checkbox" checked disabled>'
    )
    pages = {"index.html", "guide/index.html", "runbook/index.html"}
    html = portal_html(
        content,
        page_url="guide/",
        docs_base="/docs/default/component/x/",
        static_base="/static/x/",
        is_page=pages.__contains__,
    )
    assert 'href="/docs/default/component/x/runbook/#b"' in html
    assert 'href="/static/x/guide/other.html"' in html
    assert 'href="https://example.com/x"' in html and 'href="#a"' in html
    assert 'src="/static/x/img/a.png"' in html
    for gone in ("onclick", "onerror", "javascript:", "<script", "steal()", "<iframe", "<style"):
        assert gone not in html
    assert 'class="admonition note"' in html and 'type="checkbox"' in html


def test_page_text_and_sections_for_search() -> None:
    text, sections = text_and_sections(
        '<h1 id="t">Title<a class="headerlink" href="#t">¶</a></h1><p>Intro.</p>'
        '<h2 id="s1">First</h2><p>One</p><ul><li>two</li></ul><script>var x</script>'
        "<h2>No anchor</h2><p>Three</p>"
    )
    assert "¶" not in text and "var x" not in text
    assert text.split() == ["Title", "Intro.", "First", "One", "two", "No", "anchor", "Three"]
    assert sections == [
        {"id": "t", "title": "Title", "text": "Intro."},
        {"id": "s1", "title": "First", "text": "One two"},
    ]
