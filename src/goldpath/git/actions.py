"""``publish:git``: the workspace becomes a new repository in goldpath's hosted git."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from goldpath.core.errors import ConflictError, InputError
from goldpath.git.service import GitService, check_name
from goldpath.scaffolder.actions.base import Action, ActionContext

#: A RepoUrlPicker host that always means "this goldpath", whatever its address.
ALIAS_HOST = "goldpath"


def parse_repo_url(ctx: ActionContext, git: GitService) -> tuple[str, str]:
    raw = ctx.input.get("repoUrl")
    if not isinstance(raw, str) or "?" not in raw:
        raise InputError(
            "repoUrl must look like goldpath?owner=<owner>&repo=<name>", where="repoUrl"
        )
    host, _, query = raw.partition("?")
    own = urlsplit(git.base_url()).netloc
    if host not in (ALIAS_HOST, own):
        raise InputError(
            f"repoUrl host {host!r} is not goldpath's hosted git (use {ALIAS_HOST!r} or {own!r})",
            where="repoUrl",
        )
    params = parse_qs(query)
    owner = (params.get("owner") or [""])[0]
    repo = (params.get("repo") or [""])[0]
    if not owner or not repo:
        raise InputError("repoUrl needs both owner and repo", where="repoUrl")
    return check_name(owner, "owner"), check_name(repo, "repo")


def _author(ctx: ActionContext) -> tuple[str, str]:
    name = ctx.input.get("gitAuthorName")
    email = ctx.input.get("gitAuthorEmail")
    entity = ctx.user.entity or {}
    profile = (entity.get("spec") or {}).get("profile") or {}
    name = name or profile.get("displayName") or (entity.get("metadata") or {}).get("name")
    email = email or profile.get("email")
    return str(name or "Scaffolder"), str(email or "scaffolder@goldpath.local")


def _publish(ctx: ActionContext) -> None:
    git: GitService = ctx.platform.services["git"]
    owner, name = parse_repo_url(ctx, git)
    branch = str(ctx.input.get("defaultBranch") or "main")
    source = ctx.resolve_path(ctx.input.get("sourcePath"), what="sourcePath")
    if not source.is_dir():
        raise InputError(
            f"sourcePath {ctx.input.get('sourcePath')!r} is not a folder", where="sourcePath"
        )
    remote = git.clone_url(owner, name)
    contents = git.contents_url(owner, name, branch)
    if ctx.dry_run:
        ctx.log(f"Dry run: would create {owner}/{name} and push {branch} to it")
        ctx.output("remoteUrl", remote)
        ctx.output("repoContentsUrl", contents)
        ctx.output("commitHash", "0" * 40)
        return
    description = str(ctx.input.get("description") or "")
    try:
        git.create_repository(owner, name, description=description, default_branch=branch)
    except ConflictError as exc:
        raise ConflictError(
            f"repository {owner}/{name} already exists; choose another name", where="repoUrl"
        ) from exc
    author_name, author_email = _author(ctx)
    sha = git.publish_directory(
        owner,
        name,
        source,
        branch=branch,
        message=str(ctx.input.get("gitCommitMessage") or "initial commit"),
        author_name=author_name,
        author_email=author_email,
        pusher=ctx.user.ref or "scaffolder",
    )
    ctx.log(f"Published {owner}/{name} ({branch} at {sha[:12]})")
    ctx.output("remoteUrl", remote)
    ctx.output("repoContentsUrl", contents)
    ctx.output("commitHash", sha)


_INPUT: dict[str, Any] = {
    "type": "object",
    "required": ["repoUrl"],
    "properties": {
        "repoUrl": {
            "type": "string",
            "description": "Where to create the repository, as RepoUrlPicker writes it: "
            "goldpath?owner=<owner>&repo=<name>",
        },
        "description": {"type": "string", "description": "The repository's description."},
        "defaultBranch": {"type": "string", "description": "Default branch; main if unset."},
        "sourcePath": {
            "type": "string",
            "description": "Folder of the workspace to publish; the whole workspace if unset.",
        },
        "gitCommitMessage": {"type": "string", "description": "Default: initial commit."},
        "gitAuthorName": {"type": "string"},
        "gitAuthorEmail": {"type": "string"},
        "repoVisibility": {
            "type": "string",
            "enum": ["private", "internal", "public"],
            "description": "Accepted for compatibility with publish:github; hosted git "
            "repositories are visible to everyone who can reach goldpath.",
        },
    },
}


def publish_git_action() -> Action:
    return Action(
        "publish:git",
        _publish,
        description="Creates a repository in goldpath's hosted git with the workspace as its "
        "first commit.",
        input_schema=_INPUT,
        output_schema={
            "type": "object",
            "properties": {
                "remoteUrl": {"type": "string", "description": "Clone URL."},
                "repoContentsUrl": {
                    "type": "string",
                    "description": "URL of the default branch's files (for catalog:register).",
                },
                "commitHash": {"type": "string"},
            },
        },
        examples=[
            {
                "description": "Publish the workspace and register it",
                "example": "steps:\n  - action: publish:git\n    id: publish\n    input:\n"
                "      repoUrl: goldpath?owner=acme&repo=${{ parameters.name }}\n",
            }
        ],
        supports_dry_run=True,
    )
