"""``catalog:register``, ``catalog:write`` and ``catalog:fetch``.

Inputs, outputs and errors follow Backstage's scaffolder-backend
(``actions/builtin/catalog/register.ts``, ``write.ts`` and ``fetch.ts``), with two goldpath
choices in ``catalog:register``:

- the location is processed before the step ends, so the entity can be read (and the link in
  the template's output followed) as soon as the task is done;
- an already registered location is refreshed, not refused, so that a task resumed after a
  crash or run again finds the entity instead of failing on its own earlier registration.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from goldpath.catalog.refs import entity_ref_of, parse_entity_ref
from goldpath.catalog.service import CatalogService, get_catalog
from goldpath.core.errors import ConflictError, GoldpathError, InputError, NotFoundError
from goldpath.scaffolder.actions.base import Action, ActionContext

try:
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

DEFAULT_CATALOG_INFO_PATH = "/catalog-info.yaml"
SOURCE_TEMPLATE_ANNOTATION = "backstage.io/source-template"


def _optional_text(ctx: ActionContext, name: str) -> str | None:
    value = ctx.input.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string", where=name)
    return value


def pick_entity_ref(entities: Iterable[Mapping[str, Any]]) -> str | None:
    """The entity a registration is about, by Backstage's preference.

    A Component first, then any entity that is not a generated Location, then whatever there
    is. Ties go to kind and name order, so the answer does not depend on storage order.
    """
    candidates = sorted(
        (
            (str(entity.get("kind", "")), str((entity.get("metadata") or {}).get("name", ""))),
            entity,
        )
        for entity in entities
        if isinstance(entity, Mapping)
    )
    if not candidates:
        return None

    def generated(entity: Mapping[str, Any]) -> bool:
        return str((entity.get("metadata") or {}).get("name", "")).startswith("generated-")

    ordered = [e for _, e in candidates]
    chosen = (
        next((e for e in ordered if e.get("kind") == "Component" and not generated(e)), None)
        or next(
            (e for e in ordered if e.get("kind") != "Location" and not generated(e)),
            None,
        )
        or next((e for e in ordered if not generated(e)), None)
        or ordered[0]
    )
    try:
        return str(entity_ref_of(chosen))
    except InputError:
        return None


# ------------------------------------------------------------------------------- register
def catalog_info_url(ctx: ActionContext) -> str:
    """``catalogInfoUrl``, or ``catalogInfoPath`` (default ``/catalog-info.yaml``) resolved
    against ``repoContentsUrl``.

    A path is taken from the contents URL (which ``publish:*`` actions point at the
    repository's root on the default branch), with or without a leading ``/``; an absolute
    URL is used as it is.
    """
    url = _optional_text(ctx, "catalogInfoUrl")
    if url:
        return url
    contents = _optional_text(ctx, "repoContentsUrl")
    if not contents:
        raise InputError(
            "catalog:register needs catalogInfoUrl, or repoContentsUrl (and catalogInfoPath)",
            where="input",
        )
    path = _optional_text(ctx, "catalogInfoPath") or DEFAULT_CATALOG_INFO_PATH
    if urlsplit(path).scheme in ("http", "https"):
        return path
    parts = urlsplit(contents)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(
            f"repoContentsUrl must be an absolute http(s) URL, not {contents!r}",
            where="repoContentsUrl",
        )
    joined = parts.path.rstrip("/") + "/" + path.lstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, joined, parts.query, ""))


def _dry_run_entity_ref(ctx: ActionContext, url: str) -> str | None:
    """The ref of the entity the workspace's copy of the file describes, if it is there."""
    path = _optional_text(ctx, "catalogInfoPath")
    if path is None:
        name = urlsplit(url).path.rsplit("/", 1)[-1]
        path = name if name.endswith((".yaml", ".yml")) else DEFAULT_CATALOG_INFO_PATH
    if urlsplit(path).scheme:
        return None
    try:
        target = ctx.resolve_path(path.lstrip("/") or ".", what="catalogInfoPath")
        if not target.is_file():
            return None
        documents = list(yaml.load_all(target.read_text(encoding="utf-8"), Loader=_SafeLoader))
    except (GoldpathError, OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        ctx.log(f"Dry run: could not read {path} from the workspace: {exc}", "warn")
        return None
    return pick_entity_ref(d for d in documents if isinstance(d, Mapping))


def _register_now(ctx: ActionContext, catalog: CatalogService, url: str) -> str | None:
    """Register (or refresh) the location, process it now, and return the entity's ref."""
    existing = catalog.find_location("url", url)
    created = False
    if existing is None:
        try:
            location_id = str(catalog.add_location("url", url, refresh=False)["location"]["id"])
            created = True
        except ConflictError:
            # Registered by someone else between the lookup and the insert.
            existing = catalog.find_location("url", url)
            if existing is None:
                raise
    if existing is not None:
        ctx.log(f"{url} is already registered; refreshing it")
        location_id = existing.id
    report = catalog.refresh_location_now(location_id)
    if report.errors:
        if created:
            # Nothing half-done stays behind: a location that cannot be read is taken back.
            catalog.remove_location(location_id)
        first = report.errors[0]
        raise InputError(
            f"Failed to register {url}: {first.get('message')}",
            where=str(first.get("where") or url),
            details=report.errors,
        )
    return pick_entity_ref(catalog.entities_at("url", url))


def _register(ctx: ActionContext) -> None:
    url = catalog_info_url(ctx)
    optional = bool(ctx.input.get("optional", False))
    if ctx.dry_run:
        ctx.log(f"Dry run: would register {url} in the catalog")
        ref = _dry_run_entity_ref(ctx, url)
        if ref:
            ctx.output("entityRef", ref)
        ctx.output("catalogInfoUrl", url)
        return
    ctx.log(f"Registering {url} in the catalog")
    ref = None
    try:
        ref = _register_now(ctx, get_catalog(ctx.platform), url)
    except GoldpathError as exc:
        if not optional:
            raise
        ctx.log(f"Could not register {url}; it is optional, so carrying on: {exc}", "warn")
    if ref:
        ctx.output("entityRef", ref)
        ctx.log(f"Registered {ref}")
    ctx.output("catalogInfoUrl", url)


# ------------------------------------------------------------------------------- write
def with_source_template(entity: Mapping[str, Any], template_ref: str | None) -> dict[str, Any]:
    """The entity with ``backstage.io/source-template`` set to the template's ref.

    Keys keep their order; a ``metadata`` or ``annotations`` missing is added at the end.
    """
    if not template_ref:
        return dict(entity)
    metadata = entity.get("metadata")
    metadata = dict(metadata) if isinstance(metadata, Mapping) else {}
    annotations = metadata.get("annotations")
    annotations = dict(annotations) if isinstance(annotations, Mapping) else {}
    annotations[SOURCE_TEMPLATE_ANNOTATION] = template_ref
    metadata["annotations"] = annotations
    return {**entity, "metadata": metadata}


def _write(ctx: ActionContext) -> None:
    path = _optional_text(ctx, "filePath") or "catalog-info.yaml"
    entity = ctx.input.get("entity")
    if not isinstance(entity, Mapping):
        raise InputError("entity must be an object", where="entity")
    target = ctx.resolve_path(path, what="filePath")
    if target.is_dir():
        raise InputError(f"filePath {path!r} is a folder", where="filePath")
    try:
        text = yaml.safe_dump(
            with_source_template(entity, ctx.template.entity_ref),
            sort_keys=False,
            allow_unicode=True,
            default_flow_style=False,
        )
    except yaml.YAMLError as exc:
        raise InputError(f"entity cannot be written as YAML: {exc}", where="entity") from exc
    ctx.log(f"Writing {path}")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Written beside and moved into place, so a reader never sees half a file.
    partial = target.with_name(f".{target.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, target)


# ------------------------------------------------------------------------------- fetch
def _fetch(ctx: ActionContext) -> None:
    single = ctx.input.get("entityRef")
    many = ctx.input.get("entityRefs")
    optional = bool(ctx.input.get("optional", False))
    default_kind = _optional_text(ctx, "defaultKind")
    default_namespace = _optional_text(ctx, "defaultNamespace") or "default"
    if not single and not many:
        if optional:
            return
        raise InputError("Missing entity reference or references", where="entityRef")
    if single is not None and not isinstance(single, str):
        raise InputError("entityRef must be a string", where="entityRef")
    if many is not None and (
        not isinstance(many, list) or not all(isinstance(r, str) for r in many)
    ):
        raise InputError("entityRefs must be an array of strings", where="entityRefs")
    refs: list[str] = ([single] if single else []) + list(many or [])
    keys = [
        parse_entity_ref(ref, default_kind=default_kind, default_namespace=default_namespace).key
        for ref in refs
    ]
    items: list[Any] = get_catalog(ctx.platform).queries.by_refs(keys)["items"]
    if not optional:
        for ref, item in zip(refs, items, strict=True):
            if item is None:
                raise NotFoundError(f"Entity {ref} not found", where=ref)
    if single:
        ctx.output("entity", items[0])
        items = items[1:]
    if many is not None:
        ctx.output("entities", items)


# ------------------------------------------------------------------------------- schemas
def _example(action: str, step_id: str, name: str, inputs: str) -> str:
    return (
        f"steps:\n  - action: {action}\n    id: {step_id}\n    name: {name}\n    input:\n{inputs}"
    )


_OPTIONAL_REGISTER = {
    "type": "boolean",
    "description": "Permit the registered location to optionally exist. Default: false. "
    "When true, a failure to register is logged and the step carries on.",
    "default": False,
}

REGISTER = Action(
    "catalog:register",
    _register,
    description="Registers entities from a catalog descriptor file in the workspace into the "
    "software catalog.",
    input_schema={
        "type": "object",
        "properties": {
            "catalogInfoUrl": {
                "title": "Catalog Info URL",
                "description": "An absolute URL pointing to the catalog info file location",
                "type": "string",
            },
            "repoContentsUrl": {
                "title": "Repository Contents URL",
                "description": "An absolute URL pointing to the root of a repository "
                "directory tree",
                "type": "string",
            },
            "catalogInfoPath": {
                "title": "Fetch URL",
                "description": "A relative path from the repo root pointing to the catalog "
                "info file, defaults to /catalog-info.yaml",
                "type": "string",
            },
            "optional": _OPTIONAL_REGISTER,
        },
        "anyOf": [{"required": ["catalogInfoUrl"]}, {"required": ["repoContentsUrl"]}],
    },
    output_schema={
        "type": "object",
        "properties": {
            "entityRef": {
                "type": "string",
                "description": "Ref of the entity registered (a Component if the file has "
                "one), e.g. component:default/my-service",
            },
            "catalogInfoUrl": {
                "type": "string",
                "description": "The URL of the catalog info file that was registered",
            },
        },
    },
    examples=[
        {
            "description": "Register with the catalog",
            "example": _example(
                "catalog:register",
                "register-with-catalog",
                "Register with the catalog",
                "      catalogInfoUrl: "
                "http://github.com/backstage/backstage/blob/master/catalog-info.yaml\n",
            ),
        },
        {
            "description": "Register what a publish step pushed",
            "example": _example(
                "catalog:register",
                "register",
                "Register",
                "      repoContentsUrl: ${{ steps['publish'].output.repoContentsUrl }}\n"
                "      catalogInfoPath: /catalog-info.yaml\n",
            ),
        },
    ],
    supports_dry_run=True,
)

WRITE = Action(
    "catalog:write",
    _write,
    description="Writes the catalog-info.yaml for your template",
    input_schema={
        "type": "object",
        "required": ["entity"],
        "properties": {
            "filePath": {
                "type": "string",
                "description": "Defaults to catalog-info.yaml",
            },
            "entity": {
                "type": "object",
                "description": "You can provide the same values used in the Entity schema. "
                "The template's ref is added as the backstage.io/source-template annotation.",
            },
        },
    },
    output_schema={"type": "object", "properties": {}},
    examples=[
        {
            "description": "Write a catalog yaml file",
            "example": _example(
                "catalog:write",
                "create-catalog-info-file",
                "Create catalog file",
                "      entity:\n"
                "        apiVersion: backstage.io/v1alpha1\n"
                "        kind: Component\n"
                "        metadata:\n"
                "          name: test\n"
                "          annotations: {}\n"
                "        spec:\n"
                "          type: service\n"
                "          lifecycle: production\n"
                "          owner: default/owner\n",
            ),
        }
    ],
    supports_dry_run=True,
)

FETCH = Action(
    "catalog:fetch",
    _fetch,
    description="Returns entity or entities from the catalog by entity reference(s)",
    input_schema={
        "type": "object",
        "properties": {
            "entityRef": {
                "type": "string",
                "description": "Entity reference of the entity to get",
            },
            "entityRefs": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Entity references of the entities to get",
            },
            "optional": {
                "type": "boolean",
                "description": "Allow the entity or entities to optionally exist. Default: false",
                "default": False,
            },
            "defaultKind": {"type": "string", "description": "The default kind"},
            "defaultNamespace": {"type": "string", "description": "The default namespace"},
        },
    },
    output_schema={
        "type": "object",
        "properties": {
            "entity": {
                "type": ["object", "null"],
                "description": "Object containing same values used in the Entity schema. "
                "Only when used with `entityRef` parameter.",
            },
            "entities": {
                "type": "array",
                "items": {"type": ["object", "null"]},
                "description": "Array containing objects with same values used in the Entity "
                "schema. Only when used with `entityRefs` parameter.",
            },
        },
    },
    examples=[
        {
            "description": "Fetch entity by reference",
            "example": _example(
                "catalog:fetch",
                "fetch",
                "Fetch catalog entity",
                "      entityRef: component:default/name\n",
            ),
        },
        {
            "description": "Fetch multiple entities by reference",
            "example": _example(
                "catalog:fetch",
                "fetchMultiple",
                "Fetch catalog entities",
                "      entityRefs:\n        - component:default/name\n",
            ),
        },
    ],
    supports_dry_run=True,
)


def catalog_actions() -> list[Action]:
    return [REGISTER, WRITE, FETCH]
