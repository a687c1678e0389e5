"""What every client command shares: the server URL option, the client, JSON output."""

from __future__ import annotations

import sys
import time
from typing import Annotated, Any, NoReturn

import orjson
import typer
from rich.console import Console

from goldpath.core.client import Client

UrlOpt = Annotated[
    str | None,
    typer.Option("--url", help="goldpath server (or GOLDPATH_URL) [http://127.0.0.1:7007]."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print one clear line on stderr and exit with ``code``."""
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(code)


def client(url: str | None) -> Client:
    return Client(url)


def print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def wait_for_task(
    api: Client, task_id: str, *, label: str, timeout: float = 600.0
) -> dict[str, Any]:
    """Follow a background task with a live status line until it ends."""
    deadline = time.monotonic() + timeout
    task: dict[str, Any] = {}
    with err_console.status(label) as status:
        while time.monotonic() < deadline:
            task = api.get(f"/api/platform/tasks/{task_id}")
            if task["status"] in ("succeeded", "failed", "cancelled"):
                return task
            if task.get("progress"):
                status.update(f"{label}: {task['progress']}")
            time.sleep(0.3)
    return task
