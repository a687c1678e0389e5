"""What publish:github and publish:gitlab share: repoUrl, authors, inputs, and the REST client.

Hosts answer errors in their own shapes; ``HostApi`` turns them into goldpath's errors with the
host's own message, and scrubs every message of the token first.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from goldpath.core.errors import (
    ConflictError,
    GoldpathError,
    InputError,
    NotAllowedError,
    NotFoundError,
)
from goldpath.scaffolder.actions.base import ActionContext
from goldpath.scaffolder.actions.gitpush import GitPushError, init_and_push, scrub

#: Seconds one REST call may take (Backstage gives Octokit 60).
API_TIMEOUT = 60.0
USER_AGENT = "goldpath-scaffolder"
ZERO_SHA = "0" * 40


class HostApiError(GoldpathError):
    """The host failed or could not be reached (5xx, timeouts, refused connections)."""

    status_code = 502
    title = "Source-control host error"


@dataclass(frozen=True)
class RepoTarget:
    """``repoUrl`` as RepoUrlPicker writes it: ``host?owner=o&repo=r``."""

    host: str
    owner: str
    repo: str


def parse_repo_url(ctx: ActionContext) -> RepoTarget:
    """Read ``repoUrl`` as Backstage's ``parseRepoUrl`` does (``https://`` + the value)."""
    raw = ctx.input.get("repoUrl")
    if not isinstance(raw, str) or not raw.strip():
        raise InputError("repoUrl is missing", where="repoUrl")
    parts = urlsplit(f"https://{raw.strip()}")
    params = parse_qs(parts.query)
    host = parts.netloc.lower()
    owner = (params.get("owner") or [""])[0].strip("/")
    repo = (params.get("repo") or [""])[0]
    if not host or parts.path not in ("", "/"):
        raise InputError(
            f"repoUrl {raw!r} must look like <host>?owner=<owner>&repo=<name>", where="repoUrl"
        )
    for name, value in (("owner", owner), ("repo", repo)):
        if not value:
            raise InputError(f"repoUrl {raw!r} is missing {name}", where="repoUrl")
    if "/" in repo or repo in (".", ".."):
        raise InputError(f"repoUrl: {repo!r} is not a repository name", where="repoUrl")
    return RepoTarget(host=host, owner=owner, repo=repo)


def source_dir(ctx: ActionContext) -> Path:
    path = ctx.resolve_path(ctx.input.get("sourcePath"), what="sourcePath")
    if not path.is_dir():
        raise InputError(
            f"sourcePath {ctx.input.get('sourcePath')!r} is not a folder of the workspace",
            where="sourcePath",
        )
    return path


def author(ctx: ActionContext) -> tuple[str, str]:
    """``gitAuthorName``/``gitAuthorEmail``, else the user running the template (their
    catalog profile), else Backstage's ``Scaffolder`` fallback."""
    entity = ctx.user.entity or {}
    profile = (entity.get("spec") or {}).get("profile") or {}
    name = (
        ctx.input.get("gitAuthorName")
        or profile.get("displayName")
        or (entity.get("metadata") or {}).get("name")
        or "Scaffolder"
    )
    email = ctx.input.get("gitAuthorEmail") or profile.get("email") or "scaffolder@goldpath.local"
    return str(name), str(email)


def push_workspace(
    ctx: ActionContext,
    source: Path,
    remote: str,
    *,
    branch: str,
    username: str,
    token: str,
    created: str,
) -> str:
    """Push the workspace as the first commit; a failure says what was already created."""
    name, email = author(ctx)
    try:
        sha = init_and_push(
            source,
            remote,
            branch=branch,
            message=str(ctx.input.get("gitCommitMessage") or "initial commit"),
            author_name=name,
            author_email=email,
            username=username,
            token=token,
        )
    except GitPushError as exc:
        raise GitPushError(f"{created} was created, but pushing to it failed: {exc}") from None
    ctx.log(f"Pushed {branch} at {sha[:12]} to {remote}")
    return sha


def log_unused_inputs(
    ctx: ActionContext, known: Iterable[str], unsupported: Mapping[str, str] | None = None
) -> None:
    """Inputs Backstage knows but goldpath does not act on, and inputs nobody knows, are
    accepted (so templates run unchanged) and said out loud in the task log."""
    known_set = set(known)
    for name, why in (unsupported or {}).items():
        if ctx.input.get(name) not in (None, "", [], {}):
            ctx.log(f"Ignoring input {name}: {why}", "warn")
    for name in sorted(set(ctx.input) - known_set):
        ctx.log(f"Ignoring input {name}: {ctx.action_id} has no such input", "warn")


def flag(ctx: ActionContext, name: str, default: bool) -> bool:
    value = ctx.input.get(name)
    return default if value is None else bool(value)


class HostApi:
    """An ``httpx`` client for one host's REST API that reports failures as goldpath errors."""

    def __init__(
        self, host_label: str, base_url: str, headers: dict[str, str], secrets: list[str]
    ) -> None:
        self.host_label = host_label
        self.secrets = [s for s in secrets if s]
        self.client = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={"User-Agent": USER_AGENT, **headers},
            timeout=API_TIMEOUT,
            follow_redirects=False,
        )

    def __enter__(self) -> HostApi:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def scrub(self, text: str) -> str:
        return scrub(text, self.secrets)

    def send(
        self,
        method: str,
        path: str,
        *,
        what: str,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        """The host's answer, whatever its status; only transport failures raise."""
        try:
            return self.client.request(
                method,
                path.lstrip("/"),
                json=json,
                params=dict(params) if params else None,
                headers=dict(headers) if headers else None,
            )
        except httpx.HTTPError as exc:
            raise HostApiError(
                self.scrub(f"{what}: could not reach {self.host_label}: {exc}")
            ) from None

    def call(
        self,
        method: str,
        path: str,
        *,
        what: str,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        where: str | None = None,
    ) -> Any:
        """The decoded JSON answer of a successful call; anything else raises."""
        response = self.send(method, path, what=what, json=json, params=params, headers=headers)
        self.check(response, what=what, where=where)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise HostApiError(
                f"{what}: {self.host_label} answered something that is not JSON"
            ) from None

    def check(self, response: httpx.Response, *, what: str, where: str | None = None) -> None:
        status = response.status_code
        if status < 400:
            return
        detail = self.scrub(error_detail(response))
        message = f"{what}: {self.host_label} answered {status} ({detail})"
        if status == 401:
            raise NotAllowedError(
                f"{what}: {self.host_label} rejected the token ({detail}); check the "
                "integration's token or the token input",
                where="token",
            )
        if status == 403:
            raise NotAllowedError(message, where=where)
        if status == 404:
            raise NotFoundError(message, where=where)
        if status == 409:
            raise ConflictError(message, where=where)
        if status < 500:
            raise InputError(message, where=where)
        raise HostApiError(message, where=where)


def error_detail(response: httpx.Response) -> str:
    """The host's explanation: GitHub's ``message`` + ``errors``, GitLab's ``message``/``error``
    (a string, or a mapping of field to messages)."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return text[:200] or response.reason_phrase
    if not isinstance(body, dict):
        return str(body)[:200]
    parts: list[str] = []
    message = body.get("message", body.get("error"))
    if isinstance(message, dict):
        for field, problems in message.items():
            items = problems if isinstance(problems, list) else [problems]
            parts.extend(f"{field} {problem}" for problem in items)
    elif message:
        parts.append(str(message))
    for item in body.get("errors") or []:
        if isinstance(item, dict):
            text = item.get("message") or " ".join(
                str(item[k]) for k in ("field", "code") if item.get(k)
            )
            if text:
                parts.append(str(text))
        elif item:
            parts.append(str(item))
    return "; ".join(parts)[:500] or response.reason_phrase
