"""``goldpath repos …``: hosted repositories, over the REST API.

Exit codes: 0 done, 1 the server refused or could not be reached, 2 bad usage.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import typer
from rich.table import Table

from goldpath.core.cli_support import JsonOpt, UrlOpt, client, console, print_json

repos_app = typer.Typer(help="Hosted git repositories.", no_args_is_help=True)

FullName = Annotated[str, typer.Argument(metavar="OWNER/NAME", help="e.g. acme/payments")]


def _split(full_name: str) -> tuple[str, str]:
    owner, sep, name = full_name.partition("/")
    if not sep or not owner or not name or "/" in name:
        raise typer.BadParameter(f"expected OWNER/NAME, got {full_name!r}")
    return owner, name


@repos_app.command("ls")
def ls(url: UrlOpt = None, json: JsonOpt = False) -> None:
    """List hosted repositories."""
    repos = client(url).get("/api/git/repos")
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
    full_name: FullName,
    description: Annotated[str, typer.Option(help="What the repository holds.")] = "",
    default_branch: Annotated[str, typer.Option(help="Its default branch.")] = "main",
    url: UrlOpt = None,
    json: JsonOpt = False,
) -> None:
    """Create an empty repository; prints its clone URL."""
    owner, name = _split(full_name)
    body = {
        "owner": owner,
        "name": name,
        "description": description,
        "defaultBranch": default_branch,
    }
    repo = client(url).post("/api/git/repos", json=body)
    if json:
        print_json(repo)
    else:
        console.print(repo["cloneUrl"], highlight=False)


@repos_app.command("delete")
def delete(full_name: FullName, url: UrlOpt = None) -> None:
    """Delete a repository and its whole history."""
    owner, name = _split(full_name)
    client(url).delete(f"/api/git/repos/{quote(owner, safe='')}/{quote(name, safe='')}")
    console.print(f"deleted {full_name}", highlight=False)
