"""Scaffolder pages of the portal, at Backstage's URLs: ``/create`` (the template gallery),
``/create/templates/:namespace/:name`` (the form a template's parameter pages make, then a
review, then the task), ``/create/tasks`` and ``/create/tasks/:taskId`` (a run, live).

Every page works as plain HTML forms and links; htmx only spares full reloads. Answers are
checked by the scaffolder's own validation, and tasks start through the same service call
as ``POST /api/scaffolder/v2/tasks``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from goldpath.core.errors import ConflictError, GoldpathError, InputError, NotFoundError
from goldpath.scaffolder import formdata, forms, live, wizard
from goldpath.scaffolder.gallery import card, gallery
from goldpath.scaffolder.model import TemplateSpec, parse_template
from goldpath.scaffolder.parameters import secret_fields
from goldpath.scaffolder.pickers import CatalogLookup
from goldpath.scaffolder.service import ScaffolderService, get_scaffolder
from goldpath.web.pages import (
    page_context,
    register_static_dir,
    register_template_dir,
    templates,
)

if TYPE_CHECKING:
    from goldpath.core.platform import Platform

router = APIRouter(include_in_schema=False)
router.include_router(live.router)
register_template_dir(Path(__file__).parent / "templates")
register_static_dir(Path(__file__).parent / "static")
TASKS_PAGE_SIZE = 50


def _render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request, f"create/{name}.html", page_context(request, **context), status_code=status_code
    )


def _not_found(request: Request, what: str, back: str, back_title: str) -> HTMLResponse:
    return _render(
        request, "not_found", status_code=404, what=what, back=back, back_title=back_title
    )


def _service(request: Request) -> ScaffolderService:
    return get_scaffolder(request.app.state.platform)


# ------------------------------------------------------------------ gallery
@router.get("/create", response_class=HTMLResponse)
def gallery_page(
    request: Request,
    type: str = "",  # noqa: A002 - Backstage's filter name
    tag: Annotated[list[str] | None, Query()] = None,
    q: str = "",
) -> HTMLResponse:
    service = _service(request)
    entities = service.list_templates()
    found = gallery(entities, type, tag or [], q)
    return _render(
        request,
        "gallery",
        gallery=found,
        type=type,
        selected_tags=[t for t in tag or [] if t],
        q=q,
        recent=_recent(service, 5, _template_titles(entities)),
    )


# ------------------------------------------------------------------ the form
def _template(
    request: Request, namespace: str, name: str
) -> tuple[dict[str, Any], TemplateSpec | None, str | None] | None:
    """The Template entity and its parsed spec (or why it cannot be used); None if absent."""
    try:
        entity = _service(request).template_entity(f"template:{namespace}/{name}")
    except (NotFoundError, InputError):
        return None
    try:
        return entity, parse_template(entity), None
    except GoldpathError as exc:
        return entity, None, str(exc)


def _command(spec: TemplateSpec) -> str:
    name = spec.name if spec.namespace == "default" else f"{spec.namespace}/{spec.name}"
    secrets = secret_fields(spec)
    required = [
        n
        for page in spec.parameters[:1] or []
        for n in page.schema_.get("required") or []
        if n not in secrets
    ]
    return " ".join([f"goldpath create {name}", *(f"--set {n}=…" for n in required)])


def _form(
    request: Request,
    spec: TemplateSpec,
    entity: dict[str, Any],
    draft: wizard.Draft,
    index: int,
    errors: dict[str, str] | None = None,
    alert: str | None = None,
) -> HTMLResponse:
    lookup = CatalogLookup(request.app.state.platform)
    fields = forms.page_fields(spec.parameters[index].schema_, lookup)
    values = wizard.shown_values(spec, draft)
    unplaced = formdata.fill(fields, values, draft.secrets, errors or {})
    invalid = [f for top in fields for f in top.walk() if f.error]
    if invalid:  # focus goes to the first problem, not to the template's autofocus field
        for f in (f for top in fields for f in top.walk()):
            f.autofocus = f is invalid[0]
    shown = wizard.visible_pages(spec, draft)
    status = 200 if not (invalid or unplaced) or _htmx(request) else 422
    return _render(
        request,
        "form",
        status_code=status,
        card=card(entity),
        spec=spec,
        steps=_steps(spec, shown, index),
        index=index,
        page=spec.parameters[index],
        page_title=wizard.page_title(spec, index),
        first=not shown or index <= shown[0],
        last=not shown or index >= shown[-1],
        fields=fields,
        invalid=invalid,
        unplaced=unplaced,
        alert=alert,
        draft=wizard.seal_draft(_service(request).box, spec.entity_ref, draft),
        command=_command(spec),
    )


def _review(
    request: Request,
    spec: TemplateSpec,
    entity: dict[str, Any],
    draft: wizard.Draft,
    alert: str | None = None,
) -> HTMLResponse:
    lookup = CatalogLookup(request.app.state.platform)
    shown = wizard.visible_pages(spec, draft)
    return _render(
        request,
        "review",
        status_code=200 if alert is None or _htmx(request) else 422,
        card=card(entity),
        spec=spec,
        steps=_steps(spec, shown, None),
        pages=wizard.review(spec, draft, lookup),
        last=shown[-1] if shown else None,
        alert=alert,
        draft=wizard.seal_draft(_service(request).box, spec.entity_ref, draft),
    )


def _steps(spec: TemplateSpec, shown: list[int], current: int | None) -> list[dict[str, Any]]:
    def state(i: int) -> str:
        if i == current:
            return "current"
        return "done" if current is None or i < current else ""

    steps = [{"title": wizard.page_title(spec, i), "state": state(i)} for i in shown]
    return [*steps, {"title": "Review", "state": "current" if current is None else ""}]


def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


@router.get("/create/templates/{namespace}/{name}", response_class=HTMLResponse)
def template_page(request: Request, namespace: str, name: str) -> HTMLResponse:
    found = _template(request, namespace, name)
    if found is None:
        return _not_found(request, f"template:{namespace}/{name}", "/create", "all templates")
    entity, spec, problem = found
    if spec is None:
        return _render(request, "broken", card=card(entity), problem=problem)
    draft = wizard.initial_draft(spec)
    shown = wizard.visible_pages(spec, draft)
    if not shown:
        return _review(request, spec, entity, draft)
    return _form(request, spec, entity, draft, shown[0])


@router.post("/create/templates/{namespace}/{name}", response_class=HTMLResponse)
async def template_submit(request: Request, namespace: str, name: str) -> Response:
    found = _template(request, namespace, name)
    if found is None:
        return _not_found(request, f"template:{namespace}/{name}", "/create", "all templates")
    entity, spec, problem = found
    if spec is None:
        return _render(request, "broken", card=card(entity), problem=problem)
    form = await request.form()
    service = _service(request)
    try:
        draft = wizard.open_draft(service.box, spec.entity_ref, _one(form, "_draft"))
    except InputError as exc:
        draft = wizard.initial_draft(spec)
        shown = wizard.visible_pages(spec, draft)
        if not shown:
            return _review(request, spec, entity, draft, alert=exc.message)
        return _form(request, spec, entity, draft, shown[0], alert=exc.message)
    action = _one(form, "_action") or "next"
    page = _page_index(spec, _one(form, "_page"))
    problems: dict[str, str] = {}
    if page is not None:
        lookup = CatalogLookup(request.app.state.platform)
        fields = forms.page_fields(spec.parameters[page].schema_, lookup)
        problems = formdata.read(fields, form, draft.values, draft.secrets)
    shown = wizard.visible_pages(spec, draft)
    if action == "back":
        before = [i for i in shown if page is None or i < page]
        target = before[-1] if before else shown[0] if shown else None
        if target is None:
            return _review(request, spec, entity, draft)
        return _form(request, spec, entity, draft, target)
    if action.startswith("edit:"):
        target = _page_index(spec, action[5:])
        if target is not None:
            return _form(request, spec, entity, draft, target)
    if action == "next" and page is not None:
        errors = {**wizard.problems(spec, draft).get(page, {}), **problems}
        if errors:
            return _form(request, spec, entity, draft, page, errors)
        later = [i for i in shown if i > page]
        if later:
            return _form(request, spec, entity, draft, later[0])
    # The review (and creating the task) needs every page's answers to be valid.
    every = wizard.problems(spec, draft)
    first = next((i for i in shown if every.get(i)), None)
    if first is not None:
        return _form(request, spec, entity, draft, first, every[first])
    general = wizard.unplaced(every)
    if action != "create" or general:
        return _review(request, spec, entity, draft, alert="; ".join(general) or None)
    try:
        task_id = service.create_task(
            spec.entity_ref, wizard.task_values(spec, draft), draft.secrets or None
        )
    except InputError as exc:
        return _review(request, spec, entity, draft, alert=exc.message)
    return RedirectResponse(f"/create/tasks/{task_id}", status_code=303)


def _one(form: Any, key: str) -> str | None:
    value = form.get(key)
    return value if isinstance(value, str) else None


def _page_index(spec: TemplateSpec, text: str | None) -> int | None:
    try:
        index = int(text or "")
    except ValueError:
        return None
    return index if 0 <= index < len(spec.parameters) else None


# ------------------------------------------------------------------ tasks
def recent_tasks(platform: Platform, limit: int = 5) -> list[dict[str, Any]]:
    """The newest tasks, for the home page and the gallery: template, status, when, link."""
    service = get_scaffolder(platform)
    return _recent(service, limit, _template_titles(service.list_templates()))


def _recent(service: ScaffolderService, limit: int, titles: dict[str, str]) -> list[dict[str, Any]]:
    rows, _total = service.list_tasks(limit=max(1, min(limit, 1000)))
    return [
        {
            "id": row.id,
            "href": f"/create/tasks/{row.id}",
            "templateRef": row.template_ref,
            "templateTitle": titles.get(row.template_ref, row.template_ref),
            "status": row.status,
            "createdAt": row.created_at.isoformat().replace("+00:00", "Z"),
            "created": row.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            "createdBy": row.created_by,
        }
        for row in rows
    ]


def _template_titles(entities: list[dict[str, Any]]) -> dict[str, str]:
    titles = {}
    for entity in entities:
        meta = entity.get("metadata") or {}
        ref = f"template:{meta.get('namespace') or 'default'}/{meta.get('name')}".lower()
        titles[ref] = str(meta.get("title") or meta.get("name"))
    return titles


@router.get("/create/tasks", response_class=HTMLResponse)
def tasks_page(request: Request, offset: int = 0, status: str = "") -> HTMLResponse:
    service = _service(request)
    try:
        rows, total = service.list_tasks(
            limit=TASKS_PAGE_SIZE, offset=max(0, offset), status=[status] if status else None
        )
    except InputError:
        rows, total = [], 0
    titles = _template_titles(service.list_templates())
    return _render(
        request,
        "tasks",
        rows=[live.task_view(r, titles.get(r.template_ref)) for r in rows],
        total=total,
        offset=max(0, offset),
        size=TASKS_PAGE_SIZE,
        status=status,
    )


def _task(request: Request, task_id: str, alert: str | None = None) -> HTMLResponse:
    service = _service(request)
    try:
        row = service.get_task(task_id)
    except NotFoundError:
        return _not_found(request, f"task {task_id}", "/create/tasks", "recent tasks")
    title, secrets = live.template_info(service, row.template_ref)
    view = live.task_view(row, title)
    events = service.events(task_id)
    return _render(
        request,
        "task",
        status_code=409 if alert and not _htmx(request) else 200,
        view=view,
        lines=live.log_lines(events),
        last_event=events[-1]["id"] if events else None,
        retry_secrets=secrets if view["status"] in ("failed", "cancelled") else [],
        alert=alert,
    )


@router.get("/create/tasks/{task_id}", response_class=HTMLResponse)
def task_page(request: Request, task_id: str) -> HTMLResponse:
    return _task(request, task_id)


@router.post("/create/tasks/{task_id}/cancel", response_class=HTMLResponse)
def cancel_task(request: Request, task_id: str) -> Response:
    try:
        _service(request).cancel(task_id)
    except NotFoundError:
        return _not_found(request, f"task {task_id}", "/create/tasks", "recent tasks")
    return RedirectResponse(f"/create/tasks/{task_id}", status_code=303)


@router.post("/create/tasks/{task_id}/retry", response_class=HTMLResponse)
async def retry_task(request: Request, task_id: str) -> Response:
    service = _service(request)
    form = await request.form()
    try:
        row = service.get_task(task_id)
        names = {s["name"] for s in live.template_info(service, row.template_ref)[1]}
        secrets = {n: v for n in names if (v := _one(form, f"secret.{n}"))}
        service.retry(task_id, secrets or None)
    except NotFoundError:
        return _not_found(request, f"task {task_id}", "/create/tasks", "recent tasks")
    except (ConflictError, InputError) as exc:
        return _task(request, task_id, alert=exc.message)
    return RedirectResponse(f"/create/tasks/{task_id}", status_code=303)
