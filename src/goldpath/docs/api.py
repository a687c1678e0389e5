"""Backstage's techdocs-backend routes (``/api/techdocs/...``), plus goldpath's build records.

``sync``, ``static/docs`` and ``metadata/{techdocs,entity}`` have Backstage's paths and
shapes, so Backstage's TechDocs reader works against goldpath. ``builds`` and ``entities``
are goldpath's own: status, logs and on-demand builds.
"""

from __future__ import annotations

import asyncio
import mimetypes
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from goldpath.core import jsonutil
from goldpath.core.errors import NotFoundError
from goldpath.docs.model import Build
from goldpath.docs.service import DocsService
from goldpath.docs.storage import site_path

router = APIRouter(prefix="/api/techdocs", tags=["techdocs"])

#: Seconds between two looks at a followed build.
FOLLOW_POLL_SECONDS = 0.25
#: Seconds between two keep-alive comments on a quiet stream (proxies close silent ones).
KEEPALIVE_SECONDS = 15.0
#: Raw HTML runs in an opaque origin: a doc author's script cannot reach the portal's.
STATIC_HTML_CSP = "sandbox allow-scripts allow-popups allow-forms allow-downloads"


async def get_service(request: Request) -> DocsService:
    service: DocsService = request.app.state.platform.services["docs"]
    return service


Service = Annotated[DocsService, Depends(get_service)]


def content_type(path: str) -> str:
    guessed, encoding = mimetypes.guess_type(path)
    if encoding == "gzip":
        return "application/gzip"
    if guessed is None:
        return "application/octet-stream"
    if guessed.startswith("text/") or guessed in ("application/javascript", "image/svg+xml"):
        return f"{guessed}; charset=utf-8"
    return guessed


async def follow(
    service: DocsService, build: Build | None, request: Request | None = None
) -> AsyncIterator[tuple[str, Any]]:
    """``("log", line)`` for each new log line, then ``("finish", {...})`` or
    ``("error", message)``, for one build (by its task), across processes."""
    if build is None:
        yield "finish", {"updated": False}
        return
    task_id = build.task_id
    sent = 0
    quiet = 0.0
    timeout = service.settings.build_timeout_seconds + 600
    deadline = time.monotonic() + timeout
    while True:
        current = await run_in_threadpool(service.build_by_task, task_id) if task_id else None
        if current is not None:
            lines = current.log.splitlines()
            for line in lines[sent:]:
                yield "log", line
            if len(lines) > sent:
                quiet = 0.0
            sent = max(sent, len(lines))
        task = await run_in_threadpool(service.platform.tasks.get, task_id) if task_id else None
        if task is None or task.status in ("succeeded", "failed", "cancelled"):
            if current is not None and current.status == "failed":
                yield "error", current.error or "the build failed"
            elif task is not None and task.status != "succeeded" and current is None:
                yield "error", task.error or "the build failed"
            else:
                updated = bool((task.result or {}).get("updated")) if task else False
                yield "finish", {"updated": updated}
            return
        if time.monotonic() > deadline:
            yield "error", f"the build did not finish within {timeout:g} s"
            return
        if request is not None and await request.is_disconnected():
            return
        quiet += FOLLOW_POLL_SECONDS
        if quiet >= KEEPALIVE_SECONDS:
            quiet = 0.0
            yield "keepalive", None
        await asyncio.sleep(FOLLOW_POLL_SECONDS)


@router.get(
    "/sync/{namespace}/{kind}/{name}",
    summary="Build the docs if their source changed (an event stream with Accept: "
    "text/event-stream, as Backstage's, else JSON when done)",
)
async def sync(
    namespace: str, kind: str, name: str, request: Request, service: Service
) -> Response:
    build = await run_in_threadpool(service.sync, kind, namespace, name)
    if "text/event-stream" in request.headers.get("accept", ""):

        async def stream() -> AsyncIterator[bytes]:
            async for event, data in follow(service, build, request):
                if event == "keepalive":
                    yield b": keep-alive\n\n"
                else:
                    yield f"event: {event}\ndata: ".encode() + jsonutil.dumps_bytes(data) + b"\n\n"

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "Connection": "keep-alive"},
        )
    outcome: dict[str, Any] = {"updated": False}
    async for event, data in follow(service, build, request):
        if event == "finish":
            outcome = data
    last = None
    if build is not None and build.task_id:
        last = await run_in_threadpool(service.build_by_task, build.task_id)
    return JSONResponse({**outcome, "build": last.as_api() if last else None})


@router.get(
    "/metadata/techdocs/{namespace}/{kind}/{name}", summary="The site's techdocs_metadata.json"
)
def techdocs_metadata(namespace: str, kind: str, name: str, service: Service) -> dict[str, Any]:
    return service.metadata(kind, namespace, name)


@router.get(
    "/metadata/entity/{namespace}/{kind}/{name}",
    summary="The entity, with where its docs are read from (locationMetadata)",
)
def entity_metadata(namespace: str, kind: str, name: str, service: Service) -> dict[str, Any]:
    return service.entity_metadata(kind, namespace, name)


@router.get("/static/docs/{namespace}/{kind}/{name}", include_in_schema=False)
def static_root(namespace: str, kind: str, name: str, request: Request) -> RedirectResponse:
    return RedirectResponse(f"{request.url.path}/", status_code=308)


@router.get(
    "/static/docs/{namespace}/{kind}/{name}/{path:path}", summary="A file of the built site"
)
def static_file(namespace: str, kind: str, name: str, path: str, service: Service) -> Response:
    inner = site_path(path)
    service.entity(kind, namespace, name)
    folder = inner == "" or path.endswith("/")
    served = f"{inner}/index.html" if folder and inner else ("index.html" if folder else inner)
    data = service.read(kind, namespace, name, served)
    if data is None and not folder and service.read(kind, namespace, name, f"{inner}/index.html"):
        # A folder asked for without its slash: relative links inside need the slash.
        return RedirectResponse(f"{inner.rsplit('/', 1)[-1]}/", status_code=308)
    if data is None:
        raise NotFoundError(f"no file {path or '/'} in the docs of {kind}:{namespace}/{name}")
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
    if served.endswith((".html", ".htm", ".svg")):
        headers["Content-Security-Policy"] = STATIC_HTML_CSP
    return Response(data, media_type=content_type(served), headers=headers)


@router.get("/builds/{namespace}/{kind}/{name}", summary="Build status and history of an entity")
def build_status(namespace: str, kind: str, name: str, service: Service) -> dict[str, Any]:
    status = service.status(kind, namespace, name)
    latest, good = status["latest"], status["lastSuccessful"]
    return {
        **status,
        "latest": latest.as_api() if latest else None,
        "lastSuccessful": good.as_api(with_log=False) if good else None,
        "builds": [b.as_api(with_log=False) for b in status["builds"]],
    }


@router.get("/builds/{namespace}/{kind}/{name}/{build_id}", summary="One build, with its log")
def get_build(
    namespace: str, kind: str, name: str, build_id: str, service: Service
) -> dict[str, Any]:
    return service.build(kind, namespace, name, build_id).as_api()


@router.post(
    "/builds/{namespace}/{kind}/{name}",
    status_code=202,
    summary="Build the docs now, changed or not (returns the queued build)",
)
def request_build(namespace: str, kind: str, name: str, service: Service) -> dict[str, Any]:
    return service.request_entity_build(kind, namespace, name).as_api()


@router.get("/entities", summary="Every entity with docs, and its newest build")
def list_entities(
    service: Service, limit: int = Query(1000, ge=1, le=5000)
) -> list[dict[str, Any]]:
    rows = service.overview()[:limit]
    return [
        {
            "entityRef": row["entityRef"],
            "title": row["entity"]["metadata"].get("title") or row["entity"]["metadata"]["name"],
            "latest": row["latest"].as_api(with_log=False) if row["latest"] else None,
            "lastSuccessful": (
                row["lastSuccessful"].as_api(with_log=False) if row["lastSuccessful"] else None
            ),
        }
        for row in rows
    ]
