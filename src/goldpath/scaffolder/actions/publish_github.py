"""``publish:github``: create a GitHub repository and push the workspace to it.

Inputs, defaults and outputs are Backstage's (plugins/scaffolder-backend-module-github,
``github.ts`` and ``helpers.ts``): the owner's ``type`` from ``GET /users/{owner}`` picks
``POST /orgs/{org}/repos`` or ``POST /user/repos``; then access, collaborators, topics,
variables, the push (as ``x-access-token``) and branch protection. ``remoteUrl`` is the new
repository's ``clone_url`` and ``repoContentsUrl`` is ``{html_url}/blob/{defaultBranch}``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from goldpath.core.config import GitHubIntegration
from goldpath.core.errors import ConflictError, InputError, NotFoundError
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

API_VERSION = "2022-11-28"
#: GitHub is eventually consistent: a branch just pushed may not be protectable yet.
PROTECT_RETRY_SECONDS = 0.6


def _q(value: str) -> str:
    return quote(value, safe="")


def entity_ref_to_name(ref: str) -> str:
    """``user:default/alice`` -> ``alice``, as Backstage's ``entityRefToName``."""
    return re.sub(r"^.*[:/]", "", ref)


def _integration(ctx: ActionContext, target: RepoTarget) -> GitHubIntegration:
    integration = ctx.platform.settings.integrations.github_for(target.host)
    if integration is None:
        raise InputError(
            f"no GitHub integration for host {target.host}; add one under "
            "integrations.github in goldpath.yaml",
            where="repoUrl",
        )
    return integration


def _publish(ctx: ActionContext) -> None:
    target = parse_repo_url(ctx)
    integration = _integration(ctx, target)
    branch = str(ctx.input.get("defaultBranch") or "master")
    source = source_dir(ctx)
    log_unused_inputs(
        ctx,
        _INPUT["properties"],
        {"secrets": "repository secrets need libsodium sealed boxes, which goldpath lacks"},
    )
    token = str(ctx.input.get("token") or integration.token_value() or "")
    owner, repo = target.owner, target.repo
    if ctx.dry_run:
        if not token:
            ctx.log(f"No token for {target.host}: a real run would fail", "warn")
        html = f"https://{target.host}/{owner}/{repo}"
        ctx.log(f"Dry run: would create {owner}/{repo} on {target.host} and push {branch}")
        ctx.output("remoteUrl", f"{html}.git")
        ctx.output("repoContentsUrl", f"{html}/blob/{branch}")
        ctx.output("commitHash", ZERO_SHA)
        return
    if not token:
        raise InputError(
            f"no token for {target.host}: set integrations.github[].token or pass the token input",
            where="token",
        )
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
    }
    with HostApi(f"GitHub ({target.host})", integration.api_url(), headers, [token]) as api:
        new_repo = _create_repository(ctx, api, target)
        ctx.log(f"Created repository {new_repo.get('full_name') or f'{owner}/{repo}'}")
        _grant_access(ctx, api, target)
        _add_collaborators(ctx, api, target)
        _set_topics(ctx, api, target)
        _configure(ctx, api, target)
        clone_url = str(new_repo["clone_url"])
        sha = push_workspace(
            ctx,
            source,
            clone_url,
            branch=branch,
            username="x-access-token",
            token=token,
            created=f"repository {owner}/{repo}",
        )
        if flag(ctx, "protectDefaultBranch", True):
            _protect(ctx, api, target, branch)
    ctx.output("remoteUrl", clone_url)
    ctx.output("repoContentsUrl", f"{new_repo['html_url']}/blob/{branch}")
    ctx.output("commitHash", sha)


def _create_repository(ctx: ActionContext, api: HostApi, target: RepoTarget) -> dict[str, Any]:
    owner, repo = target.owner, target.repo
    found = api.send("GET", f"/users/{_q(owner)}", what=f"looking up {owner}")
    if found.status_code == 404:
        raise InputError(
            f"there is no GitHub user or organization {owner!r} on {target.host}",
            where="repoUrl",
        )
    api.check(found, what=f"looking up {owner}", where="repoUrl")
    kind = str(found.json().get("type") or "User")
    is_org = kind == "Organization"
    if not is_org:
        # POST /user/repos creates under the token's user, whoever the owner in repoUrl is.
        me = api.send("GET", "/user", what="looking up the token's user")
        if me.status_code < 400:
            login = str(me.json().get("login") or "")
            if login.lower() != owner.lower():
                raise InputError(
                    f"{owner} is a GitHub user, and the token belongs to {login}: a token can "
                    "only create repositories for its own user or an organization",
                    where="repoUrl",
                )
    access = str(ctx.input.get("access") or "")
    if access.startswith(f"{owner}/"):
        org, _, team = access.partition("/")
        response = api.send("GET", f"/orgs/{_q(org)}/teams/{_q(team)}", what=f"finding {access}")
        if response.status_code == 404:
            raise NotFoundError(
                f"GitHub answered Not Found: no organization {org} or no team {team} in it",
                where="access",
            )
    visibility = str(ctx.input.get("repoVisibility") or "private")
    body: dict[str, Any] = {
        "name": repo,
        "private": visibility == "private",
        "description": ctx.input.get("description"),
        "homepage": ctx.input.get("homepage"),
        "delete_branch_on_merge": flag(ctx, "deleteBranchOnMerge", False),
        "allow_merge_commit": flag(ctx, "allowMergeCommit", True),
        "allow_squash_merge": flag(ctx, "allowSquashMerge", True),
        "squash_merge_commit_title": ctx.input.get("squashMergeCommitTitle")
        or "COMMIT_OR_PR_TITLE",
        "squash_merge_commit_message": ctx.input.get("squashMergeCommitMessage")
        or "COMMIT_MESSAGES",
        "allow_rebase_merge": flag(ctx, "allowRebaseMerge", True),
        "allow_auto_merge": flag(ctx, "allowAutoMerge", False),
        "has_projects": ctx.input.get("hasProjects"),
        "has_wiki": ctx.input.get("hasWiki"),
        "has_issues": ctx.input.get("hasIssues"),
    }
    if is_org:
        body["visibility"] = visibility
        body["custom_properties"] = ctx.input.get("customProperties")
        path = f"/orgs/{_q(owner)}/repos"
    else:
        path = "/user/repos"
    body = {k: v for k, v in body.items() if v is not None}
    what = f"creating the {kind} repository {owner}/{repo}"
    response = api.send("POST", path, json=body, what=what)
    if response.status_code == 422 and "already exists" in error_detail(response):
        raise ConflictError(
            f"{what}: a repository {owner}/{repo} already exists on {target.host}; choose "
            "another name",
            where="repoUrl",
        )
    if response.status_code == 403 and "not accessible by integration" in error_detail(response):
        ctx.log(
            f"The GitHub app or token may lack the permission to create the {kind} "
            f"repository {owner}/{repo}",
            "warn",
        )
    api.check(response, what=what, where="repoUrl")
    created: dict[str, Any] = response.json()
    return created


def _grant_access(ctx: ActionContext, api: HostApi, target: RepoTarget) -> None:
    owner, repo = target.owner, target.repo
    access = str(ctx.input.get("access") or "")
    if access.startswith(f"{owner}/"):
        team = access.split("/")[1]
        api.call(
            "PUT",
            f"/orgs/{_q(owner)}/teams/{_q(team)}/repos/{_q(owner)}/{_q(repo)}",
            json={"permission": "admin"},
            what=f"giving team {access} admin access",
            where="access",
        )
    elif access and access != owner:
        # The owner of a personal repository has every right already.
        api.call(
            "PUT",
            f"/repos/{_q(owner)}/{_q(repo)}/collaborators/{_q(access)}",
            json={"permission": "admin"},
            what=f"giving {access} admin access",
            where="access",
        )


def _add_collaborators(ctx: ActionContext, api: HostApi, target: RepoTarget) -> None:
    owner, repo = target.owner, target.repo
    for item in ctx.input.get("collaborators") or []:
        permission = str(item.get("access") or "push")
        if item.get("user"):
            name = entity_ref_to_name(str(item["user"]))
            path = f"/repos/{_q(owner)}/{_q(repo)}/collaborators/{_q(name)}"
        elif item.get("team") or item.get("username"):
            # ``username`` is Backstage's deprecated spelling of ``team``.
            name = entity_ref_to_name(str(item.get("team") or item.get("username")))
            path = f"/orgs/{_q(owner)}/teams/{_q(name)}/repos/{_q(owner)}/{_q(repo)}"
        else:
            continue
        response = api.send("PUT", path, json={"permission": permission}, what="collaborator")
        if response.status_code >= 400:
            # As Backstage: one collaborator that cannot be added does not fail the step.
            ctx.log(
                f"Skipping {permission} access for {name}: "
                f"{api.scrub(error_detail(response))} ({response.status_code})",
                "warn",
            )
        else:
            ctx.log(f"Gave {name} {permission} access")


def _set_topics(ctx: ActionContext, api: HostApi, target: RepoTarget) -> None:
    topics = ctx.input.get("topics")
    if not topics:
        return
    names = [str(t).lower() for t in topics]
    response = api.send(
        "PUT",
        f"/repos/{_q(target.owner)}/{_q(target.repo)}/topics",
        json={"names": names},
        what="setting topics",
    )
    if response.status_code >= 400:
        ctx.log(f"Skipping topics {' '.join(names)}: {api.scrub(error_detail(response))}", "warn")
    else:
        ctx.log(f"Set topics {' '.join(names)}")


def _configure(ctx: ActionContext, api: HostApi, target: RepoTarget) -> None:
    """Repository variables, the OIDC subject template and the watch subscription."""
    base = f"/repos/{_q(target.owner)}/{_q(target.repo)}"
    for name, value in (ctx.input.get("repoVariables") or {}).items():
        api.call(
            "POST",
            f"{base}/actions/variables",
            json={"name": str(name), "value": str(value)},
            what=f"creating the repository variable {name}",
            where="repoVariables",
        )
    oidc = ctx.input.get("oidcCustomization")
    if oidc:
        body: dict[str, Any] = {"use_default": bool(oidc.get("useDefault"))}
        if oidc.get("includeClaimKeys") is not None:
            body["include_claim_keys"] = list(oidc["includeClaimKeys"])
        api.call(
            "PUT",
            f"{base}/actions/oidc/customization/sub",
            json=body,
            what="setting the OIDC subject claim template",
            where="oidcCustomization",
        )
    if flag(ctx, "subscribe", False):
        api.call(
            "PUT",
            f"{base}/subscription",
            json={"subscribed": True, "ignored": False},
            what="subscribing to the repository",
            where="subscribe",
        )


def _protect(ctx: ActionContext, api: HostApi, target: RepoTarget, branch: str) -> None:
    """Protect the default branch; as Backstage, a failure is a warning, not a failed step."""
    count = ctx.input.get("requiredApprovingReviewCount")
    reviews: dict[str, Any] = {
        "required_approving_review_count": int(count if count is not None else 1),
        "require_code_owner_reviews": flag(ctx, "requireCodeOwnerReviews", False),
        "dismiss_stale_reviews": flag(ctx, "dismissStaleReviews", False),
        "require_last_push_approval": flag(ctx, "requireLastPushApproval", False),
    }
    if ctx.input.get("bypassPullRequestAllowances") is not None:
        reviews["bypass_pull_request_allowances"] = ctx.input["bypassPullRequestAllowances"]
    body = {
        "required_status_checks": {
            "strict": flag(ctx, "requireBranchesToBeUpToDate", True),
            "contexts": list(ctx.input.get("requiredStatusCheckContexts") or []),
        },
        "restrictions": ctx.input.get("restrictions"),
        "enforce_admins": flag(ctx, "protectEnforceAdmins", True),
        "required_pull_request_reviews": reviews,
        "required_conversation_resolution": flag(ctx, "requiredConversationResolution", False),
        "required_linear_history": flag(ctx, "requiredLinearHistory", False),
    }
    path = f"/repos/{_q(target.owner)}/{_q(target.repo)}/branches/{_q(branch)}/protection"
    what = f"protecting {branch}"
    response = api.send("PUT", path, json=body, what=what)
    if response.status_code == 404 and "Branch not found" in error_detail(response):
        ctx.sleep(PROTECT_RETRY_SECONDS)
        response = api.send("PUT", path, json=body, what=what)
    if response.status_code < 400 and flag(ctx, "requiredCommitSigning", False):
        response = api.send("POST", f"{path}/required_signatures", what="requiring signatures")
    detail = api.scrub(error_detail(response)) if response.status_code >= 400 else ""
    if "Upgrade to GitHub Pro" in detail:
        ctx.log(
            "Branch protection was not enabled: private repositories need GitHub Pro for it",
            "warn",
        )
    elif detail:
        ctx.log(f"Skipping default branch protection on {target.repo}: {detail}", "warn")
    else:
        ctx.log(f"Protected {branch}")


# ------------------------------------------------------------------------ schema
def _bool(description: str, default: bool | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "boolean", "description": description}
    if default is not None:
        schema["default"] = default
    return schema


_STRINGS = {"type": "array", "items": {"type": "string"}}
_WHO = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"users": _STRINGS, "teams": _STRINGS, "apps": _STRINGS},
}

_INPUT: dict[str, Any] = {
    "type": "object",
    "required": ["repoUrl"],
    "properties": {
        "repoUrl": {
            "type": "string",
            "description": "github.com?owner=<user or organization>&repo=<name>, as "
            "RepoUrlPicker writes it. The host picks the integration.",
        },
        "description": {"type": "string", "description": "Repository description."},
        "homepage": {"type": "string", "description": "Repository homepage URL."},
        "access": {
            "type": "string",
            "description": "Given admin access: a user other than the owner, or <org>/<team>.",
        },
        "bypassPullRequestAllowances": {**_WHO, "description": "Who may skip PR rules."},
        "requiredApprovingReviewCount": {
            "type": "number",
            "description": "Approvals a pull request needs (0-6); default 1.",
        },
        "restrictions": {**_WHO, "description": "Who may push to the protected branch."},
        "requireCodeOwnerReviews": _bool("Require a code owner's review.", False),
        "dismissStaleReviews": _bool("New commits dismiss approvals.", False),
        "requiredStatusCheckContexts": {**_STRINGS, "description": "Required status checks."},
        "requireBranchesToBeUpToDate": _bool("Branches must be up to date to merge.", True),
        "requiredConversationResolution": _bool("Conversations must be resolved.", False),
        "requireLastPushApproval": _bool("The last push needs another's approval.", False),
        "repoVisibility": {
            "type": "string",
            "enum": ["private", "public", "internal"],
            "description": "Default private; internal only for organizations.",
        },
        "defaultBranch": {
            "type": "string",
            "default": "master",
            "description": "Branch the workspace is pushed to; default master (Backstage's).",
        },
        "protectDefaultBranch": _bool("Protect the default branch.", True),
        "protectEnforceAdmins": _bool("Admins must follow branch protection too.", True),
        "deleteBranchOnMerge": _bool("Delete head branches after merging.", False),
        "gitCommitMessage": {
            "type": "string",
            "default": "initial commit",
            "description": "Message of the first commit.",
        },
        "gitAuthorName": {"type": "string", "description": "Default Scaffolder."},
        "gitAuthorEmail": {"type": "string", "description": "Author email of the commit."},
        "allowMergeCommit": _bool("Allow merge commits.", True),
        "allowSquashMerge": _bool("Allow squash merges.", True),
        "squashMergeCommitTitle": {
            "type": "string",
            "enum": ["PR_TITLE", "COMMIT_OR_PR_TITLE"],
            "default": "COMMIT_OR_PR_TITLE",
        },
        "squashMergeCommitMessage": {
            "type": "string",
            "enum": ["PR_BODY", "COMMIT_MESSAGES", "BLANK"],
            "default": "COMMIT_MESSAGES",
        },
        "allowRebaseMerge": _bool("Allow rebase merges.", True),
        "allowAutoMerge": _bool("Allow auto-merge.", False),
        "sourcePath": {
            "type": "string",
            "description": "Workspace folder that becomes the repository; default all of it.",
        },
        "collaborators": {
            "type": "array",
            "description": "Users or teams given access: [{user|team, access}].",
            "items": {
                "type": "object",
                "required": ["access"],
                "properties": {
                    "access": {"type": "string", "description": "pull, triage, push, ..."},
                    "user": {"type": "string", "description": "User name or user entity ref."},
                    "team": {"type": "string", "description": "Team slug or group entity ref."},
                    "username": {"type": "string", "description": "Deprecated: use team."},
                },
            },
        },
        "hasProjects": _bool("Enable projects."),
        "hasWiki": _bool("Enable the wiki."),
        "hasIssues": _bool("Enable issues."),
        "token": {
            "type": "string",
            "description": "Token to use instead of the integration's (e.g. the user's).",
        },
        "topics": {**_STRINGS, "description": "Repository topics (lower-cased)."},
        "repoVariables": {"type": "object", "description": "GitHub Actions variables."},
        "secrets": {
            "type": "object",
            "description": "GitHub Actions secrets (accepted; not set by goldpath).",
        },
        "oidcCustomization": {
            "type": "object",
            "properties": {"useDefault": {"type": "boolean"}, "includeClaimKeys": _STRINGS},
            "description": "OIDC subject claim template.",
        },
        "requiredCommitSigning": _bool("Require signed commits on the branch.", False),
        "requiredLinearHistory": _bool("Forbid merge commits on the branch.", False),
        "customProperties": {
            "type": "object",
            "description": "Custom properties (organization repositories).",
        },
        "subscribe": _bool("Watch the repository as the token's user.", False),
    },
}

_OUTPUT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "remoteUrl": {"type": "string", "description": "Clone URL of the new repository."},
        "repoContentsUrl": {
            "type": "string",
            "description": "URL of the default branch's files (for catalog:register).",
        },
        "commitHash": {"type": "string", "description": "The first commit."},
    },
}


def publish_github_action() -> Action:
    return Action(
        "publish:github",
        _publish,
        description="Initializes a git repository of the workspace's contents and publishes "
        "it to GitHub.",
        input_schema=_INPUT,
        output_schema=_OUTPUT,
        examples=[
            {
                "description": "Publish to an organization with topics and a team",
                "example": "steps:\n  - id: publish\n    action: publish:github\n    input:\n"
                "      repoUrl: github.com?owner=acme&repo=${{ parameters.name }}\n"
                "      repoVisibility: internal\n      defaultBranch: main\n"
                "      topics: [service, python]\n"
                "      collaborators:\n        - team: platform\n          access: admin\n",
            }
        ],
        supports_dry_run=True,
    )


def publish_actions() -> list[Action]:
    """``publish:github`` and ``publish:gitlab``."""
    from goldpath.scaffolder.actions.publish_gitlab import publish_gitlab_action

    return [publish_github_action(), publish_gitlab_action()]
