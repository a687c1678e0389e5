"""Scaffolder pages of the portal, at Backstage's URLs: ``/create`` (the golden paths) and
``/create/tasks/:taskId`` (a run, its steps, log and output). Forms come with the portal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from goldpath import __version__
from goldpath.catalog.refs import parse_entity_ref
from goldpath.core.errors import GoldpathError, NotFoundError
from goldpath.scaffolder.model import parse_template
from goldpath.scaffolder.parameters import parameter_schema
from goldpath.scaffolder.service import get_scaffolder, serialize_task
from goldpath.web.pages import nav_items, register_template_dir, templates

router = APIRouter(include_in_schema=False)
register_template_dir(Path(__file__).parent / "templates")


def _fields(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per question a template asks: name, title, type, required, choices."""
    rows = []
    for step in schema.get("steps") or []:
        page = step.get("schema") or {}
        required = set(page.get("required") or [])
        for name, prop in (page.get("properties") or {}).items():
            if not isinstance(prop, dict):
                continue
            rows.append(
                {
                    "page": step.get("title"),
                    "name": name,
                    "title": prop.get("title") or name,
                    "type": prop.get("type", ""),
                    "required": name in required,
                    "enum": prop.get("enum"),
                    "default": prop.get("default"),
                    "description": prop.get("description") or prop.get("ui:help") or "",
                    "secret": prop.get("ui:field") == "Secret"
                    or prop.get("ui:widget") == "password",
                }
            )
    return rows


def _command(name: str, fields: list[dict[str, Any]]) -> str:
    parts = [f"goldpath create {name}"]
    for field in fields:
        if field["required"] and not field["secret"]:
            parts.append(f"--set {field['name']}=…")
    return " ".join(parts)


@router.get("/create", response_class=HTMLResponse)
def create_page(request: Request) -> HTMLResponse:
    service = get_scaffolder(request.app.state.platform)
    gallery = []
    for entity in service.list_templates():
        meta = entity.get("metadata") or {}
        item: dict[str, Any] = {
            "name": meta.get("name"),
            "namespace": meta.get("namespace", "default"),
            "title": meta.get("title") or meta.get("name"),
            "description": meta.get("description") or "",
            "tags": meta.get("tags") or [],
            "type": (entity.get("spec") or {}).get("type", ""),
            "version": (meta.get("annotations") or {}).get("goldpath.dev/template-version"),
            "error": None,
        }
        try:
            fields = _fields(parameter_schema(parse_template(entity)))
        except GoldpathError as exc:
            fields, item["error"] = [], str(exc)
        item["fields"] = fields
        ref_name = (
            item["name"]
            if item["namespace"] == "default"
            else (f"{item['namespace']}/{item['name']}")
        )
        item["command"] = _command(str(ref_name), fields)
        gallery.append(item)
    rows, total = service.list_tasks(limit=10)
    return templates.TemplateResponse(
        request,
        "create.html",
        {
            "nav": nav_items(request),
            "version": __version__,
            "gallery": sorted(gallery, key=lambda t: str(t["title"]).lower()),
            "tasks": [serialize_task(r) for r in rows],
            "total_tasks": total,
        },
    )


@router.get("/create/tasks/{task_id}", response_class=HTMLResponse)
def task_page(request: Request, task_id: str) -> HTMLResponse:
    service = get_scaffolder(request.app.state.platform)
    try:
        task = serialize_task(service.get_task(task_id))
    except NotFoundError:
        return templates.TemplateResponse(
            request,
            "not_found.html",
            {"nav": nav_items(request), "version": __version__, "what": f"task {task_id}"},
            status_code=404,
        )
    events = service.events(task_id)
    links = []
    for link in (task.get("output") or {}).get("links") or []:
        if not isinstance(link, dict):
            continue
        if link.get("url"):
            links.append({"href": str(link["url"]), "title": link.get("title") or link["url"]})
        elif isinstance(link.get("entityRef"), str):
            try:
                ref = parse_entity_ref(link["entityRef"])
            except GoldpathError:
                continue
            href = f"/catalog/{ref.namespace}/{ref.kind.lower()}/{ref.name}"
            links.append({"href": href, "title": link.get("title") or link["entityRef"]})
    return templates.TemplateResponse(
        request,
        "task.html",
        {
            "nav": nav_items(request),
            "version": __version__,
            "task": task,
            "events": events,
            "links": links,
            "running": task["status"] in ("open", "processing"),
        },
    )
