"""``/api/git/repos``: hosted repositories."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response

from goldpath.core.errors import InputError
from goldpath.git.http import Git

router = APIRouter(prefix="/api/git", tags=["git"])


@router.get("/repos", summary="Hosted repositories")
def list_repos(git: Git) -> list[dict[str, Any]]:
    return [repo.as_api() for repo in git.list_repositories()]


@router.post("/repos", status_code=201, summary="Create an empty hosted repository")
def create_repo(body: Annotated[Any, Body()], git: Git) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InputError("the request body must be a JSON object")
    repo = git.create_repository(
        str(body.get("owner") or ""),
        str(body.get("name") or ""),
        description=str(body.get("description") or ""),
        default_branch=str(body.get("defaultBranch") or "main"),
    )
    return repo.as_api()


@router.get("/repos/{owner}/{name}", summary="One repository, with its branches")
def get_repo(owner: str, name: str, git: Git) -> dict[str, Any]:
    return git.get_repository(owner, name, branches=True).as_api()


@router.delete("/repos/{owner}/{name}", status_code=204, summary="Delete a repository")
def delete_repo(owner: str, name: str, git: Git) -> Response:
    git.delete_repository(owner, name)
    return Response(status_code=204)
