"""``goldpath repos …``: hosted repositories, over the REST API."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from goldpath.core.cli_support import JsonOpt, UrlOpt, client, console, err_console, print_json
from goldpath.core.client import ClientError

repos_app = typer.Typer(help="Hosted git repositories.", no_args_is_help=True)


def _fail(message: str) -> None:
    err_console.print(f"[red]error:[/red] {message}", highlight=False)
    raise typer.Exit(1)


def _split(full: str) -> tuple[str, str]:
    owner, sep, name = full.partition("/")
    if not sep or not owner or not name:
        _fail(f"expected OWNER/NAME, got {full!r}")
    return owner, name


@repos_app.command("ls")
def ls(url: UrlOpt = None, json: JsonOpt = False) -> None:
    """List hosted repositories."""
    try:
        repos = client(url).get("/api/git/repos")
    except ClientError as exc:
        _fail(exc.message)
    if json:
        print_json(repos)
        return
    table = Table("repository", "default branch", "clone URL", "description")
    for repo in repos:
        table.add_row(
            f"{repo['owner']}/{repo['name']}",
            repo["defaultBranch"],
            repo["cloneUrl"],
            repo.get("description", ""),
        )
    console.print(table)


@repos_app.command("create")
def create(
    full_name: Annotated[str, typer.Argument(metavar="OWNER/NAME")],
    description: Annotated[str, typer.Option(help="What the repository holds.")] = "",
    default_branch: Annotated[str, typer.Option(help="Its default branch.")] = "main",
    url: UrlOpt = None,
    json: JsonOpt = False,
) -> None:
    """Create an empty repository; prints its clone URL."""
    owner, name = _split(full_name)
    body = {"owner": owner, "name": name, "description": description}
    body["defaultBranch"] = default_branch
    try:
        repo = client(url).post("/api/git/repos", json=body)
    except ClientError as exc:
        _fail(exc.message)
    if json:
        print_json(repo)
    else:
        console.print(repo["cloneUrl"], highlight=False)


@repos_app.command("delete")
def delete(
    full_name: Annotated[str, typer.Argument(metavar="OWNER/NAME")],
    url: UrlOpt = None,
) -> None:
    """Delete a repository and everything in it."""
    owner, name = _split(full_name)
    try:
        client(url).delete(f"/api/git/repos/{owner}/{name}")
    except ClientError as exc:
        _fail(exc.message)
    console.print(f"deleted {owner}/{name}", highlight=False)
