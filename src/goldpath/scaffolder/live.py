"""A task as the portal shows it, and its page-friendly live stream.

``GET /create/tasks/:taskId/events`` is a server-sent event stream of ready HTML fragments
for htmx's SSE extension: ``log`` (new log lines, appended), ``steps`` and ``summary`` (the
step list and the status block, replaced when they change), ``output`` (the links and texts
once the task ends) and a last ``done``, on which the page closes the stream. The JSON
stream for API clients stays at ``/api/scaffolder/v2/tasks/:taskId/eventstream``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from goldpath.core.errors import GoldpathError, NotFoundError
from goldpath.scaffolder.parameters import secret_fields
from goldpath.scaffolder.service import ScaffolderService, get_scaffolder, serialize_task
from goldpath.scaffolder.store import FINISHED, TaskRow

router = APIRouter(include_in_schema=False)

#: Seconds between two looks at a task written by another process (a write in this process
#: wakes the stream at once).
POLL_SECONDS = 0.25
KEEPALIVE_SECONDS = 15.0
RUNNING = ("open", "processing")


# ------------------------------------------------------------------ view model
def task_view(row: TaskRow, template_title: str | None = None) -> dict[str, Any]:
    task = serialize_task(row)
    running = row.status in RUNNING
    steps = []
    for step in task["steps"]:
        status = step.get("status") or ("pending" if running else "not run")
        started, ended = _time(step.get("startedAt")), _time(step.get("endedAt"))
        seconds = step.get("durationSeconds")
        if seconds is None and started and ended:
            seconds = (ended - started).total_seconds()
        steps.append(
            {
                "id": step["id"],
                "name": step["name"],
                "action": step["action"],
                "status": status,
                "started": _clock(started),
                "ended": _clock(ended),
                "took": _took(seconds) if status != "processing" else "",
            }
        )
    links, texts = output_view(row.output)
    took = None
    if row.started_at and row.finished_at:
        took = _took((row.finished_at - row.started_at).total_seconds())
    return {
        "id": row.id,
        "status": row.status,
        "running": running,
        "title": template_title or row.template_ref,
        "template_ref": row.template_ref,
        "version": row.template_version,
        "created": _stamp(row.created_at),
        "started": _stamp(row.started_at),
        "finished": _stamp(row.finished_at),
        "took": took,
        "created_by": row.created_by,
        "error": (row.error or {}).get("message") if row.error else None,
        "steps": steps,
        "links": links,
        "texts": texts,
        "has_output": bool(links or texts),
        "raw": task,
    }


Rows = list[dict[str, str]]


def output_view(output: Mapping[str, Any] | None) -> tuple[Rows, Rows]:
    """Output links (an ``entityRef`` goes to its catalog page; only web URLs are linked) and
    text outputs."""
    links: Rows = []
    texts: Rows = []
    for link in (output or {}).get("links") or []:
        if not isinstance(link, Mapping):
            continue
        title = str(link.get("title") or link.get("url") or link.get("entityRef") or "link")
        url, ref = link.get("url"), link.get("entityRef")
        if isinstance(url, str) and url:
            safe = urlsplit(url).scheme.lower() in ("http", "https", "")
            links.append({"title": title, "href": url if safe else "", "text": url})
        elif isinstance(ref, str) and ref:
            links.append({"title": title, "href": catalog_href(ref), "text": ref})
    for text in (output or {}).get("text") or []:
        if isinstance(text, Mapping) and text.get("content") not in (None, ""):
            content = text["content"]
            texts.append(
                {
                    "title": str(text.get("title") or "Output"),
                    "content": content if isinstance(content, str) else str(content),
                }
            )
    return links, texts


def template_info(
    service: ScaffolderService, template_ref: str
) -> tuple[str | None, list[dict[str, str]]]:
    """The template's title and its secret fields: a retry needs them again (a task's
    secrets are deleted when it ends)."""
    try:
        spec, _entity = service.template(template_ref)
    except GoldpathError:
        return None, []
    names = secret_fields(spec)
    rows = []
    for page in spec.parameters:
        for name, prop in (page.schema_.get("properties") or {}).items():
            if name in names and isinstance(prop, dict):
                rows.append({"name": name, "title": str(prop.get("title") or name)})
    return spec.title or spec.name, rows


def catalog_href(ref: str) -> str:
    from goldpath.catalog.refs import parse_entity_ref

    try:
        parsed = parse_entity_ref(ref, default_kind="component")
    except GoldpathError:
        return ""
    return f"/catalog/{parsed.namespace}/{parsed.kind.lower()}/{parsed.name}"


def log_lines(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    lines = []
    for event in events:
        body = event.get("body") or {}
        message = body.get("message")
        if message in (None, ""):
            continue
        lines.append(
            {
                "id": event["id"],
                "time": str(event.get("createdAt") or "")[11:19],
                "step": body.get("stepId") or "",
                "message": str(message),
                "failed": body.get("status") == "failed" or event.get("type") == "recovered",
            }
        )
    return lines


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _clock(value: datetime | None) -> str:
    return value.strftime("%H:%M:%S") if value else ""


def _stamp(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else ""


def _took(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return ""
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60)} s"


# ------------------------------------------------------------------ fragments
def render(name: str, **context: Any) -> str:
    from goldpath.web.pages import templates

    return templates.get_template(f"create/{name}.html").render(**context)


def sse(event: str, html: str, event_id: int | None = None) -> bytes:
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.extend(f"data: {line}" for line in html.split("\n"))
    return ("\n".join(lines) + "\n\n").encode()


def _after(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@router.get("/create/tasks/{task_id}/events")
async def task_events(request: Request, task_id: str, after: str | None = None) -> Response:
    service = get_scaffolder(request.app.state.platform)
    try:
        row = await run_in_threadpool(service.get_task, task_id)
    except NotFoundError:
        return Response("no such task", status_code=404, media_type="text/plain")
    resumed = request.headers.get("last-event-id")
    if resumed is not None and row.status in FINISHED and row.finished_at is not None:
        # A browser reconnecting to a finished task: 204 tells EventSource to stop.
        return Response(status_code=204)
    start = _after(resumed) if resumed is not None else _after(after)
    return StreamingResponse(
        _stream(request, service, task_id, row.template_ref, start),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(
    request: Request,
    service: ScaffolderService,
    task_id: str,
    template_ref: str,
    last: int | None,
) -> AsyncIterator[bytes]:
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()

    def wake(changed_id: str) -> None:
        if changed_id == task_id and not loop.is_closed():
            loop.call_soon_threadsafe(changed.set)

    stop = service.store.listen(wake)
    shown: dict[str, str] = {}
    idle = 0.0
    try:
        title, secrets = await run_in_threadpool(template_info, service, template_ref)
        while True:
            changed.clear()
            row = await run_in_threadpool(service.get_task, task_id)
            finished = row.status in FINISHED and row.finished_at is not None
            events = await run_in_threadpool(service.events, task_id, last)
            if events:
                last = events[-1]["id"]
                html = render("_log_lines", lines=log_lines(events))
                if html.strip():
                    yield sse("log", html, last)
            view = task_view(row, title)
            sent = False
            for name in ("steps", "summary"):
                html = render(f"_task_{name}", view=view, retry_secrets=secrets)
                if shown.get(name) != html:
                    shown[name] = html
                    sent = True
                    yield sse(name, html)
            if finished:
                yield sse("output", render("_task_output", view=view))
                yield sse("done", "")
                return
            idle = 0.0 if events or sent else idle + POLL_SECONDS
            if await request.is_disconnected():
                return
            if idle >= KEEPALIVE_SECONDS:
                idle = 0.0
                yield b": keep-alive\n\n"
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), POLL_SECONDS)
    finally:
        stop()
