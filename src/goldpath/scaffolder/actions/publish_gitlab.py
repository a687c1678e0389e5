"""``publish:gitlab``: create a GitLab project and push the workspace to it.

Inputs, defaults and outputs are Backstage's (plugins/scaffolder-backend-module-gitlab,
``gitlab.ts``): the namespace comes from ``GET /namespaces/:owner``, an existing project is
looked for among the namespace's projects, ``POST /projects`` creates it (``settings`` spread
over ``name``/``visibility``/``topics``), the push goes as ``oauth2``, then branches and CI/CD
variables. A ``token`` input is sent as an OAuth bearer token, the integration's as a
``PRIVATE-TOKEN``. ``remoteUrl`` is ``http_url_to_repo`` without ``.git``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx

from goldpath.core.config import GitLabIntegration
from goldpath.core.errors import ConflictError, InputError
from goldpath.scaffolder.actions.base import Action, ActionContext
from goldpath.scaffolder.actions.publish import (
    ZERO_SHA,
    HostApi,
    RepoTarget,
    error_detail,
    flag,
    log_unused_inputs,
    parse_repo_url,
    push_workspace,
    source_dir,
)

#: GitLab's Owner role.
OWNER_ACCESS_LEVEL = 50


def _q(value: str) -> str:
    return quote(value, safe="")


def _integration(ctx: ActionContext, target: RepoTarget) -> GitLabIntegration:
    integration = ctx.platform.settings.integrations.gitlab_for(target.host)
    if integration is None:
        raise InputError(
            f"no GitLab integration for host {target.host}; add one under "
            "integrations.gitlab in goldpath.yaml",
            where="repoUrl",
        )
    return integration


def _web_base(integration: GitLabIntegration) -> str:
    api = integration.api_url()
    return api[: -len("/api/v4")] if api.endswith("/api/v4") else f"https://{integration.host}"


def _publish(ctx: ActionContext) -> None:
    target = parse_repo_url(ctx)
    integration = _integration(ctx, target)
    if flag(ctx, "signCommit", False):
        raise InputError(
            "signCommit needs a commit signing key, and goldpath cannot sign commits yet",
            where="signCommit",
        )
    branch = str(ctx.input.get("defaultBranch") or "master")
    source_path = ctx.input.get("sourcePath")
    push = source_path is not False
    source = ctx.workspace.resolve() if source_path is True else None
    if push and source is None:
        source = source_dir(ctx)
    log_unused_inputs(ctx, _INPUT["properties"])
    input_token = str(ctx.input.get("token") or "")
    integration_token = integration.token_value() or ""
    token = input_token or integration_token
    owner, repo = target.owner, target.repo
    if ctx.dry_run:
        if not token:
            ctx.log(f"No token for {target.host}: a real run would fail", "warn")
        remote = f"{_web_base(integration)}/{owner}/{repo}"
        ctx.log(f"Dry run: would create {owner}/{repo} on {target.host} and push {branch}")
        ctx.output("remoteUrl", remote)
        ctx.output("repoContentsUrl", f"{remote}/-/blob/{branch}")
        ctx.output("projectId", 0)
        if push:
            ctx.output("commitHash", ZERO_SHA)
        ctx.output("created", True)
        return
    if not token:
        raise InputError(
            f"no token for {target.host}: set integrations.gitlab[].token or pass the token input",
            where="token",
        )
    # As Backstage: a token from the input is a user's OAuth token, the configured one a
    # personal/project/group access token.
    headers = {"Authorization": f"Bearer {token}"} if input_token else {"PRIVATE-TOKEN": token}
    secrets = [input_token, integration_token]
    with HostApi(f"GitLab ({target.host})", integration.api_url(), headers, secrets) as api:
        found = api.send("GET", f"/namespaces/{_q(owner)}", what=f"looking up {owner}")
        if found.status_code == 404:
            raise InputError(
                f"the namespace {owner} is not found or the user doesn't have permissions "
                "to access it",
                where="repoUrl",
            )
        api.check(found, what=f"looking up {owner}", where="repoUrl")
        namespace = found.json()
        me = api.call("GET", "/user", what="looking up the token's user")
        existing = _existing_project(api, namespace, owner, repo)
        if existing is not None:
            if not flag(ctx, "skipExisting", False):
                raise ConflictError(
                    f"a project {owner}/{repo} already exists on {target.host}; choose "
                    "another name (or set skipExisting)",
                    where="repoUrl",
                )
            ctx.log(f"Repo {repo} already exists in namespace {owner}.")
            remote = str(existing["http_url_to_repo"]).removesuffix(".git")
            ctx.output("remoteUrl", remote)
            # An empty project has no default branch yet: then the one we would have pushed.
            existing_branch = existing.get("default_branch") or branch
            ctx.output("repoContentsUrl", f"{remote}/-/blob/{existing_branch}")
            ctx.output("projectId", existing["id"])
            ctx.output("created", False)
            return

        ctx.log(f"Creating repo {repo} in namespace {owner}.")
        project = _create_project(ctx, api, target, namespace)
        project_id = project["id"]
        _set_owner(ctx, integration, project_id, me)
        http_url = str(project["http_url_to_repo"])
        remote = http_url.removesuffix(".git")
        if push and source is not None:
            sha = push_workspace(
                ctx,
                source,
                http_url,
                branch=branch,
                username="oauth2",
                token=token,
                created=f"project {owner}/{repo}",
            )
            _branches(ctx, api, project_id)
            ctx.output("commitHash", sha)
        _variables(ctx, api, project_id)
    ctx.output("remoteUrl", remote)
    ctx.output("repoContentsUrl", f"{remote}/-/blob/{branch}")
    ctx.output("projectId", project_id)
    ctx.output("created", True)


def _existing_project(
    api: HostApi, namespace: dict[str, Any], owner: str, repo: str
) -> dict[str, Any] | None:
    kind = "users" if namespace.get("kind") == "user" else "groups"
    projects = api.call(
        "GET",
        f"/{kind}/{_q(owner)}/projects",
        params={"search": repo, "per_page": 100},
        what=f"listing the projects of {owner}",
    )
    return next((p for p in projects or [] if p.get("path") == repo), None)


def _create_project(
    ctx: ActionContext, api: HostApi, target: RepoTarget, namespace: dict[str, Any]
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "namespace_id": namespace["id"],
        "name": target.repo,
        "visibility": str(ctx.input.get("repoVisibility") or "private"),
    }
    topics = ctx.input.get("topics") or []
    if topics:
        body["topics"] = list(topics)
    body.update(ctx.input.get("settings") or {})
    what = f"creating the project {target.owner}/{target.repo}"
    response = api.send("POST", "/projects", json=body, what=what)
    if response.status_code == 400 and "has already been taken" in error_detail(response):
        raise ConflictError(
            f"{what}: {api.scrub(error_detail(response))}; choose another name",
            where="repoUrl",
        )
    api.check(response, what=what, where="repoUrl")
    project: dict[str, Any] = response.json()
    return project


def _set_owner(
    ctx: ActionContext, integration: GitLabIntegration, project_id: int, me: dict[str, Any]
) -> None:
    """``setUserAsOwner``: the token input's user (an OAuth user, who may not push to a
    protected default branch) becomes Owner, granted with the integration's token."""
    if not flag(ctx, "setUserAsOwner", False):
        return
    admin_token = integration.token_value()
    if not admin_token:
        ctx.log("setUserAsOwner needs a token in the integration; skipping it", "warn")
        return
    if not ctx.input.get("token"):
        ctx.log(
            "setUserAsOwner: the project was created with the integration's token; "
            "its user owns it already"
        )
        return
    headers = {"PRIVATE-TOKEN": admin_token}
    label = f"GitLab ({integration.host})"
    with HostApi(label, integration.api_url(), headers, [admin_token]) as admin:
        admin.call(
            "POST",
            f"/projects/{project_id}/members",
            json={"user_id": me["id"], "access_level": OWNER_ACCESS_LEVEL},
            what=f"making {me.get('username', me['id'])} an owner",
            where="setUserAsOwner",
        )
    ctx.log(f"Made {me.get('username', me['id'])} an owner of the project")


def _gitlab_error(api: HostApi, response: httpx.Response) -> str:
    """The shape Backstage prints GitLab's errors in."""
    detail = api.scrub(error_detail(response))
    return json.dumps({"code": response.status_code, "message": detail})


def _branches(ctx: ActionContext, api: HostApi, project_id: int) -> None:
    for item in ctx.input.get("branches") or []:
        name = str(item["name"])
        if item.get("create"):
            ref = str(item.get("ref") or "master")
            response = api.send(
                "POST",
                f"/projects/{project_id}/repository/branches",
                json={"branch": name, "ref": ref},
                what=f"creating branch {name}",
            )
            if response.status_code >= 400:
                raise InputError(
                    f"Branch creation failed for {name}. {_gitlab_error(api, response)}",
                    where="branches",
                )
            ctx.log(f"Branch {name} created for {project_id} with ref {ref}")
        if item.get("protect"):
            response = api.send(
                "POST",
                f"/projects/{project_id}/protected_branches",
                json={"name": name},
                what=f"protecting branch {name}",
            )
            if response.status_code >= 400:
                raise InputError(
                    f"Branch protection failed for {name}. {_gitlab_error(api, response)}",
                    where="branches",
                )
            ctx.log(f"Branch {name} protected for {project_id}")


def _variables(ctx: ActionContext, api: HostApi, project_id: int) -> None:
    for item in ctx.input.get("projectVariables") or []:
        body = {
            "key": str(item["key"]),
            "value": str(item["value"]),
            "variable_type": item.get("variable_type") or "env_var",
            "protected": bool(item.get("protected", False)),
            "masked": bool(item.get("masked", False)),
            "raw": bool(item.get("raw", False)),
            "environment_scope": item.get("environment_scope") or "*",
        }
        if item.get("description") is not None:
            body["description"] = str(item["description"])
        response = api.send(
            "POST",
            f"/projects/{project_id}/variables",
            json=body,
            what=f"creating the variable {body['key']}",
        )
        if response.status_code >= 400:
            raise InputError(
                f"Environment variable creation failed for {body['key']}. "
                f"{_gitlab_error(api, response)}",
                where="projectVariables",
            )


# ------------------------------------------------------------------------ schema
_STRINGS = {"type": "array", "items": {"type": "string"}}
_VISIBILITY = {"type": "string", "enum": ["private", "public", "internal"]}

_INPUT: dict[str, Any] = {
    "type": "object",
    "required": ["repoUrl"],
    "properties": {
        "repoUrl": {
            "type": "string",
            "description": "gitlab.com?owner=<group/subgroup or user>&repo=<project>, as "
            "RepoUrlPicker writes it. The host picks the integration.",
        },
        "repoVisibility": {**_VISIBILITY, "description": "Default private."},
        "defaultBranch": {
            "type": "string",
            "description": "Branch the workspace is pushed to; default master (Backstage's).",
        },
        "gitCommitMessage": {"type": "string", "description": "Default initial commit."},
        "gitAuthorName": {"type": "string", "description": "Default Scaffolder."},
        "gitAuthorEmail": {"type": "string"},
        "signCommit": {
            "type": "boolean",
            "description": "Sign the commit (needs a signing key; not supported yet).",
        },
        "sourcePath": {
            "type": ["string", "boolean"],
            "description": "Workspace folder that becomes the repository; true or unset: all "
            "of it; false: create the project empty.",
        },
        "skipExisting": {
            "type": "boolean",
            "description": "If the project exists, output it (created: false) instead of failing.",
        },
        "token": {
            "type": "string",
            "description": "A user's OAuth token, used instead of the integration's.",
        },
        "setUserAsOwner": {
            "type": "boolean",
            "description": "Make the token input's user Owner, using the integration's token.",
        },
        "topics": {**_STRINGS, "description": "Topics (deprecated: settings.topics)."},
        "settings": {
            "type": "object",
            "description": "More attributes of GitLab's create-project call.",
            "properties": {
                "path": {"type": "string"},
                "auto_devops_enabled": {"type": "boolean"},
                "ci_config_path": {"type": "string"},
                "description": {"type": "string"},
                "merge_method": {"type": "string", "enum": ["merge", "rebase_merge", "ff"]},
                "squash_option": {
                    "type": "string",
                    "enum": ["default_off", "default_on", "never", "always"],
                },
                "topics": _STRINGS,
                "visibility": _VISIBILITY,
                "only_allow_merge_if_all_discussions_are_resolved": {"type": "boolean"},
                "only_allow_merge_if_pipeline_succeeds": {"type": "boolean"},
                "allow_merge_on_skipped_pipeline": {"type": "boolean"},
            },
        },
        "branches": {
            "type": "array",
            "description": "Branches to create from a ref and/or protect after the push.",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "protect": {"type": "boolean"},
                    "create": {"type": "boolean"},
                    "ref": {"type": "string", "description": "Default master."},
                },
            },
        },
        "projectVariables": {
            "type": "array",
            "description": "CI/CD variables of the project.",
            "items": {
                "type": "object",
                "required": ["key", "value"],
                "properties": {
                    "key": {"type": "string"},
                    "value": {"type": "string"},
                    "description": {"type": "string"},
                    "variable_type": {"type": "string", "enum": ["env_var", "file"]},
                    "protected": {"type": "boolean"},
                    "masked": {"type": "boolean"},
                    "raw": {"type": "boolean"},
                    "environment_scope": {"type": "string"},
                },
            },
        },
    },
}

_OUTPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "remoteUrl": {"type": "string", "description": "URL of the project."},
        "repoContentsUrl": {
            "type": "string",
            "description": "URL of the default branch's files (for catalog:register).",
        },
        "projectId": {"type": "number", "description": "The project's id."},
        "commitHash": {"type": "string", "description": "The first commit."},
        "created": {"type": "boolean", "description": "Whether the project was created."},
    },
}


def publish_gitlab_action() -> Action:
    return Action(
        "publish:gitlab",
        _publish,
        description="Initializes a git repository of the workspace's contents and publishes "
        "it to GitLab.",
        input_schema=_INPUT,
        output_schema=_OUTPUT,
        examples=[
            {
                "description": "Publish into a subgroup",
                "example": "steps:\n  - id: publish\n    action: publish:gitlab\n    input:\n"
                "      repoUrl: gitlab.com?owner=acme/services&repo=${{ parameters.name }}\n"
                "      defaultBranch: main\n"
                "      settings:\n        visibility: internal\n        topics: [service]\n",
            }
        ],
        supports_dry_run=True,
    )
