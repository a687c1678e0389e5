"""``goldpath search TERM``, ``goldpath search reindex``: clients of the search REST API."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

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

TYPE_ALIASES = {
    "catalog": "software-catalog",
    "entity": "software-catalog",
    "entities": "software-catalog",
    "template": "software-template",
    "templates": "software-template",
    "docs": "techdocs",
}


class _TermFirstGroup(TyperGroup):
    """``goldpath search TERM …`` runs ``query``; ``reindex`` and ``status`` are commands."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["query", *args]
        return super().parse_args(ctx, args)


search_app = typer.Typer(
    cls=_TermFirstGroup,
    help="Search the catalog, golden paths and docs: goldpath search TERM.",
    no_args_is_help=True,
)


def _marked(text: str, pre: str, post: str) -> str:
    """Highlight tags to Rich markup; everything else printed as it is."""
    out = []
    for i, part in enumerate(text.replace(post, pre).split(pre)):
        out.append(f"[bold yellow]{escape(part)}[/bold yellow]" if i % 2 else escape(part))
    return "".join(out)


def _where(result: dict[str, Any]) -> str:
    document = result["document"]
    ref = (document.get("authorization") or {}).get("resourceRef")
    return str(ref or document.get("location", ""))


@search_app.command("query")
def query(
    term: Annotated[str, typer.Argument(help='Words to find; "quotes" for a phrase.')] = "",
    type_: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            help="software-catalog (catalog), software-template "
            "(template), techdocs (docs); repeatable.",
        ),
    ] = None,
    kind: Annotated[list[str] | None, typer.Option(help="Entity kind; repeatable.")] = None,
    owner: Annotated[list[str] | None, typer.Option(help="Owner (team-a or a ref).")] = None,
    lifecycle: Annotated[list[str] | None, typer.Option(help="Lifecycle.")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Tag; repeatable.")] = None,
    filters: Annotated[
        list[str] | None, typer.Option("--filter", help="name=value, e.g. type=service.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many results.", min=1)] = 25,
    url: UrlOpt = None,
    json: JsonOpt = False,
) -> None:
    """Search, best matches first (the default command: goldpath search TERM)."""
    params: list[tuple[str, str]] = [("term", term)]
    params += [("types[]", TYPE_ALIASES.get(t, t)) for t in type_ or []]
    given = {"kind": kind, "owner": owner, "lifecycle": lifecycle, "tags": tag}
    for name, values in given.items():
        params += [(f"filters[{name}][]", v) for v in values or []]
    for item in filters or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            fail(f"--filter {item!r} must be name=value")
        params.append((f"filters[{name.strip()}][]", value.strip()))
    # Counting facets costs the server a pass over every match: only JSON output shows them.
    params.append(("facets", "all" if json else "none"))
    api = client(url)
    results: list[dict[str, Any]] = []
    page: dict[str, Any] = {}
    cursor: str | None = None
    while len(results) < limit:
        paged = params + [("pageLimit", str(min(100, limit - len(results))))]
        if cursor:
            paged.append(("pageCursor", cursor))
        page = api.get("/api/search/query", params=paged)
        results.extend(page["results"])
        cursor = page.get("nextPageCursor")
        if not cursor:
            break
    results = results[:limit]
    total = page.get("numberOfResults", len(results))
    if json:
        print_json({"results": results, "numberOfResults": total, "facets": page.get("facets")})
        return
    if not results:
        err_console.print(f"no results for {term!r}" if term else "no results", highlight=False)
        return
    table = Table("TYPE", "TITLE", "WHERE", "MATCH", box=None, pad_edge=False)
    for result in results:
        document = result["document"]
        marks = result.get("highlight") or {}
        fields = marks.get("fields") or {}
        pre, post = marks.get("preTag", ""), marks.get("postTag", "")
        title = fields.get("title") or document.get("title", "")
        text = fields.get("text") or document.get("text", "")
        text = " ".join(str(text).split())[:160]
        table.add_row(
            result["type"],
            _marked(title, pre, post) if pre else escape(title),
            escape(_where(result)),
            _marked(text, pre, post) if pre else escape(text),
        )
    console.print(table)
    err_console.print(f"{len(results)} of {total} results", highlight=False)


@search_app.command("reindex")
def reindex(
    wait: Annotated[bool, typer.Option(help="Wait until the index is rebuilt.")] = True,
    url: UrlOpt = None,
    json: JsonOpt = False,
) -> None:
    """Rebuild the search index from the catalog (in the background on the server)."""
    api = client(url)
    task_id = api.post("/api/search/reindex")["taskId"]
    task: dict[str, Any] = {}
    if wait:
        task = wait_for_task(api, task_id, label="reindexing")
    if json:
        print_json({"taskId": task_id, "task": task or None})
        return
    if not wait:
        console.print(f"reindex scheduled (task {task_id})")
        return
    if task.get("status") != "succeeded":
        fail(f"reindex {task.get('status', 'did not finish')}: {task.get('error') or ''}".strip())
    outcome = task.get("result") or {}
    console.print(
        f"[green]✓[/green] {outcome.get('entities', 0)} entities: "
        f"{outcome.get('written', 0)} documents written, {outcome.get('deleted', 0)} deleted, "
        f"{outcome.get('unchanged', 0)} unchanged ({outcome.get('seconds', 0)} s)"
    )


@search_app.command("status")
def status(url: UrlOpt = None, json: JsonOpt = False) -> None:
    """What the index holds, and whether it follows the catalog."""
    result = client(url).get("/api/search/status")
    if json:
        print_json(result)
        return
    for doc_type, count in result["documents"].items():
        console.print(f"{doc_type:<18} {count:>8}")
    state = "up to date" if result["upToDate"] else "out of date (a reindex is due)"
    console.print(
        f"{result['indexedEntities']} of {result['catalogEntities']} catalog entities; {state}"
    )
