"""``goldpath create``, ``goldpath templates …``, ``goldpath tasks …``: scaffolder API clients."""

from __future__ import annotations

import json as jsonlib
import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import httpx
import typer
import yaml
from rich.table import Table

from goldpath.core.cli_support import (
    JsonOpt,
    UrlOpt,
    client,
    console,
    err_console,
    fail,
    print_json,
)
from goldpath.core.client import Client, ClientError
from goldpath.scaffolder.parameters import coerce_value

templates_app = typer.Typer(help="Golden paths (scaffolder templates).", no_args_is_help=True)
tasks_app = typer.Typer(help="Scaffolder tasks: runs of templates.", no_args_is_help=True)

_MARKS = {
    "completed": "[green]✓[/green]",
    "failed": "[red]✗[/red]",
    "skipped": "[dim]–[/dim]",
    "cancelled": "[yellow]■[/yellow]",
}


def _template_ref(text: str) -> str:
    if ":" in text:
        return text
    return f"template:{text}" if "/" in text else f"template:default/{text}"


def _set_path(target: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    for part in parts[:-1]:
        nested = target.setdefault(part, {})
        if not isinstance(nested, dict):
            fail(f"--set {dotted}: {part} is already set to a value that is not an object")
        target = nested
    target[parts[-1]] = value


def _property_schema(schema: dict[str, Any], dotted: str) -> dict[str, Any] | None:
    for page in schema.get("steps") or []:
        node: Any = page.get("schema") or {}
        for part in dotted.split("."):
            node = (node.get("properties") or {}).get(part) if isinstance(node, dict) else None
            if node is None:
                break
        if isinstance(node, dict):
            return node
    return None


def _pairs(items: list[str] | None, option: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"{option} expects KEY=VALUE, got {item!r}")
        pairs.append((key.strip(), value))
    return pairs


def _load_values(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text()
        loaded = yaml.safe_load(text) or {}
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    except yaml.YAMLError as exc:
        fail(f"{path} is not valid YAML: {exc}")
    if not isinstance(loaded, dict):
        fail(f"{path} must hold a mapping of answers")
    return loaded


def _print_problem(exc: ClientError) -> None:
    err_console.print(f"[red]error:[/red] {exc.message}", highlight=False)
    body = exc.body if isinstance(exc.body, dict) else {}
    for item in body.get("errors") or []:
        if isinstance(item, dict) and item.get("field"):
            err_console.print(f"  {item['field']}: {item.get('message')}", highlight=False)


def _print_event(event: dict[str, Any], names: dict[str, str]) -> None:
    body = event.get("body") or {}
    status = body.get("status")
    step = body.get("stepId")
    message = str(body.get("message", ""))
    if event.get("type") == "completion":
        return
    if status == "processing":
        console.print(f"[cyan]▶[/cyan] {names.get(step or '', step)}", highlight=False)
    elif status in _MARKS:
        label = names.get(step or "", step or "")
        detail = f": {message}" if status in ("failed", "cancelled") else ""
        console.print(f"{_MARKS[status]} {label}{detail}", highlight=False)
    elif message:
        console.print(f"  [dim]{message}[/dim]", highlight=False)


def follow(api: Client, task_id: str) -> str:
    """Print a task's log live (server-sent events) and return its final status."""
    task = api.get(f"/api/scaffolder/v2/tasks/{task_id}")
    names = {s["id"]: s.get("name") or s["id"] for s in task.get("steps") or []}
    path = f"/api/scaffolder/v2/tasks/{task_id}/eventstream"
    last: int | None = None
    for _attempt in range(5):
        try:
            params = {"after": str(last)} if last is not None else {}
            with api._http.stream("GET", path, params=params, timeout=None) as response:
                if response.status_code >= 400:
                    fail(f"cannot follow task {task_id}: HTTP {response.status_code}")
                data: list[str] = []
                for line in response.iter_lines():
                    if line.startswith("data:"):
                        data.append(line[5:].strip())
                    elif line == "" and data:
                        event = jsonlib.loads("\n".join(data))
                        data = []
                        last = int(event["id"])
                        _print_event(event, names)
                        if event.get("type") == "completion":
                            return str(api.get(f"/api/scaffolder/v2/tasks/{task_id}")["status"])
            break
        except httpx.HTTPError:
            continue  # a dropped stream resumes after the last event seen
    return str(api.get(f"/api/scaffolder/v2/tasks/{task_id}")["status"])


def _print_output(output: dict[str, Any]) -> None:
    for link in output.get("links") or []:
        if isinstance(link, dict) and (link.get("url") or link.get("entityRef")):
            title = link.get("title") or link.get("url") or link.get("entityRef")
            target = link.get("url") or link.get("entityRef")
            console.print(f"[bold]{title}[/bold]: {target}", highlight=False)
    for text in output.get("text") or []:
        if isinstance(text, dict) and text.get("content"):
            console.print(f"[bold]{text.get('title', '')}[/bold]\n{text['content']}")


def create(
    template: Annotated[str, typer.Argument(help="Template name or ref (template:ns/name).")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="An answer, KEY=VALUE (dotted keys for nested objects)."),
    ] = None,
    secret: Annotated[
        list[str] | None,
        typer.Option("--secret", help="A secret, KEY=VALUE (never stored or logged)."),
    ] = None,
    values: Annotated[
        Path | None, typer.Option("--values", help="YAML/JSON file of answers ('-': stdin).")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the files and log; change nothing.")
    ] = False,
    wait: Annotated[bool, typer.Option(help="Follow the task until it ends.")] = True,
    url: UrlOpt = None,
    json: JsonOpt = False,
) -> None:
    """Create something from a golden path: run a template with your answers."""
    api = client(url)
    ref = _template_ref(template)
    kind_ns, _, name = ref.partition("/")
    kind, _, namespace = kind_ns.partition(":")
    try:
        schema = api.get(
            "/api/scaffolder/v2/templates/"
            + "/".join(quote(p, safe="") for p in (namespace, kind, name))
            + "/parameter-schema"
        )
        answers = _load_values(values)
        for key, text in _pairs(set_, "--set"):
            _set_path(answers, key, coerce_value(_property_schema(schema, key), text))
        secrets = dict(_pairs(secret, "--secret"))
        body: dict[str, Any] = {"templateRef": ref, "values": answers}
        if secrets:
            body["secrets"] = secrets
        if dry_run:
            result = api.post("/api/scaffolder/v2/dry-run", json=body)
            _report_dry_run(result, json)
            return
        task_id = api.post("/api/scaffolder/v2/tasks", json=body)["id"]
        if not wait:
            print_json({"id": task_id}) if json else console.print(task_id)
            return
        err_console.print(f"task {task_id}", style="dim", highlight=False)
        status = follow(api, task_id) if not json else _wait_quietly(api, task_id)
        task = api.get(f"/api/scaffolder/v2/tasks/{task_id}")
    except ClientError as exc:
        _print_problem(exc)
        raise typer.Exit(1) from exc
    if json:
        print_json(task)
    elif status == "completed":
        console.print("[green]Done.[/green]")
        _print_output(task.get("output") or {})
    else:
        error = (task.get("error") or {}).get("message")
        err_console.print(f"[red]Task {status}[/red]{': ' + error if error else ''}")
    if status != "completed":
        raise typer.Exit(1)


def _wait_quietly(api: Client, task_id: str) -> str:
    import time

    while True:
        status = str(api.get(f"/api/scaffolder/v2/tasks/{task_id}")["status"])
        if status in ("completed", "failed", "cancelled"):
            return status
        time.sleep(0.2)


def _report_dry_run(result: dict[str, Any], json: bool) -> None:
    if json:
        print_json(result)
    else:
        for entry in result.get("log") or []:
            body = entry.get("body") or {}
            if body.get("message"):
                console.print(f"  [dim]{body['message']}[/dim]", highlight=False)
        files = result.get("directoryContents") or []
        console.print(f"[bold]{len(files)} files would be written:[/bold]")
        for item in files:
            console.print(f"  {item['path']}", highlight=False)
        _print_output(result.get("output") or {})
    if result.get("status") not in (None, "completed"):
        raise typer.Exit(1)


@templates_app.command("ls")
def templates_ls(url: UrlOpt = None, json: JsonOpt = False) -> None:
    """List the templates in the catalog."""
    api = client(url)
    try:
        items = api.get("/api/catalog/entities", params={"filter": "kind=template"})
    except ClientError as exc:
        fail(exc.message)
    if json:
        print_json(items)
        return
    table = Table("template", "type", "version", "title")
    for entity in items:
        meta = entity.get("metadata") or {}
        version = (meta.get("annotations") or {}).get("goldpath.dev/template-version", "")
        ref = f"{meta.get('namespace', 'default')}/{meta.get('name')}"
        table.add_row(ref, (entity.get("spec") or {}).get("type", ""), version, meta.get("title"))
    console.print(table)


@tasks_app.command("ls")
def tasks_ls(
    status: Annotated[list[str] | None, typer.Option(help="Only tasks with this status.")] = None,
    limit: Annotated[int, typer.Option(help="How many, newest first.")] = 20,
    url: UrlOpt = None,
    json: JsonOpt = False,
) -> None:
    """List scaffolder tasks, newest first."""
    api = client(url)
    params: dict[str, Any] = {"limit": limit}
    if status:
        params["status"] = status
    try:
        result = api.get("/api/scaffolder/v2/tasks", params=params)
    except ClientError as exc:
        fail(exc.message)
    if json:
        print_json(result)
        return
    table = Table("id", "template", "status", "created")
    for task in result["tasks"]:
        table.add_row(task["id"], task.get("templateRef", ""), task["status"], task["createdAt"])
    console.print(table)
    console.print(f"{len(result['tasks'])} of {result['totalTasks']}", style="dim")


@tasks_app.command("logs")
def tasks_logs(
    task_id: str,
    follow_: Annotated[bool, typer.Option("--follow", "-f", help="Keep following.")] = False,
    url: UrlOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show a task's log (``--follow`` to stream it live)."""
    api = client(url)
    try:
        if follow_ and not json:
            status = follow(api, task_id)
            if status != "completed":
                raise typer.Exit(1)
            return
        events = api.get(f"/api/scaffolder/v2/tasks/{task_id}/events")
    except ClientError as exc:
        fail(exc.message)
    if json:
        print_json(events)
        return
    task = api.get(f"/api/scaffolder/v2/tasks/{task_id}")
    names = {s["id"]: s.get("name") or s["id"] for s in task.get("steps") or []}
    for event in events:
        _print_event(event, names)
    console.print(f"status: {task['status']}", highlight=False)


@tasks_app.command("cancel")
def tasks_cancel(task_id: str, url: UrlOpt = None) -> None:
    """Cancel a task."""
    try:
        result = client(url).post(f"/api/scaffolder/v2/tasks/{task_id}/cancel")
    except ClientError as exc:
        fail(exc.message)
    console.print(f"{task_id}: {result['status']}", highlight=False)


@tasks_app.command("retry")
def tasks_retry(task_id: str, url: UrlOpt = None) -> None:
    """Run a failed or cancelled task again."""
    try:
        client(url).post(f"/api/scaffolder/v2/tasks/{task_id}/retry", json={})
    except ClientError as exc:
        fail(exc.message)
    console.print(f"{task_id}: retrying", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("create")(create)
    app.add_typer(templates_app, name="templates")
    app.add_typer(tasks_app, name="tasks")
