"""``/api/git/repos``: hosted repositories."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from goldpath.git.http import Git
from goldpath.git.model import CreateRepositoryRequest

router = APIRouter(prefix="/api/git", tags=["git"])


@router.get("/repos", summary="Hosted repositories")
def list_repos(git: Git) -> list[dict[str, Any]]:
    return [repo.as_api() for repo in git.list_repositories()]


@router.post("/repos", status_code=201, summary="Create an empty hosted repository")
def create_repo(body: CreateRepositoryRequest, git: Git) -> dict[str, Any]:
    repo = git.create_repository(
        body.owner,
        body.name,
        description=body.description,
        default_branch=body.default_branch,
    )
    return repo.as_api()


@router.get("/repos/{owner}/{name}", summary="One repository, with its branches")
def get_repo(owner: str, name: str, git: Git) -> dict[str, Any]:
    return git.get_repository(owner, name, branches=True).as_api()


@router.delete("/repos/{owner}/{name}", status_code=204, summary="Delete a repository")
def delete_repo(owner: str, name: str, git: Git) -> Response:
    git.delete_repository(owner, name)
    return Response(status_code=204)
