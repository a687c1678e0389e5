"""The entity page's built-in tabs. They register through ``goldpath_entity_tabs`` (see
``catalog.plugin``) exactly as a third party's tabs do; deciding whether a tab applies reads
only the entity, so only the tab being shown costs anything."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from markupsafe import Markup

from goldpath.catalog import definitions, graph, links
from goldpath.catalog import model as m
from goldpath.catalog.service import get_catalog
from goldpath.core.errors import GoldpathError
from goldpath.core.logging import get_logger
from goldpath.web.pages import templates

if TYPE_CHECKING:
    from fastapi import Request

    from goldpath.core.platform import Platform

log = get_logger("goldpath.catalog.pages")
Entity = Mapping[str, Any]
Tab = dict[str, Any]

ANNOTATION_SOURCE_TEMPLATE = "backstage.io/source-template"
ANNOTATION_TEMPLATE = "goldpath.dev/template"
ANNOTATION_TEMPLATE_VERSION = "goldpath.dev/template-version"
#: Shown first on the overview, in this order; the rest are folded away.
KEY_ANNOTATIONS = (
    m.ANNOTATION_TECHDOCS_REF,
    m.ANNOTATION_SOURCE_LOCATION,
    m.ANNOTATION_VIEW_URL,
    m.ANNOTATION_EDIT_URL,
    m.ANNOTATION_LOCATION,
    m.ANNOTATION_ORIGIN_LOCATION,
    ANNOTATION_SOURCE_TEMPLATE,
    ANNOTATION_TEMPLATE,
    ANNOTATION_TEMPLATE_VERSION,
)
#: Relation targets listed per type on the overview; the rest are counted.
MAX_LISTED = 50
#: Relation types whose full list is a catalog filter (owner=...).
LIST_FILTERS = {m.RELATION_OWNER_OF: "owner"}


def render(name: str, **context: Any) -> Markup:
    return Markup(templates.env.get_template(name).render(**context))  # noqa: S704 - Jinja escapes


def _platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def _spec(entity: Entity) -> Mapping[str, Any]:
    spec = entity.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _annotations(entity: Entity) -> dict[str, str]:
    found = (entity.get("metadata") or {}).get("annotations")
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, Mapping) else {}


# ------------------------------------------------------------------------- overview
def _annotation_row(entity: Entity, key: str, value: str) -> dict[str, Any]:
    href: str | None = None
    if key in (m.ANNOTATION_LOCATION, m.ANNOTATION_ORIGIN_LOCATION, m.ANNOTATION_SOURCE_LOCATION):
        href = links.location_url(value)
    elif key in (m.ANNOTATION_VIEW_URL, m.ANNOTATION_EDIT_URL):
        href = links.safe_url(value)
    elif key in (ANNOTATION_SOURCE_TEMPLATE, ANNOTATION_TEMPLATE) and ":" in value:
        href = links.entity_href(value)
    elif key == m.ANNOTATION_TECHDOCS_REF:
        kind, namespace, name = links.split_ref(links.ref_of(entity))
        href = f"/docs/{namespace}/{kind}/{name}/".lower()
    return {"key": key, "value": value, "href": href}


def relation_groups(entity: Entity) -> list[dict[str, Any]]:
    grouped: dict[str, list[str]] = {}
    for relation in entity.get("relations") or []:
        if isinstance(relation, Mapping) and isinstance(relation.get("targetRef"), str):
            grouped.setdefault(str(relation.get("type")), []).append(relation["targetRef"])
    ref = links.ref_of(entity)
    out = []
    for type_, refs in sorted(grouped.items()):
        refs = sorted(set(refs), key=lambda r: (links.kind_of(r), r.lower()))
        filter_param = LIST_FILTERS.get(type_)
        out.append(
            {
                "type": type_,
                "count": len(refs),
                "targets": [
                    {"ref": r, "href": links.entity_href(r), "label": links.humanize(r)}
                    for r in refs[:MAX_LISTED]
                ],
                "more": max(0, len(refs) - MAX_LISTED),
                "all_href": f"/catalog?{urlencode({filter_param: ref})}" if filter_param else None,
            }
        )
    return out


def overview(request: Request, entity: Entity) -> str:
    annotations = _annotations(entity)
    key_rows = [
        _annotation_row(entity, k, annotations[k]) for k in KEY_ANNOTATIONS if k in annotations
    ]
    other_rows = [
        _annotation_row(entity, k, v)
        for k, v in sorted(annotations.items())
        if k not in KEY_ANNOTATIONS
    ]
    status = links.mapping(entity.get("status"))
    meta = links.mapping(entity.get("metadata"))
    return render(
        "catalog_tab_overview.html",
        entity=entity,
        description=links.text(meta.get("description")),
        key_annotations=key_rows,
        other_annotations=other_rows,
        relations=relation_groups(entity),
        errors=[i for i in status.get("items") or [] if isinstance(i, Mapping)],
        links=links.entity_links(entity),
        labels=links.mapping(meta.get("labels")),
    )


# ------------------------------------------------------------------------- dependencies
def dependencies(request: Request, entity: Entity) -> str:
    raw = request.query_params.get("depth", "1")
    depth = int(raw) if raw in ("1", "2") else 1
    queries = get_catalog(_platform(request)).queries
    drawn = graph.dependency_graph(queries, entity, depth)
    base = links.entity_href(links.ref_of(entity)) + "?tab=dependencies"
    return render(
        "catalog_tab_graph.html",
        entity=entity,
        title=links.display_name(entity),
        graph=drawn,
        nodes={n.ref: n for n in drawn.nodes},
        depth_links=[(d, f"{base}&depth={d}") for d in (1, 2)],
        humanize=links.humanize,
        href=links.entity_href,
        NODE_W=graph.NODE_W,
        NODE_H=graph.NODE_H,
    )


# ------------------------------------------------------------------------- API definition
def api_definition(request: Request, entity: Entity) -> str:
    api_type, text = definitions.definition_of(entity)
    return render(
        "catalog_tab_api.html",
        api_type=api_type,
        swagger=api_type == "openapi",
        definition_url=links.entity_href(links.ref_of(entity)) + "/definition",
        highlighted=definitions.highlight(text, api_type),
        language=definitions.language(api_type, text),
        swagger_js=definitions.SWAGGER_JS,
        swagger_css=definitions.SWAGGER_CSS,
    )


# ------------------------------------------------------------------------- docs
def docs(request: Request, entity: Entity) -> str:
    """The entity's TechDocs: status and table of contents from the docs service when it
    runs here, else a link to where they are served."""
    kind, namespace, name = links.split_ref(links.ref_of(entity))
    href = f"/docs/{namespace}/{kind}/{name}/".lower()
    service = _platform(request).services.get("docs")
    status: dict[str, Any] | None = None
    toc: list[dict[str, Any]] = []
    problem = None
    if service is not None:
        try:
            status = service.status(kind, namespace, name)
            if status.get("metadata") is not None:
                toc = _toc(service, (kind, namespace, name), href)
        except GoldpathError as exc:
            problem = str(exc)
    return render(
        "catalog_tab_docs.html",
        href=href,
        ref_value=_annotations(entity).get(m.ANNOTATION_TECHDOCS_REF, ""),
        status=status,
        toc=toc,
        problem=problem,
    )


def _toc(service: Any, ref: tuple[str, str, str], base: str) -> list[dict[str, Any]]:
    from goldpath.core import jsonutil
    from goldpath.docs.model import SITE_INFO

    raw = service.read(*ref, SITE_INFO)
    site = jsonutil.loads(raw) if raw else {}

    def walk(items: Any) -> list[dict[str, Any]]:
        out = []
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, Mapping):
                continue
            entry: dict[str, Any] = {"title": item.get("title") or ""}
            if "children" in item:
                entry["children"] = walk(item["children"])
            elif item.get("external"):
                entry["href"] = links.safe_url(item.get("url"))
            else:
                entry["href"] = base + str(item.get("url") or "")
            out.append(entry)
        return out

    return walk(site.get("nav"))


# ------------------------------------------------------------------------- registration
def _tab(id_: str, title: str, order: int, fn: Callable[[Request, Entity], str]) -> Tab:
    return {"id": id_, "title": title, "order": order, "render": fn}


def builtin_tabs(entity: Entity) -> list[Tab]:
    kind = str(entity.get("kind", "")).lower()
    tabs = [
        _tab("overview", "Overview", 0, overview),
        _tab(
            "dependencies",
            "Dependencies" if kind in ("component", "resource", "api", "system") else "Relations",
            10,
            dependencies,
        ),
    ]
    if kind == "api" and isinstance(_spec(entity).get("definition"), str):
        tabs.append(_tab("api", "API definition", 20, api_definition))
    if _annotations(entity).get(m.ANNOTATION_TECHDOCS_REF):
        tabs.append(_tab("docs", "Docs", 30, docs))
    return tabs


def entity_tabs(platform: Platform, entity: Entity) -> list[Tab]:
    """Every plugin's tabs for ``entity``, by ``order`` then title. On a repeated id the
    first answer wins: plugins registered later answer first, so an installed plugin can
    replace a built-in tab."""
    found: dict[str, Tab] = {}
    for group in platform.plugins.hook.goldpath_entity_tabs(platform=platform, entity=entity):
        for tab in group or []:
            if not isinstance(tab, Mapping) or not callable(tab.get("render")):
                continue
            tab_id = str(tab.get("id") or "")
            if tab_id and tab_id not in found:
                found[tab_id] = {**tab, "id": tab_id, "title": str(tab.get("title") or tab_id)}
    return sorted(found.values(), key=lambda t: (_order(t.get("order")), t["title"]))


def _order(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 1000.0


def render_tab(tab: Tab, request: Request, entity: Entity) -> Markup:
    """A tab's panel; a failing tab shows its error in place, not a broken page."""
    try:
        return Markup(tab["render"](request, entity))  # noqa: S704 - plugins return HTML
    except GoldpathError as exc:
        return render("catalog_tab_error.html", message=str(exc))
    except Exception:
        log.exception("entity tab failed", tab=tab["id"], entity=links.ref_of(entity))
        return render("catalog_tab_error.html", message=f"The {tab['title']} tab failed to load.")
