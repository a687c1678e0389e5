"""``publish:git``: the workspace becomes a new repository in goldpath's hosted git.

Its inputs are named as Backstage's ``publish:github`` names them, so a template written for
GitHub needs only its action id (and the RepoUrlPicker's host) changed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from goldpath.core.errors import ConflictError, InputError, NotFoundError
from goldpath.git.plumbing import ZERO, check_branch, check_name
from goldpath.git.service import GitService
from goldpath.scaffolder.actions.base import Action, ActionContext
from goldpath.scaffolder.actions.publish import author, parse_repo_url, source_dir

#: A RepoUrlPicker host that always means "this goldpath", whatever its address.
ALIAS_HOST = "goldpath"


def own_repo(ctx: ActionContext, git: GitService) -> tuple[str, str]:
    """``repoUrl``'s (owner, name), which must name goldpath's own hosted git."""
    target = parse_repo_url(ctx)
    own = urlsplit(git.base_url()).netloc.lower()
    if target.host not in (ALIAS_HOST, own):
        raise InputError(
            f"repoUrl host {target.host!r} is not goldpath's hosted git "
            f"(use {ALIAS_HOST!r} or {own!r})",
            where="repoUrl",
        )
    try:
        return check_name(target.owner, "owner"), check_name(target.repo, "repo")
    except InputError as exc:
        raise InputError(exc.message, where="repoUrl") from exc


def _publish(ctx: ActionContext) -> None:
    git: GitService = ctx.platform.services["git"]
    owner, name = own_repo(ctx, git)
    branch = check_branch(str(ctx.input.get("defaultBranch") or "main"), where="defaultBranch")
    source = source_dir(ctx)
    remote = git.clone_url(owner, name)
    contents = git.contents_url(owner, name, branch)
    message = str(ctx.input.get("gitCommitMessage") or "initial commit")
    author_name, author_email = author(ctx)

    if ctx.dry_run:
        try:
            git.get_repository(owner, name)
            ctx.log(f"Repository {owner}/{name} already exists: a real run would fail", "warn")
        except NotFoundError:
            pass
        files = sum(1 for p in source.rglob("*") if p.is_file())
        ctx.log(
            f"Dry run: would create {owner}/{name} and commit {files} files to {branch} "
            f"as {author_name} <{author_email}>: {message!r}"
        )
        ctx.output("remoteUrl", remote)
        ctx.output("repoContentsUrl", contents)
        ctx.output("commitHash", ZERO)
        return

    description = str(ctx.input.get("description") or "")
    try:
        git.create_repository(owner, name, description=description, default_branch=branch)
    except ConflictError as exc:
        raise ConflictError(
            f"repository {owner}/{name} already exists; choose another name", where="repoUrl"
        ) from exc
    try:
        sha = git.publish_directory(
            owner,
            name,
            source,
            branch=branch,
            message=message,
            author_name=author_name,
            author_email=author_email,
            pusher=ctx.user.ref or "scaffolder",
        )
    except BaseException:
        # Nothing half-made: a retry of the step must not meet an empty repository.
        git.delete_repository(owner, name)
        raise
    ctx.log(f"Published {owner}/{name}: {branch} at {sha[:12]} ({remote})")
    ctx.output("remoteUrl", remote)
    ctx.output("repoContentsUrl", contents)
    ctx.output("commitHash", sha)


INPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["repoUrl"],
    "properties": {
        "repoUrl": {
            "title": "Repository location",
            "type": "string",
            "description": "Where to create the repository, as RepoUrlPicker writes it: "
            "goldpath?owner=<owner>&repo=<name> (the host is 'goldpath' or this server's "
            "own host:port).",
        },
        "description": {
            "title": "Repository description",
            "type": "string",
            "description": "What the repository holds.",
        },
        "defaultBranch": {
            "title": "Default branch",
            "type": "string",
            "default": "main",
            "description": "The branch the first commit goes to, and the repository's HEAD.",
        },
        "sourcePath": {
            "title": "Source path",
            "type": "string",
            "description": "Folder of the workspace to publish; the whole workspace if unset.",
        },
        "gitCommitMessage": {
            "title": "Commit message",
            "type": "string",
            "default": "initial commit",
            "description": "Message of the first commit.",
        },
        "gitAuthorName": {
            "title": "Author name",
            "type": "string",
            "description": "Author of the first commit; by default the user running the "
            "template (else 'Scaffolder').",
        },
        "gitAuthorEmail": {
            "title": "Author email",
            "type": "string",
            "description": "Author's email; by default the user's profile email (else "
            "scaffolder@goldpath.local).",
        },
        "repoVisibility": {
            "title": "Repository visibility",
            "type": "string",
            "enum": ["private", "internal", "public"],
            "description": "Accepted for compatibility with publish:github and ignored: hosted "
            "git repositories are visible to everyone who can reach goldpath.",
        },
    },
}

OUTPUT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "remoteUrl": {
            "title": "Clone URL",
            "type": "string",
            "description": "The repository's clone URL: <base>/git/<owner>/<name>.git",
        },
        "repoContentsUrl": {
            "title": "Contents URL",
            "type": "string",
            "description": "URL of the default branch's files, <base>/git/<owner>/<name>/blob/"
            "<branch>; append /catalog-info.yaml for catalog:register.",
        },
        "commitHash": {
            "title": "Commit",
            "type": "string",
            "description": "The first commit's sha (40 zeros in a dry run).",
        },
    },
}


def publish_git_action() -> Action:
    return Action(
        "publish:git",
        _publish,
        description="Creates a repository in goldpath's hosted git with the workspace (or "
        "sourcePath) as its first commit.",
        input_schema=INPUT_SCHEMA,
        output_schema=OUTPUT_SCHEMA,
        examples=[
            {
                "description": "Publish the workspace and register its catalog-info.yaml",
                "example": "steps:\n"
                "  - id: publish\n"
                "    action: publish:git\n"
                "    input:\n"
                "      repoUrl: goldpath?owner=acme&repo=${{ parameters.name }}\n"
                "      description: ${{ parameters.description }}\n"
                "  - id: register\n"
                "    action: catalog:register\n"
                "    input:\n"
                "      repoContentsUrl: ${{ steps.publish.output.repoContentsUrl }}\n"
                "      catalogInfoPath: /catalog-info.yaml\n",
            }
        ],
        supports_dry_run=True,
    )
