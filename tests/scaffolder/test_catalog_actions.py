"""catalog:register, catalog:write and catalog:fetch against a real catalog on both engines.

catalog:register reads ``url`` locations; a small HTTP server on loopback serves the files,
and its host is on ``catalog.url_allowlist``.
"""

from __future__ import annotations

import functools
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from goldpath.catalog.service import get_catalog
from goldpath.core.errors import InputError, NotAllowedError, NotFoundError
from goldpath.core.platform import Platform
from goldpath.scaffolder.actions.base import Action, ActionContext, TemplateInfo, UserInfo
from goldpath.scaffolder.actions.catalog import catalog_actions

ACTIONS = {a.id: a for a in catalog_actions()}

SERVICE = """
    apiVersion: backstage.io/v1alpha1
    kind: API
    metadata:
      name: svc-api
    spec: {type: openapi, lifecycle: production, owner: team-a, definition: openapi}
    ---
    apiVersion: backstage.io/v1alpha1
    kind: Component
    metadata:
      name: svc
      namespace: shop
    spec:
      type: service
      lifecycle: production
      owner: team-a
      providesApis: [svc-api]
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over HTTP on loopback, and its base URL."""
    root = tmp_path / "served"
    root.mkdir()
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def platform(make_settings: Any) -> Iterator[Platform]:
    p = Platform.create(make_settings(**{"catalog.url_allowlist": ["127.0.0.1"]}))
    try:
        yield p
    finally:
        p.close()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "workspace"
    ws.mkdir()
    return ws


Run = Callable[..., ActionContext]


@pytest.fixture
def run(platform: Platform, workspace: Path) -> Run:
    def run_action(
        action_id: str,
        action_input: dict[str, Any],
        *,
        logs: list[tuple[str, str]] | None = None,
        dry_run: bool = False,
        template_ref: str = "template:default/service",
    ) -> ActionContext:
        action = ACTIONS[action_id]
        # The engine validates input against the schema before calling the handler.
        jsonschema.validate(action_input, action.input_schema)
        ctx = ActionContext(
            platform=platform,
            task_id="task-1",
            step_id="step",
            action_id=action_id,
            input=action_input,
            workspace=workspace,
            secrets={},
            template=TemplateInfo(entity_ref=template_ref),
            user=UserInfo(ref="user:default/tester"),
            dry_run=dry_run,
            log=(lambda message, level: logs.append((level, message)))
            if logs is not None
            else None,
        )
        try:
            action.handler(ctx)
        finally:
            ctx.cleanup()
        jsonschema.validate(ctx.outputs, action.output_schema)
        return ctx

    return run_action


@pytest.mark.parametrize("action", list(ACTIONS.values()), ids=list(ACTIONS))
def test_schemas_and_examples(action: Action) -> None:
    jsonschema.Draft202012Validator.check_schema(action.input_schema)
    jsonschema.Draft202012Validator.check_schema(action.output_schema)
    assert action.description and action.supports_dry_run
    for prop in action.input_schema["properties"].values():
        assert prop.get("description")
    for example in action.examples:
        steps = yaml.safe_load(example["example"])["steps"]
        assert steps[0]["action"] == action.id
        jsonschema.validate(steps[0]["input"], action.input_schema)


# ------------------------------------------------------------------------------ register
def test_register_catalog_info_url(run: Run, platform: Platform, served: tuple[Path, str]) -> None:
    root, base = served
    write(root / "svc" / "catalog-info.yaml", SERVICE)
    url = f"{base}/svc/catalog-info.yaml"
    started = time.monotonic()
    ctx = run("catalog:register", {"catalogInfoUrl": url})
    # The Component wins over the API, whatever their order in the file.
    assert ctx.outputs == {"entityRef": "component:shop/svc", "catalogInfoUrl": url}
    # Processed before the step returned: both entities can be read at once.
    catalog = get_catalog(platform)
    found = catalog.queries.by_refs(["component:shop/svc", "api:default/svc-api"])["items"]
    assert time.monotonic() - started < 5
    assert [e["metadata"]["name"] for e in found] == ["svc", "svc-api"]
    assert found[0]["metadata"]["annotations"]["backstage.io/managed-by-location"] == f"url:{url}"
    assert [loc.target for loc in catalog.list_locations()] == [url]


def test_register_repo_contents_url(run: Run, platform: Platform, served: tuple[Path, str]) -> None:
    root, base = served
    write(root / "repo" / "blob" / "main" / "catalog-info.yaml", SERVICE)
    write(
        root / "repo" / "blob" / "main" / "docs" / "other.yaml",
        """
        apiVersion: backstage.io/v1alpha1
        kind: System
        metadata: {name: shop}
        spec: {owner: team-a}
        """,
    )
    contents = f"{base}/repo/blob/main"
    ctx = run("catalog:register", {"repoContentsUrl": contents})
    assert ctx.outputs == {
        "entityRef": "component:shop/svc",
        "catalogInfoUrl": f"{contents}/catalog-info.yaml",
    }
    ctx = run(
        "catalog:register",
        {"repoContentsUrl": contents + "/", "catalogInfoPath": "docs/other.yaml"},
    )
    assert ctx.outputs["entityRef"] == "system:default/shop"
    assert ctx.outputs["catalogInfoUrl"] == f"{contents}/docs/other.yaml"
    assert get_catalog(platform).queries.by_name("system", "default", "shop")["kind"] == "System"


def test_register_again_refreshes(run: Run, platform: Platform, served: tuple[Path, str]) -> None:
    root, base = served
    path = write(root / "catalog-info.yaml", SERVICE)
    url = f"{base}/catalog-info.yaml"
    run("catalog:register", {"catalogInfoUrl": url})
    path.write_text(path.read_text().replace("type: service", "type: website"))
    logs: list[tuple[str, str]] = []
    ctx = run("catalog:register", {"catalogInfoUrl": url}, logs=logs)
    assert ctx.outputs["entityRef"] == "component:shop/svc"
    assert any("already registered; refreshing it" in m for _, m in logs)
    catalog = get_catalog(platform)
    assert len(catalog.list_locations()) == 1
    assert catalog.queries.by_name("component", "shop", "svc")["spec"]["type"] == "website"


def test_register_failure(run: Run, platform: Platform, served: tuple[Path, str]) -> None:
    root, base = served
    write(root / "broken.yaml", "kind: Component\nmetadata: {name: 'not ok!'}\n")
    for url in (f"{base}/missing.yaml", f"{base}/broken.yaml"):
        with pytest.raises(InputError, match="Failed to register"):
            run("catalog:register", {"catalogInfoUrl": url})
    # Nothing half-done is left: the locations that could not be read are gone again.
    assert get_catalog(platform).list_locations() == []
    # An entity another location already holds is a conflict; that location keeps it.
    catalog = get_catalog(platform)
    first = write(root / "first" / "catalog-info.yaml", SERVICE)
    catalog.refresh_location_now(catalog.add_location("file", str(first))["location"]["id"])
    copy = write(root / "copy.yaml", SERVICE)
    with pytest.raises(InputError, match="already"):
        run("catalog:register", {"catalogInfoUrl": f"{base}/{copy.name}"})
    assert [loc.type for loc in catalog.list_locations()] == ["file"]
    holder = catalog.location_by_entity("component", "shop", "svc")
    assert holder.target == str(first)
    with pytest.raises(NotAllowedError):
        run("catalog:register", {"catalogInfoUrl": "http://example.com/catalog-info.yaml"})


def test_register_optional_failure_is_logged(
    run: Run, platform: Platform, served: tuple[Path, str]
) -> None:
    _, base = served
    logs: list[tuple[str, str]] = []
    url = f"{base}/missing.yaml"
    ctx = run("catalog:register", {"catalogInfoUrl": url, "optional": True}, logs=logs)
    assert ctx.outputs == {"catalogInfoUrl": url}
    assert any(level == "warn" and "Could not register" in m for level, m in logs)
    ctx = run(
        "catalog:register",
        {"catalogInfoUrl": "http://example.com/x.yaml", "optional": True},
    )
    assert ctx.outputs == {"catalogInfoUrl": "http://example.com/x.yaml"}
    assert get_catalog(platform).list_locations() == []


def test_register_dry_run(
    run: Run, platform: Platform, workspace: Path, served: tuple[Path, str]
) -> None:
    _, base = served
    logs: list[tuple[str, str]] = []
    contents = f"{base}/repo/blob/main"
    ctx = run("catalog:register", {"repoContentsUrl": contents}, dry_run=True, logs=logs)
    assert ctx.outputs == {"catalogInfoUrl": f"{contents}/catalog-info.yaml"}
    assert logs[0][1].startswith("Dry run: would register")
    write(workspace / "catalog-info.yaml", SERVICE)
    ctx = run("catalog:register", {"repoContentsUrl": contents}, dry_run=True)
    assert ctx.outputs["entityRef"] == "component:shop/svc"
    write(workspace / "sub" / "entity.yaml", "kind: Group\nmetadata: {name: team-a}\n")
    ctx = run(
        "catalog:register",
        {"catalogInfoUrl": f"{base}/x/entity.yaml", "catalogInfoPath": "sub/entity.yaml"},
        dry_run=True,
    )
    assert ctx.outputs["entityRef"] == "group:default/team-a"
    assert get_catalog(platform).list_locations() == []


# ------------------------------------------------------------------------------ write
def test_write_round_trip(run: Run, workspace: Path) -> None:
    entity: dict[str, Any] = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "svc", "annotations": {"a": "b"}, "title": "Svc ✓"},
        "spec": {"type": "service", "owner": "team-a", "lifecycle": "production"},
    }
    run("catalog:write", {"entity": entity})
    text = (workspace / "catalog-info.yaml").read_text(encoding="utf-8")
    written = yaml.safe_load(text)
    assert list(written) == ["apiVersion", "kind", "metadata", "spec"]
    assert list(written["metadata"]) == ["name", "annotations", "title"]
    assert written["metadata"]["annotations"] == {
        "a": "b",
        "backstage.io/source-template": "template:default/service",
    }
    assert written["spec"] == entity["spec"] and "Svc ✓" in text
    # The input is not changed by the annotation.
    assert entity["metadata"]["annotations"] == {"a": "b"}


def test_write_file_path_and_escapes(run: Run, workspace: Path) -> None:
    entity = {"kind": "Group", "metadata": {"name": "team-a"}}
    run("catalog:write", {"filePath": "deploy/group.yaml", "entity": entity}, dry_run=True)
    assert yaml.safe_load((workspace / "deploy" / "group.yaml").read_text()) == {
        "kind": "Group",
        "metadata": {
            "name": "team-a",
            "annotations": {"backstage.io/source-template": "template:default/service"},
        },
    }
    run("catalog:write", {"entity": {"kind": "Group"}}, template_ref="")
    assert yaml.safe_load((workspace / "catalog-info.yaml").read_text()) == {"kind": "Group"}
    for path in ("../catalog-info.yaml", "/tmp/catalog-info.yaml"):
        with pytest.raises(NotAllowedError):
            run("catalog:write", {"filePath": path, "entity": entity})


# ------------------------------------------------------------------------------ fetch
@pytest.fixture
def registered(platform: Platform, tmp_path: Path) -> None:
    path = write(tmp_path / "entities" / "catalog-info.yaml", SERVICE)
    catalog = get_catalog(platform)
    location = catalog.add_location("file", str(path), refresh=False)["location"]
    catalog.refresh_location_now(location["id"])


@pytest.mark.usefixtures("registered")
def test_fetch_single(run: Run) -> None:
    ctx = run("catalog:fetch", {"entityRef": "component:shop/svc"})
    assert ctx.outputs["entity"]["metadata"]["name"] == "svc"
    assert ctx.outputs["entity"]["relations"]
    ctx = run(
        "catalog:fetch",
        {"entityRef": "svc", "defaultKind": "Component", "defaultNamespace": "shop"},
    )
    assert ctx.outputs["entity"]["kind"] == "Component"
    with pytest.raises(NotFoundError, match="Entity component:default/svc not found"):
        run("catalog:fetch", {"entityRef": "component:default/svc"})
    ctx = run("catalog:fetch", {"entityRef": "component:default/svc", "optional": True})
    assert ctx.outputs == {"entity": None}
    with pytest.raises(InputError):
        run("catalog:fetch", {"entityRef": "svc"})


@pytest.mark.usefixtures("registered")
def test_fetch_list(run: Run) -> None:
    ctx = run(
        "catalog:fetch", {"entityRefs": ["component:shop/svc", "svc-api"], "defaultKind": "API"}
    )
    assert [e["metadata"]["name"] for e in ctx.outputs["entities"]] == ["svc", "svc-api"]
    with pytest.raises(NotFoundError, match="Entity api:default/nope not found"):
        run("catalog:fetch", {"entityRefs": ["svc-api", "api:default/nope"], "defaultKind": "api"})
    ctx = run(
        "catalog:fetch",
        {"entityRefs": ["api:default/nope", "api:default/svc-api"], "optional": True},
    )
    assert ctx.outputs["entities"][0] is None
    assert ctx.outputs["entities"][1]["metadata"]["name"] == "svc-api"


def test_fetch_without_refs(run: Run) -> None:
    with pytest.raises(InputError, match="Missing entity reference or references"):
        run("catalog:fetch", {})
    assert run("catalog:fetch", {"optional": True}).outputs == {}
