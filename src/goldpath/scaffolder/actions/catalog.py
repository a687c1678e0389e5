"""``catalog:register``, ``catalog:write`` and ``catalog:fetch``."""

from __future__ import annotations

from typing import Any

import yaml

from goldpath.catalog.refs import parse_entity_ref
from goldpath.catalog.service import get_catalog
from goldpath.core.errors import GoldpathError, InputError, NotFoundError
from goldpath.scaffolder.actions.base import Action, ActionContext


def _register_url(ctx: ActionContext) -> str:
    url = ctx.input.get("catalogInfoUrl")
    if url:
        return str(url)
    contents = ctx.input.get("repoContentsUrl")
    if not contents:
        raise InputError(
            "give catalogInfoUrl, or repoContentsUrl and catalogInfoPath", where="input"
        )
    path = str(ctx.input.get("catalogInfoPath") or "/catalog-info.yaml")
    return str(contents).rstrip("/") + "/" + path.lstrip("/")


def _entity_ref_from_workspace(ctx: ActionContext, path: str) -> str | None:
    target = ctx.resolve_path(path.lstrip("/"))
    if not target.is_file():
        return None
    for doc in yaml.safe_load_all(target.read_text()):
        if isinstance(doc, dict) and doc.get("kind") and doc.get("kind") != "Location":
            meta = doc.get("metadata") or {}
            return (
                f"{str(doc['kind']).lower()}:{meta.get('namespace', 'default')}/{meta.get('name')}"
            )
    return None


def _register(ctx: ActionContext) -> None:
    url = _register_url(ctx)
    ctx.output("catalogInfoUrl", url)
    if ctx.dry_run:
        ctx.log(f"Dry run: would register {url} in the catalog")
        ref = _entity_ref_from_workspace(ctx, str(ctx.input.get("catalogInfoPath") or ""))
        if ref:
            ctx.output("entityRef", ref)
        return
    catalog = get_catalog(ctx.platform)
    try:
        location = catalog.find_location("url", url)
        if location is None:
            ctx.log(f"Registering {url} in the catalog")
            catalog.add_location("url", url, refresh=False)
            location = catalog.find_location("url", url)
            assert location is not None
        else:
            ctx.log(f"{url} is already registered; refreshing it")
        # Processed now, not by a background task: the next step (or the user following the
        # output link) must find the entity.
        report = catalog.refresh_location_now(location.id)
    except GoldpathError as exc:
        if ctx.input.get("optional"):
            ctx.log(f"Could not register {url} (optional, so continuing): {exc}", "warn")
            return
        raise
    if report.errors and not ctx.input.get("optional"):
        first = report.errors[0]
        raise InputError(
            f"the catalog could not read {url}: {first.get('message')}",
            where=str(first.get("where") or url),
        )
    entities = catalog.entities_at("url", url)
    entities.sort(key=lambda e: (e.get("kind") == "Location", e["metadata"]["name"]))
    if entities:
        first_entity = entities[0]
        meta = first_entity["metadata"]
        ref = f"{first_entity['kind'].lower()}:{meta.get('namespace', 'default')}/{meta['name']}"
        ctx.output("entityRef", ref)
        ctx.log(f"Registered {ref}")


def _write(ctx: ActionContext) -> None:
    path = str(ctx.input.get("filePath") or "catalog-info.yaml")
    target = ctx.resolve_path(path, what="filePath")
    entity = ctx.input.get("entity")
    if not isinstance(entity, dict):
        raise InputError("entity must be an object", where="entity")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(entity, sort_keys=False, allow_unicode=True))
    ctx.log(f"Wrote {path}")


def _fetch(ctx: ActionContext) -> None:
    optional = bool(ctx.input.get("optional"))
    default_kind = ctx.input.get("defaultKind")
    default_namespace = ctx.input.get("defaultNamespace") or "default"
    single = ctx.input.get("entityRef")
    many = ctx.input.get("entityRefs")
    if (single is None) == (many is None):
        raise InputError("give exactly one of entityRef or entityRefs", where="input")
    refs = [single] if single is not None else list(many or [])
    keys = [
        parse_entity_ref(str(r), default_kind=default_kind, default_namespace=default_namespace).key
        for r in refs
    ]
    items: list[Any] = get_catalog(ctx.platform).queries.by_refs(keys)["items"]
    missing = [r for r, item in zip(refs, items, strict=True) if item is None]
    if missing and not optional:
        raise NotFoundError(f"no entity {', '.join(map(str, missing))} in the catalog")
    if single is not None:
        if items[0] is not None:
            ctx.output("entity", items[0])
    else:
        ctx.output("entities", items)


def catalog_actions() -> list[Action]:
    return [
        Action(
            "catalog:register",
            _register,
            description="Registers a catalog-info.yaml with the catalog and processes it at "
            "once; outputs the ref of the entity it holds.",
            input_schema={
                "type": "object",
                "properties": {
                    "catalogInfoUrl": {
                        "type": "string",
                        "description": "URL of the catalog-info.yaml to register.",
                    },
                    "repoContentsUrl": {
                        "type": "string",
                        "description": "URL of the repository's contents (publish:* output).",
                    },
                    "catalogInfoPath": {
                        "type": "string",
                        "description": "Path in the repository; default /catalog-info.yaml.",
                    },
                    "optional": {
                        "type": "boolean",
                        "description": "A failure to register is logged, not fatal.",
                    },
                },
                "oneOf": [
                    {"required": ["catalogInfoUrl"]},
                    {"required": ["repoContentsUrl"]},
                ],
            },
            output_schema={
                "type": "object",
                "properties": {
                    "entityRef": {"type": "string"},
                    "catalogInfoUrl": {"type": "string"},
                },
            },
            examples=[
                {
                    "description": "Register what publish:git pushed",
                    "example": "steps:\n  - action: catalog:register\n    id: register\n"
                    "    input:\n      repoContentsUrl: ${{ steps.publish.output.repoContentsUrl "
                    "}}\n      catalogInfoPath: /catalog-info.yaml\n",
                }
            ],
            supports_dry_run=True,
        ),
        Action(
            "catalog:write",
            _write,
            description="Writes an entity as YAML (catalog-info.yaml) into the workspace.",
            input_schema={
                "type": "object",
                "required": ["entity"],
                "properties": {
                    "filePath": {"type": "string", "description": "Default catalog-info.yaml."},
                    "entity": {"type": "object", "description": "The entity to write."},
                },
            },
            supports_dry_run=True,
        ),
        Action(
            "catalog:fetch",
            _fetch,
            description="Reads entities from the catalog by ref.",
            input_schema={
                "type": "object",
                "properties": {
                    "entityRef": {"type": "string"},
                    "entityRefs": {"type": "array", "items": {"type": "string"}},
                    "optional": {"type": "boolean"},
                    "defaultKind": {"type": "string"},
                    "defaultNamespace": {"type": "string"},
                },
            },
            output_schema={
                "type": "object",
                "properties": {
                    "entity": {"type": "object"},
                    "entities": {"type": "array", "items": {"type": ["object", "null"]}},
                },
            },
            supports_dry_run=True,
        ),
    ]
