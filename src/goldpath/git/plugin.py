"""Hosted git registers itself through the plugin hooks, publish:git included."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from goldpath.core.hookspecs import hookimpl

if TYPE_CHECKING:
    import typer
    from fastapi import APIRouter

    from goldpath.core.platform import Platform


@hookimpl
def goldpath_services(platform: Platform) -> dict[str, Any]:
    from goldpath.git.service import GitService

    return {"git": GitService(platform)}


@hookimpl
def goldpath_routers(platform: Platform) -> list[APIRouter]:
    from goldpath.git import api, http

    return [api.router, http.router]


@hookimpl
def goldpath_cli(app: typer.Typer) -> None:
    from goldpath.git.cli import repos_app

    app.add_typer(repos_app, name="repos")


@hookimpl
def goldpath_url_readers(platform: Platform) -> list[Any]:
    from goldpath.git.readers import HostedGitReader

    return [HostedGitReader(platform.services["git"])]


@hookimpl
def goldpath_scaffolder_actions(platform: Platform) -> list[Any]:
    from goldpath.git.actions import publish_git_action

    return [publish_git_action()]
