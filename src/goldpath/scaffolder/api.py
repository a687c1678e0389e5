"""Backstage's scaffolder API (``/api/scaffolder/v2/...``), same paths and shapes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from goldpath.core import jsonutil
from goldpath.core.errors import InputError
from goldpath.scaffolder.service import ScaffolderService, serialize_task
from goldpath.scaffolder.store import FINISHED

router = APIRouter(prefix="/api/scaffolder", tags=["scaffolder"])

#: Seconds between two looks for new events while a stream is open.
STREAM_POLL_SECONDS = 0.2
#: Seconds between two keep-alive comments on an idle stream (proxies close silent ones).
STREAM_KEEPALIVE_SECONDS = 15.0


async def get_service(request: Request) -> ScaffolderService:
    service: ScaffolderService = request.app.state.platform.services["scaffolder"]
    return service


Service = Annotated[ScaffolderService, Depends(get_service)]


def _object(body: Any, where: str = "body") -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InputError("the request body must be a JSON object", where=where)
    return body


def _after(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(str(value))
    except ValueError as exc:
        raise InputError("after must be an event id (an integer)", where="after") from exc


def _sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: ".encode() + jsonutil.dumps_bytes(event) + b"\n\n"


@router.get(
    "/v2/templates/{namespace}/{kind}/{name}/parameter-schema",
    summary="The template's parameter pages, as forms are built from them",
)
def parameter_schema(namespace: str, kind: str, name: str, service: Service) -> dict[str, Any]:
    return service.parameter_schema(namespace, kind, name)


@router.get("/v2/actions", summary="Every installed action with its input and output schema")
def list_actions(service: Service) -> list[dict[str, Any]]:
    return [action.describe() for action in service.actions.list()]


@router.post("/v2/tasks", status_code=201, summary="Run a template")
def create_task(body: Annotated[Any, Body()], service: Service) -> dict[str, str]:
    data = _object(body)
    template_ref = data.get("templateRef")
    if not isinstance(template_ref, str) or not template_ref:
        raise InputError("templateRef is required", where="templateRef")
    task_id = service.create_task(
        template_ref,
        data.get("values") or {},
        data.get("secrets"),
    )
    return {"id": task_id}


@router.get("/v2/tasks", summary="Tasks, newest first")
def list_tasks(
    service: Service,
    createdBy: Annotated[list[str] | None, Query()] = None,  # noqa: N803 - Backstage's name
    status: Annotated[list[str] | None, Query()] = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    rows, total = service.list_tasks(
        created_by=createdBy, status=status, limit=limit, offset=offset
    )
    return {"tasks": [serialize_task(r) for r in rows], "totalTasks": total}


@router.get("/v2/tasks/{task_id}", summary="One task, with its rendered output once completed")
def get_task(task_id: str, service: Service) -> dict[str, Any]:
    return serialize_task(service.get_task(task_id))


@router.get("/v2/tasks/{task_id}/events", summary="The task's log events (after an id)")
def get_events(task_id: str, service: Service, after: str | None = None) -> list[dict[str, Any]]:
    return service.events(task_id, _after(after))


@router.get("/v2/tasks/{task_id}/eventstream", summary="The task's log, live (server-sent events)")
async def event_stream(
    task_id: str, request: Request, service: Service, after: str | None = None
) -> StreamingResponse:
    start = _after(after)
    await run_in_threadpool(service.get_task, task_id)  # 404 before the stream opens

    loop = asyncio.get_running_loop()
    changed = asyncio.Event()

    def wake(changed_id: str) -> None:
        if changed_id == task_id and not loop.is_closed():
            loop.call_soon_threadsafe(changed.set)

    async def stream() -> AsyncIterator[bytes]:
        last = start
        idle = 0.0
        stop = service.store.listen(wake)
        try:
            async for chunk in _events(last, idle):
                yield chunk
        finally:
            stop()

    async def _events(last: int | None, idle: float) -> AsyncIterator[bytes]:
        while True:
            changed.clear()
            events = await run_in_threadpool(service.events, task_id, last)
            for event in events:
                last = event["id"]
                yield _sse(event)
                if event["type"] == "completion":
                    return
            if events:
                idle = 0.0
            else:
                task = await run_in_threadpool(service.get_task, task_id)
                if task.status in FINISHED and task.finished_at is not None:
                    # Finished: send what was committed since the read above, then stop.
                    for event in await run_in_threadpool(service.events, task_id, last):
                        yield _sse(event)
                    return
                if await request.is_disconnected():
                    return
                idle += STREAM_POLL_SECONDS
                if idle >= STREAM_KEEPALIVE_SECONDS:
                    idle = 0.0
                    yield b": keep-alive\n\n"
                # Woken at once by a write in this process; polls for other processes' writes.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), STREAM_POLL_SECONDS)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.post("/v2/tasks/{task_id}/cancel", summary="Cancel a task")
def cancel_task(task_id: str, service: Service) -> dict[str, Any]:
    row = service.cancel(task_id)
    return {"status": row.status}


@router.post("/v2/tasks/{task_id}/retry", status_code=201, summary="Run a failed task again")
def retry_task(
    task_id: str, service: Service, body: Annotated[Any, Body()] = None
) -> dict[str, str]:
    secrets = _object(body).get("secrets") if body is not None else None
    return {"id": service.retry(task_id, secrets)}


@router.post("/v2/dry-run", summary="Run a template without side effects")
def dry_run(body: Annotated[Any, Body()], service: Service) -> JSONResponse:
    data = _object(body)
    result = service.dry_run(
        template=data.get("template"),
        template_ref=data.get("templateRef"),
        values=data.get("values") or {},
        secrets=data.get("secrets"),
        directory_contents=data.get("directoryContents") or [],
    )
    return JSONResponse(result)
