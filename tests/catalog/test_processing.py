"""Catalog processing through the service: locations in, stitched entities out."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from goldpath.catalog.service import CatalogService, get_catalog
from goldpath.core.errors import ConflictError, InputError, NotAllowedError, NotFoundError
from goldpath.core.platform import Platform


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


def register(platform: Platform, type_: str, target: str) -> str:
    catalog = get_catalog(platform)
    location = catalog.add_location(type_, target)["location"]
    platform.tasks.run_until_idle(timeout=60)
    return str(location["id"])


def entity(catalog: CatalogService, kind: str, name: str, namespace: str = "default") -> Any:
    return catalog.queries.by_name(kind, namespace, name)


def relations(found: dict[str, Any]) -> set[tuple[str, str]]:
    return {(r["type"], r["targetRef"]) for r in found["relations"]}


SERVICE = """
    apiVersion: backstage.io/v1alpha1
    kind: Component
    metadata:
      name: checkout
      description: Takes the money
      tags: [python]
    spec:
      type: service
      lifecycle: production
      owner: team-a
      system: shop
      providesApis: [checkout-api]
      dependsOn: ['resource:orders-db']
    ---
    apiVersion: backstage.io/v1alpha1
    kind: Group
    metadata:
      name: team-a
    spec:
      type: team
      children: []
    ---
    apiVersion: backstage.io/v1alpha1
    kind: API
    metadata:
      name: checkout-api
    spec:
      type: openapi
      lifecycle: production
      owner: team-a
      definition:
        $text: ./checkout.openapi.yaml
    """


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    write(tmp_path / "shop" / "checkout.openapi.yaml", "openapi: 3.0.0\ninfo: {title: Checkout}\n")
    return write(tmp_path / "shop" / "catalog-info.yaml", SERVICE)


def test_file_location_is_processed_and_stitched_both_ways(platform: Platform, shop: Path) -> None:
    register(platform, "file", str(shop))
    catalog = get_catalog(platform)

    checkout = entity(catalog, "component", "checkout")
    assert checkout["metadata"]["uid"] and checkout["metadata"]["etag"]
    assert checkout["metadata"]["annotations"]["backstage.io/managed-by-location"] == f"file:{shop}"
    assert relations(checkout) >= {
        ("ownedBy", "group:default/team-a"),
        ("partOf", "system:default/shop"),  # a relation to a missing entity is still recorded
        ("providesApi", "api:default/checkout-api"),
        ("dependsOn", "resource:default/orders-db"),
    }
    team = entity(catalog, "group", "team-a")
    assert ("ownerOf", "component:default/checkout") in relations(team)
    assert ("ownerOf", "api:default/checkout-api") in relations(team)
    api = entity(catalog, "api", "checkout-api")
    assert api["spec"]["definition"] == "openapi: 3.0.0\ninfo: {title: Checkout}\n"
    assert ("apiProvidedBy", "component:default/checkout") in relations(api)

    root = catalog.queries.list_entities(filter=["kind=location"])
    assert len(root) == 1 and root[0]["metadata"]["name"].startswith("generated-")


def test_unchanged_sources_are_not_reprocessed_and_changes_are(
    platform: Platform, shop: Path
) -> None:
    location_id = register(platform, "file", str(shop))
    catalog = get_catalog(platform)
    before = {e["metadata"]["name"]: e["metadata"]["etag"] for e in catalog.queries.list_entities()}

    again = catalog.refresh_location_now(location_id)
    assert again.processed == 0 and again.stitched == 0 and again.unchanged == 4

    # Only the API's definition file changes: only the API is reprocessed.
    (shop.parent / "checkout.openapi.yaml").write_text("openapi: 3.1.0\n")
    changed = catalog.refresh_location_now(location_id)
    assert changed.processed == 1
    after = {e["metadata"]["name"]: e["metadata"]["etag"] for e in catalog.queries.list_entities()}
    assert after["checkout-api"] != before["checkout-api"]
    assert after["checkout"] == before["checkout"]
    assert entity(catalog, "api", "checkout-api")["spec"]["definition"] == "openapi: 3.1.0\n"


def test_removed_entity_becomes_orphan_and_can_be_deleted(platform: Platform, shop: Path) -> None:
    location_id = register(platform, "file", str(shop))
    catalog = get_catalog(platform)
    shop.write_text(textwrap.dedent(SERVICE).split("---")[0], encoding="utf-8")

    report = catalog.refresh_location_now(location_id)
    assert report.orphaned == 2
    team = entity(catalog, "group", "team-a")
    assert team["metadata"]["annotations"]["backstage.io/orphan"] == "true"
    assert (
        "backstage.io/orphan"
        not in entity(catalog, "component", "checkout")["metadata"]["annotations"]
    )

    catalog.delete_entity_by_uid(team["metadata"]["uid"])
    with pytest.raises(NotFoundError):
        entity(catalog, "group", "team-a")
    # The component's own ownedBy relation stays: it still declares its owner.
    assert ("ownedBy", "group:default/team-a") in relations(
        entity(catalog, "component", "checkout")
    )


def test_broken_file_fails_alone_with_file_and_line(platform: Platform, tmp_path: Path) -> None:
    write(
        tmp_path / "good.yaml",
        """
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata: {name: fine}
        spec: {type: service, lifecycle: production, owner: team-a}
        """,
    )
    write(tmp_path / "bad-yaml.yaml", "kind: Component\nmetadata: {name: [unclosed\n")
    write(
        tmp_path / "bad-entity.yaml",
        """
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata: {name: also-fine}
        spec: {type: service, lifecycle: production, owner: team-a}
        ---
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata: {name: "Not A Valid Name!"}
        spec: {type: service, lifecycle: production, owner: team-a}
        """,
    )
    register(platform, "file", str(tmp_path / "*.yaml"))
    catalog = get_catalog(platform)

    assert entity(catalog, "component", "fine")
    assert entity(catalog, "component", "also-fine")
    errors = catalog.errors()
    messages = " | ".join(f"{e['source']}: {e['message']}" for e in errors)
    assert "bad-yaml.yaml" in messages and "invalid YAML at line 3" in messages
    assert "bad-entity.yaml line 6" in messages and "metadata.name" in messages
    # The location entity that read the broken file shows the error too.
    [root] = catalog.queries.list_entities(filter=["kind=location"])
    assert any("bad-yaml.yaml" in i["message"] for i in root["status"]["items"])


def test_same_entity_from_two_locations_rejects_the_later(
    platform: Platform, shop: Path, tmp_path: Path
) -> None:
    register(platform, "file", str(shop))
    other = write(
        tmp_path / "other" / "catalog-info.yaml",
        """
        apiVersion: backstage.io/v1alpha1
        kind: Component
        metadata: {name: checkout, description: an impostor}
        spec: {type: service, lifecycle: production, owner: team-b}
        """,
    )
    register(platform, "file", str(other))
    catalog = get_catalog(platform)

    assert entity(catalog, "component", "checkout")["metadata"]["description"] == "Takes the money"
    conflicts = [e for e in catalog.errors() if e["name"] == "ConflictError"]
    assert conflicts and str(other) in conflicts[0]["location"]
    assert "component:default/checkout" in conflicts[0]["message"]


def test_nested_locations_resolve_relative_to_their_own_file(
    platform: Platform, tmp_path: Path
) -> None:
    write(
        tmp_path / "org" / "all.yaml",
        """
        apiVersion: backstage.io/v1alpha1
        kind: Location
        metadata: {name: org}
        spec:
          targets: [./teams/teams.yaml]
        """,
    )
    write(
        tmp_path / "org" / "teams" / "teams.yaml",
        """
        apiVersion: backstage.io/v1alpha1
        kind: Group
        metadata: {name: team-x}
        spec: {type: team, children: []}
        ---
        apiVersion: backstage.io/v1alpha1
        kind: User
        metadata: {name: ada}
        spec: {memberOf: [team-x]}
        """,
    )
    register(platform, "file", str(tmp_path / "org" / "all.yaml"))
    catalog = get_catalog(platform)
    assert ("hasMember", "user:default/ada") in relations(entity(catalog, "group", "team-x"))
    ancestry = catalog.ancestry("user", "default", "ada")
    chain = [i["entity"]["metadata"]["name"] for i in ancestry["items"]]
    assert chain[:2] == ["ada", "org"] and chain[2].startswith("generated-")
    assert ancestry["rootEntityRef"] == "user:default/ada"  # the entity asked about
    assert ancestry["items"][1]["parentEntityRefs"] == ["location:default/" + chain[2]]


def test_unregistering_a_location_removes_its_entities(platform: Platform, shop: Path) -> None:
    location_id = register(platform, "file", str(shop))
    catalog = get_catalog(platform)
    catalog.remove_location(location_id)
    assert catalog.queries.list_entities() == []
    with pytest.raises(NotFoundError):
        catalog.get_location(location_id)


def test_file_targets_must_stay_under_the_roots(platform: Platform, tmp_path: Path) -> None:
    catalog = get_catalog(platform)
    with pytest.raises(NotAllowedError, match="outside the catalog file roots"):
        catalog.add_location("file", "/etc/passwd")
    # A symlink inside the root that points outside is refused too.
    (tmp_path / "escape.yaml").symlink_to("/etc/hostname")
    with pytest.raises(NotAllowedError):
        catalog.add_location("file", str(tmp_path / "escape.yaml"))
    with pytest.raises(InputError, match="no file matches"):
        catalog.add_location("file", str(tmp_path / "nothing-*.yaml"))


def test_placeholder_cannot_read_outside_the_roots(platform: Platform, tmp_path: Path) -> None:
    write(
        tmp_path / "sneaky.yaml",
        """
        apiVersion: backstage.io/v1alpha1
        kind: API
        metadata: {name: sneaky}
        spec:
          type: openapi
          lifecycle: production
          owner: team-a
          definition: {$text: ../../../../../../etc/passwd}
        """,
    )
    register(platform, "file", str(tmp_path / "sneaky.yaml"))
    catalog = get_catalog(platform)
    with pytest.raises(NotFoundError):
        entity(catalog, "api", "sneaky")
    assert any("outside the catalog file roots" in e["message"] for e in catalog.errors())


def test_location_registered_twice_is_a_conflict(platform: Platform, shop: Path) -> None:
    register(platform, "file", str(shop))
    with pytest.raises(ConflictError):
        get_catalog(platform).add_location("file", str(shop))


def test_dry_run_writes_nothing(platform: Platform, shop: Path) -> None:
    catalog = get_catalog(platform)
    result = catalog.add_location("file", str(shop), dry_run=True)
    names = sorted(e["metadata"]["name"] for e in result["entities"])
    assert "checkout" in names and "checkout-api" in names
    assert result["exists"] is False
    assert catalog.list_locations() == []
    assert catalog.queries.list_entities() == []


def test_git_location_with_ref_and_path(platform: Platform, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    write(
        repo / "catalog" / "catalog-info.yaml",
        """
        apiVersion: backstage.io/v1alpha1
        kind: API
        metadata: {name: git-api}
        spec:
          type: openapi
          lifecycle: production
          owner: team-a
          definition: {$text: ../openapi.yaml}
        """,
    )
    write(repo / "openapi.yaml", "openapi: 3.0.0\n")
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "first"], check=True)
    subprocess.run([*git, "branch", "release"], check=True)
    # main moves on; the location pins the release branch.
    (repo / "openapi.yaml").write_text("openapi: 3.1.0\n")
    subprocess.run([*git, "commit", "-qam", "second"], check=True)

    register(platform, "git", f"{repo}//catalog/catalog-info.yaml?ref=release")
    found = entity(get_catalog(platform), "api", "git-api")
    assert found["spec"]["definition"] == "openapi: 3.0.0\n"
    assert found["metadata"]["annotations"]["backstage.io/managed-by-location"].startswith("git:")


def test_entity_provider_full_and_delta_mutations(platform: Platform) -> None:
    catalog = get_catalog(platform)

    def group(name: str) -> dict[str, Any]:
        return {
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Group",
            "metadata": {"name": name},
            "spec": {"type": "team", "children": []},
        }

    catalog.processor.apply_provider_mutation("org-sync", full=[group("a"), group("b")])
    assert {e["metadata"]["name"] for e in catalog.queries.list_entities()} == {"a", "b"}
    catalog.processor.apply_provider_mutation(
        "org-sync", added=[group("c")], removed=["group:default/a"]
    )
    assert {e["metadata"]["name"] for e in catalog.queries.list_entities()} == {"b", "c"}
    catalog.processor.apply_provider_mutation("org-sync", full=[group("d")])
    assert {e["metadata"]["name"] for e in catalog.queries.list_entities()} == {"d"}


@pytest.fixture
def http_dir(tmp_path: Path) -> Any:
    """A real HTTP server on a free loopback port, serving a folder."""
    import functools
    import http.server
    import threading

    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_url_locations_are_fetched_only_from_allowed_hosts(
    make_settings: Any, http_dir: Any
) -> None:
    root, base = http_dir
    write(root / "catalog-info.yaml", SERVICE)
    write(root / "checkout.openapi.yaml", "openapi: 3.0.0\n")

    closed = Platform.create(make_settings())
    try:
        with pytest.raises(NotAllowedError, match="url_allowlist"):
            get_catalog(closed).add_location("url", f"{base}/catalog-info.yaml")
    finally:
        closed.close()

    platform = Platform.create(make_settings(**{"catalog.url_allowlist": ["127.0.0.1"]}))
    try:
        register(platform, "url", f"{base}/catalog-info.yaml")
        api = entity(get_catalog(platform), "api", "checkout-api")
        # $text resolved relative to the URL of the file that holds it.
        assert api["spec"]["definition"] == "openapi: 3.0.0\n"
    finally:
        platform.close()


class OrgSync:
    """A third-party entity provider, registered the way any plugin registers."""

    name = "org-sync"

    def __init__(self) -> None:
        self.connection: Any = None

    def connect(self, connection: Any) -> None:
        self.connection = connection
        connection.apply_mutation(
            full=[
                {
                    "apiVersion": "backstage.io/v1alpha1",
                    "kind": "User",
                    "metadata": {"name": "grace"},
                    "spec": {"memberOf": ["pioneers"]},
                }
            ]
        )


def test_plugin_entity_providers_are_connected_at_start(settings: Any) -> None:
    from goldpath.core.hookspecs import hookimpl
    from goldpath.core.plugins import build_plugin_manager

    provider = OrgSync()

    class Plugin:
        @hookimpl
        def goldpath_catalog_providers(self, platform: Platform) -> list[Any]:
            return [provider]

    pm = build_plugin_manager(load_entry_points=False)
    pm.register(Plugin(), name="org-sync-plugin")
    platform = Platform.create(settings, plugins=pm)
    try:
        platform.start()
        grace = get_catalog(platform).queries.by_name("user", "default", "grace")
        assert ("memberOf", "group:default/pioneers") in relations(grace)
        provider.connection.apply_mutation(removed=["user:default/grace"])
        with pytest.raises(NotFoundError):
            get_catalog(platform).queries.by_name("user", "default", "grace")
    finally:
        platform.close()


def test_facets_follow_catalog_changes(platform: Platform, shop: Path, tmp_path: Path) -> None:
    catalog = get_catalog(platform)

    def kinds() -> dict[str, int]:
        facets = catalog.queries.facets(["kind"])["facets"]["kind"]
        return {f["value"]: f["count"] for f in facets}

    assert kinds() == {}
    location_id = register(platform, "file", str(shop))
    assert kinds() == {"API": 1, "Component": 1, "Group": 1, "Location": 1}
    assert kinds() == {"API": 1, "Component": 1, "Group": 1, "Location": 1}  # served again
    catalog.remove_location(location_id)
    assert kinds() == {}


def test_plugins_hear_which_entities_changed_after_commit(settings: Any, shop: Path) -> None:
    from goldpath.core.hookspecs import hookimpl
    from goldpath.core.plugins import build_plugin_manager

    heard: list[tuple[list[str], list[str], bool]] = []

    class Listener:
        @hookimpl
        def goldpath_catalog_changed(
            self, platform: Platform, written: list[str], deleted: list[str]
        ) -> None:
            # Committed already: a fresh read sees the change.
            visible = [
                key for key in written if get_catalog(platform).queries.by_refs([key])["items"][0]
            ]
            heard.append((sorted(written), sorted(deleted), visible == written))

    pm = build_plugin_manager()
    pm.register(Listener(), name="listener")
    platform = Platform.create(settings, plugins=pm)
    try:
        location_id = register(platform, "file", str(shop))
        written = {key for batch in heard for key in batch[0]}
        assert {"component:default/checkout", "group:default/team-a"} <= written
        assert all(seen for _, _, seen in heard)

        heard.clear()
        catalog = get_catalog(platform)
        catalog.refresh_location_now(location_id)
        assert heard == []  # nothing changed, nothing to hear

        shop.write_text(textwrap.dedent(SERVICE).replace("Takes the money", "Takes it"))
        catalog.refresh_location_now(location_id)
        assert ["component:default/checkout"] in [w for w, _, _ in heard]

        heard.clear()
        checkout = entity(catalog, "component", "checkout")
        catalog.delete_entity_by_uid(checkout["metadata"]["uid"])
        assert ([], ["component:default/checkout"], True) in heard
    finally:
        platform.close()
