"""Platform endpoints owned by the core: background tasks and the event log."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Query, Request

router = APIRouter(prefix="/api/platform", tags=["platform"])


def _task_dict(task: Any) -> dict[str, Any]:
    data = asdict(task)
    for key, value in data.items():
        if hasattr(value, "isoformat"):
            data[key] = value.isoformat()
    return data


@router.get("/tasks/{task_id}")
def get_task(request: Request, task_id: str) -> dict[str, Any]:
    return _task_dict(request.app.state.platform.tasks.get(task_id))


@router.get("/tasks")
def list_tasks(
    request: Request,
    kind: str | None = None,
    status: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    tasks = request.app.state.platform.tasks.list(kind=kind, status=status, limit=limit)
    return [_task_dict(t) for t in tasks]


@router.get("/events")
def list_events(
    request: Request,
    type: list[str] | None = Query(None),  # noqa: A002 - the public parameter name
    subject: str | None = None,
    after: int | None = None,
    limit: int = Query(100, ge=1, le=1000),
) -> list[dict[str, Any]]:
    events = request.app.state.platform.events.list(
        types=type, subject=subject, after_id=after, limit=limit
    )
    return [{**asdict(e), "created_at": e.created_at.isoformat()} for e in events]
