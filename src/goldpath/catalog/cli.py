"""``goldpath catalog ...``: a client of the catalog REST API."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

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
    wait_for_task,
)
from goldpath.core.client import ClientError

catalog_app = typer.Typer(help="Software catalog: locations and entities.", no_args_is_help=True)


def _guess_type(target: str) -> str:
    if target.startswith(("http://", "https://")):
        repo = target.split("//", 2)
        return "git" if ".git" in target.split("?")[0] or len(repo) > 2 else "url"
    return "file"


def _ref_path(ref: str) -> str:
    kind, _, rest = ref.partition(":") if ":" in ref else ("component", "", ref)
    namespace, _, name = rest.rpartition("/")
    return "/".join(quote(p, safe="") for p in (kind, namespace or "default", name))


@catalog_app.command("add")
def add(
    target: Annotated[
        str, typer.Argument(help="File path or glob, URL, or git REPO[//PATH][?ref=REF].")
    ],
    type_: Annotated[
        str | None, typer.Option("--type", help="file, url or git (guessed when omitted).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be added.")] = False,
    wait: Annotated[bool, typer.Option(help="Wait until the location is processed.")] = True,
    url: UrlOpt = None,
    json: JsonOpt = False,
) -> None:
    """Register a location (a catalog-info.yaml, a glob, a URL or a git repository)."""
    kind = type_ or _guess_type(target)
    if kind == "file" and not Path(target).is_absolute():
        # Paths are read by the server; on a laptop it shares our filesystem.
        target = str(Path(target).resolve())
    api = client(url)
    params = {"dryRun": "true"} if dry_run else {}
    result = api.post(
        "/api/catalog/locations", json={"type": kind, "target": target}, params=params
    )
    if dry_run:
        if json:
            print_json(result)
            return
        for entity in result["entities"]:
            meta = entity["metadata"]
            console.print(f"  {entity['kind']}:{meta.get('namespace', 'default')}/{meta['name']}")
        for error in result.get("errors", []):
            err_console.print(
                f"[red]✗[/red] {error.get('where')}: {error['message']}", highlight=False
            )
        console.print(f"{len(result['entities'])} entities would be added")
        return
    location = result["location"]
    task: dict[str, Any] = {}
    if wait and result.get("taskId"):
        task = wait_for_task(api, result["taskId"], label=f"processing {kind}:{target}")
    if json:
        print_json({**result, "task": task or None})
        return
    console.print(f"[green]✓[/green] registered location {location['id']} ({kind}:{target})")
    if task:
        outcome = task.get("result") or {}
        console.print(
            f"  {outcome.get('entities', 0)} entities, {outcome.get('stitched', 0)} updated, "
            f"{len(outcome.get('errors', []))} errors"
        )
        for error in outcome.get("errors", [])[:20]:
            err_console.print(
                f"  [red]✗[/red] {error.get('where')}: {error['message']}", highlight=False
            )
        if task["status"] != "succeeded":
            fail(f"processing {task['status']}: {task.get('error')}")


@catalog_app.command("ls")
def ls(
    kind: Annotated[str | None, typer.Option("--kind", help="Only this kind.")] = None,
    owner: Annotated[
        str | None, typer.Option("--owner", help="Only entities owned by this ref.")
    ] = None,
    filters: Annotated[
        list[str] | None, typer.Option("--filter", help="key=value (repeatable, AND).")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 500,
    url: UrlOpt = None,
    json: JsonOpt = False,
) -> None:
    """List entities."""
    parts = list(filters or [])
    if kind:
        parts.append(f"kind={kind}")
    if owner:
        ref = (
            owner
            if ":" in owner
            else f"group:default/{owner}"
            if "/" not in owner
            else f"group:{owner}"
        )
        parts.append(f"relations.ownedBy={ref}")
    for part in parts:
        if "=" not in part and not part.strip():
            fail(f"--filter {part!r} must be key=value or key")
    api = client(url)
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": min(limit, 500), "orderField": "metadata.name,asc"}
    if parts:
        params["filter"] = ",".join(parts)
    while len(items) < limit:
        page = api.get("/api/catalog/entities/by-query", params=params)
        items.extend(page["items"])
        cursor = page.get("pageInfo", {}).get("nextCursor")
        if not cursor:
            break
        params = {"cursor": cursor, "limit": min(limit - len(items), 500)}
    items = items[:limit]
    if json:
        print_json(items)
        return
    table = Table("KIND", "REF", "TYPE", "OWNER", "LIFECYCLE", box=None, pad_edge=False)
    for entity in items:
        meta, spec = entity["metadata"], entity.get("spec") or {}
        table.add_row(
            entity["kind"],
            f"{meta.get('namespace', 'default')}/{meta['name']}",
            str(spec.get("type", "")),
            str(spec.get("owner", "")),
            str(spec.get("lifecycle", "")),
        )
    console.print(table)
    err_console.print(f"{len(items)} entities")


@catalog_app.command("get")
def get(
    ref: Annotated[str, typer.Argument(help="kind:namespace/name (kind defaults to component).")],
    url: UrlOpt = None,
    json: JsonOpt = False,
) -> None:
    """Show one entity with its relations and processing errors."""
    entity = client(url).get(f"/api/catalog/entities/by-name/{_ref_path(ref)}")
    if json:
        print_json(entity)
        return
    shown = {k: v for k, v in entity.items() if k not in ("relations", "status")}
    sys.stdout.write(yaml.safe_dump(shown, sort_keys=False, allow_unicode=True))
    if entity.get("relations"):
        console.print("[bold]relations:[/bold]")
        for rel in entity["relations"]:
            console.print(f"  {rel['type']:<16} {rel['targetRef']}", highlight=False)
    for item in (entity.get("status") or {}).get("items", []):
        err_console.print(f"[red]✗ {item['message']}[/red]", highlight=False)


@catalog_app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(help="catalog-info.yaml files to check.")],
    url: UrlOpt = None,
) -> None:
    """Validate entity files against the catalog's rules; exit 1 on any problem."""
    api = client(url)
    problems = 0
    checked = 0
    for path in files:
        try:
            documents = [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]
        except OSError as exc:
            err_console.print(f"[red]✗[/red] {path}: {exc.strerror}", highlight=False)
            problems += 1
            continue
        except yaml.YAMLError as exc:
            err_console.print(f"[red]✗[/red] {path}: invalid YAML: {exc}", highlight=False)
            problems += 1
            continue
        for index, entity in enumerate(documents, start=1):
            checked += 1
            try:
                api.post(
                    "/api/catalog/validate-entity",
                    json={"entity": entity, "location": f"file:{path.resolve()}"},
                )
            except ClientError as exc:
                if exc.status != 400 or not isinstance(exc.body, dict):
                    raise
                for error in exc.body.get("errors", []):
                    problems += 1
                    err_console.print(
                        f"[red]✗[/red] {path} (document {index}): {error['message']}",
                        highlight=False,
                    )
    if problems:
        err_console.print(f"{problems} problem(s) in {checked} entities")
        raise typer.Exit(1)
    console.print(f"[green]✓[/green] {checked} entities valid")


@catalog_app.command("refresh")
def refresh(
    ref: Annotated[str | None, typer.Argument(help="Entity to refresh; all when omitted.")] = None,
    wait: Annotated[bool, typer.Option(help="Wait until processing finishes.")] = True,
    url: UrlOpt = None,
) -> None:
    """Re-read sources now instead of at the next scheduled refresh."""
    api = client(url)
    body = {"entityRef": ref} if ref else {}
    task_ids = api.post("/api/catalog/refresh", json=body)["taskIds"]
    failed = 0
    for task_id in task_ids if wait else []:
        task = wait_for_task(api, task_id, label="refreshing")
        failed += task.get("status") != "succeeded"
    console.print(f"[green]✓[/green] refreshed {len(task_ids)} location(s)")
    if failed:
        fail(f"{failed} refresh(es) failed; see `goldpath catalog errors`")


@catalog_app.command("rm")
def rm(
    location_id: Annotated[str, typer.Argument(help="Location id (see `catalog locations`).")],
    url: UrlOpt = None,
) -> None:
    """Unregister a location and delete the entities it produced."""
    client(url).delete(f"/api/catalog/locations/{quote(location_id, safe='')}")
    console.print(f"[green]✓[/green] removed location {location_id}")


@catalog_app.command("locations")
def locations(url: UrlOpt = None, json: JsonOpt = False) -> None:
    """List registered locations."""
    rows = [item["data"] for item in client(url).get("/api/catalog/locations")]
    if json:
        print_json(rows)
        return
    table = Table("ID", "TYPE", "TARGET", box=None, pad_edge=False)
    for row in rows:
        table.add_row(row["id"], row["type"], row["target"])
    console.print(table)


@catalog_app.command("errors")
def errors(url: UrlOpt = None, json: JsonOpt = False) -> None:
    """Show processing errors per entity and location."""
    items = client(url).get("/api/catalog/processing-errors")["items"]
    if json:
        print_json(items)
        return
    if not items:
        console.print("[green]✓[/green] no processing errors")
        return
    for item in items:
        where = item.get("source") or item.get("location") or ""
        console.print(f"[red]✗[/red] {item['entityRef']} ({where})", highlight=False)
        console.print(f"    {item['name']}: {item['message']}", highlight=False)
    raise typer.Exit(1)
