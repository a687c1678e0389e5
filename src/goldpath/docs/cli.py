"""``goldpath docs ...``: builds and status through the REST API, and a local preview.

Exit codes: 0 done (or the docs were already up to date), 1 the build failed or the server
said no, 2 bad arguments.
"""

from __future__ import annotations

import functools
import signal
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.table import Column, Table

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

docs_app = typer.Typer(help="TechDocs: build, check and preview docs.", no_args_is_help=True)

RefArg = Annotated[
    str, typer.Argument(help="Entity ref: kind:namespace/name, or a component's name.")
]


def _path(ref: str) -> str:
    from goldpath.catalog.refs import parse_entity_ref

    try:
        parsed = parse_entity_ref(ref, default_kind="component")
    except Exception as exc:  # noqa: BLE001 - any malformed ref is the user's input
        fail(f"invalid entity ref {ref!r}: {exc}", code=2)
    return "/".join(quote(p.lower(), safe="") for p in (parsed.namespace, parsed.kind, parsed.name))


def _follow(
    api: Client, path: str, build: dict[str, Any], *, stream: bool, timeout: float
) -> dict[str, Any] | None:
    """Poll one build until it ends; print its new log lines as they come when ``stream``."""
    printed = 0
    deadline = time.monotonic() + timeout
    with err_console.status("Waiting for the docs build") if not stream else _nothing():
        while time.monotonic() < deadline:
            try:
                current = api.get(f"/api/techdocs/builds/{path}/{build['id']}")
            except ClientError as exc:
                if exc.status == 404:
                    return None  # a check that found nothing to build
                raise
            lines = (current.get("log") or "").splitlines()
            if stream:
                _print_log(lines[printed:])
                printed = max(printed, len(lines))
            if current["status"] in ("succeeded", "failed"):
                return dict(current)
            time.sleep(0.4)
    fail(f"the build did not finish within {timeout:g} s; see `goldpath docs status`")


def _print_log(lines: list[str]) -> None:
    """Log lines as they are: no wrapping, no markup."""
    for line in lines:
        sys.stdout.write(line + "\n")
    sys.stdout.flush()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *_exc: object) -> None:
        return None


@docs_app.command("build")
def build(
    ref: RefArg,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Print the build log as it is written.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the build.")] = 900.0,
    url: UrlOpt = None,
    json: JsonOpt = False,
) -> None:
    """Build an entity's docs now (changed or not) and wait for the result."""
    path = _path(ref)
    api = client(url)
    queued = api.post(f"/api/techdocs/builds/{path}")
    if not json:
        err_console.print(f"build {queued['id']} queued for {queued['entityRef']}", highlight=False)
    done = _follow(api, path, queued, stream=follow and not json, timeout=timeout)
    if done is None:
        if json:
            print_json({"updated": False})
        else:
            console.print("docs are up to date")
        return
    if json:
        print_json(done)
    elif not follow:
        _print_log((done.get("log") or "").splitlines())
    if done["status"] != "succeeded":
        fail(f"docs build failed: {done.get('error') or 'see the log above'}")
    if not json:
        warnings = done.get("warnings") or 0
        console.print(
            f"[green]✓[/green] docs built: {done.get('pages')} pages in {done.get('seconds')} s"
            + (f", {warnings} warning{'s' if warnings != 1 else ''}" if warnings else ""),
            highlight=False,
        )


@docs_app.command("status")
def status(ref: RefArg, url: UrlOpt = None, json: JsonOpt = False) -> None:
    """Show an entity's docs source, latest build and build history."""
    path = _path(ref)
    result = client(url).get(f"/api/techdocs/builds/{path}")
    if json:
        print_json(result)
        return
    source = result.get("source") or {}
    console.print(f"[bold]{result['entityRef']}[/bold]", highlight=False)
    if source.get("error"):
        err_console.print(f"[red]docs source:[/red] {source['error']}", highlight=False)
    else:
        console.print(f"source: {source.get('description')}", highlight=False)
    metadata = result.get("metadata")
    console.print(
        f"served: {metadata['site_name']} (etag {metadata['etag'][:12]})"
        if metadata
        else "served: nothing yet",
        highlight=False,
    )
    table = Table("build", "status", "reason", "finished (UTC)", "seconds", "warnings")
    for item in result["builds"]:
        table.add_row(
            item["id"][:8],
            item["status"],
            item["reason"],
            (item.get("finishedAt") or "")[:19].replace("T", " "),
            str(item.get("seconds") if item.get("seconds") is not None else ""),
            str(item.get("warnings") or ""),
        )
    console.print(table)
    latest = result.get("latest")
    if latest and latest["status"] == "failed":
        console.print(f"[red]latest build failed:[/red] {latest['error']}", soft_wrap=True)
        raise typer.Exit(1)


@docs_app.command("ls")
def list_docs(url: UrlOpt = None, json: JsonOpt = False) -> None:
    """Every entity with docs and the state of its latest build."""
    rows = client(url).get("/api/techdocs/entities")
    if json:
        print_json(rows)
        return
    table = Table(Column("entity", no_wrap=True), "latest build", "error")
    for row in rows:
        latest = row.get("latest") or {}
        table.add_row(row["entityRef"], latest.get("status", "-"), latest.get("error") or "")
    console.print(table)


@docs_app.command("serve")
def serve(
    directory: Annotated[Path, typer.Argument(help="Folder holding mkdocs.yml.")] = Path("."),
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free port).")] = 8000,
    strict: Annotated[bool, typer.Option(help="Fail on warnings, as --strict.")] = False,
    watch: Annotated[bool, typer.Option(help="Rebuild when the docs change.")] = True,
) -> None:
    """Preview docs locally, built as goldpath builds them (no server needed)."""
    from goldpath.docs.preview import Preview

    source = directory.resolve()
    preview = Preview(source, strict=strict)
    if preview.config is None:
        fail(f"no mkdocs.yml in {source}", code=2)
    with tempfile.TemporaryDirectory(prefix="goldpath-docs-serve-") as tmp:
        preview.work_root = Path(tmp)
        ok = preview.rebuild(console.print)
        handler = functools.partial(_Handler, preview)
        try:
            server = ThreadingHTTPServer((host, port), handler)
        except OSError as exc:
            fail(f"cannot listen on {host}:{port}: {exc}")
        bound = server.server_address[1]
        signal.signal(signal.SIGTERM, lambda *_: _stop(server))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        state = "" if ok else " (the last build failed; fix it and save)"
        console.print(f"Serving docs at http://{host}:{bound}/{state}", highlight=False)
        sys.stdout.flush()
        try:
            while thread.is_alive():
                thread.join(1.0)
                if watch and preview.changed():
                    preview.rebuild(console.print)
        except KeyboardInterrupt:
            pass
        finally:
            server.shutdown()
            server.server_close()


def _stop(server: ThreadingHTTPServer) -> None:
    threading.Thread(target=server.shutdown, daemon=True).start()


class _Handler(SimpleHTTPRequestHandler):
    def __init__(self, preview: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, directory=str(preview.site), **kwargs)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        return
