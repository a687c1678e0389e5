"""publish:gitlab against a fake GitLab (REST + git smart HTTP) on loopback.

The fake stands in for GitLab only; the action, its git push and goldpath's settings run as
they do in production. Every test runs on SQLite and PostgreSQL (the ``make_settings`` fixture).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from action_harness import Run, git, run_action

from goldpath.core.errors import ConflictError, InputError, NotAllowedError
from goldpath.core.platform import Platform
from goldpath.scaffolder.actions.gitpush import GitPushError
from goldpath.scaffolder.actions.publish_gitlab import publish_gitlab_action
from scaffolder.fakes.gitlab import FakeGitLab

TOKEN = "glpat-alice0123456789SECRET"
OAUTH = "gloas-bob0123456789SECRET"
WRONG = "glpat-wrong0123456789SECRET"


@pytest.fixture
def gitlab(tmp_path: Path) -> Iterator[FakeGitLab]:
    fake = FakeGitLab(tmp_path / "gitlab")
    fake.add_user("alice", token=TOKEN)
    fake.add_user("bob", token=OAUTH)
    fake.add_group("acme", members=["alice", "bob"])
    fake.add_group("acme/services", members=[])
    with fake:
        yield fake


@pytest.fixture
def make_platform(make_settings: Any, gitlab: FakeGitLab) -> Iterator[Callable[..., Platform]]:
    created: list[Platform] = []

    def make(token: str | None = TOKEN, host: str = "gitlab.com") -> Platform:
        # Backstage's apiBaseUrl spelling works as well as api_base_url.
        integration: dict[str, Any] = {"host": host, "apiBaseUrl": gitlab.api_url}
        if token:
            integration["token"] = token
        platform = Platform.create(make_settings(**{"integrations.gitlab": [integration]}))
        created.append(platform)
        return platform

    yield make
    for platform in created:
        platform.close()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "workspace"
    (root / "src").mkdir(parents=True)
    (root / "README.md").write_text("# svc\n")
    (root / "src" / "main.go").write_text("package main\n")
    return root


def run(
    platform: Platform,
    workspace: Path,
    inputs: dict[str, Any],
    *,
    dry_run: bool = False,
    logs: list[tuple[str, str]] | None = None,
) -> Run:
    return run_action(
        platform, publish_gitlab_action(), inputs, workspace=workspace, dry_run=dry_run, logs=logs
    )


def test_project_in_a_subgroup_is_created_and_pushed(
    make_platform: Callable[..., Platform], gitlab: FakeGitLab, workspace: Path, tmp_path: Path
) -> None:
    result = run(
        make_platform(),
        workspace,
        {
            "repoUrl": "gitlab.com?owner=acme/services&repo=billing",
            "defaultBranch": "main",
            "repoVisibility": "internal",
            "topics": ["go", "service"],
            "settings": {"description": "Billing", "merge_method": "ff"},
            "branches": [
                {"name": "main", "protect": True},
                {"name": "develop", "create": True, "ref": "main"},
            ],
            "projectVariables": [{"key": "STAGE", "value": "prod", "masked": True}],
        },
    )
    project = gitlab.project("acme/services/billing")
    assert project is not None
    assert result.outputs == {
        "remoteUrl": f"{gitlab.base_url}/acme/services/billing",
        "repoContentsUrl": f"{gitlab.base_url}/acme/services/billing/-/blob/main",
        "projectId": project["id"],
        "commitHash": result.outputs["commitHash"],
        "created": True,
    }
    (namespace_call,) = gitlab.calls("GET", "/api/v4/namespaces/")
    assert namespace_call.path == "/api/v4/namespaces/acme/services"
    (create,) = [c for c in gitlab.calls("POST") if c.path == "/api/v4/projects"]
    assert create.body["namespace_id"] == gitlab.namespaces["acme/services"]["id"]
    assert create.body["name"] == "billing"
    assert create.body["visibility"] == "internal"
    assert project["topics"] == ["go", "service"]
    assert project["description"] == "Billing"
    assert project["merge_method"] == "ff"
    assert gitlab.token_kinds and set(gitlab.token_kinds) == {"private"}
    assert gitlab.protected[project["id"]] == {"main"}
    assert gitlab.variables[project["id"]][0]["key"] == "STAGE"
    assert gitlab.variables[project["id"]][0]["environment_scope"] == "*"
    assert "prod" not in result.text()

    clone = gitlab.clone(
        f"{result.outputs['remoteUrl']}.git", tmp_path / "clone", username="oauth2", token=TOKEN
    )
    assert (clone / "README.md").read_text() == "# svc\n"
    assert (clone / "src" / "main.go").read_text() == "package main\n"
    assert git("rev-parse", "HEAD", cwd=clone) == result.outputs["commitHash"]
    assert git("log", "-1", "--format=%s", cwd=clone) == "initial commit"
    assert git("rev-parse", "origin/develop", cwd=clone) == result.outputs["commitHash"]
    assert not (workspace / ".git").exists()

    pushes = gitlab.calls("POST", "/acme/services/billing.git/git-receive-pack")
    expected = base64.b64encode(f"oauth2:{TOKEN}".encode()).decode()
    assert pushes and pushes[0].headers["authorization"] == f"Basic {expected}"
    assert TOKEN not in result.text()


def test_user_namespace_defaults_and_oauth_token(
    make_platform: Callable[..., Platform], gitlab: FakeGitLab, workspace: Path, tmp_path: Path
) -> None:
    gitlab.admins.add("alice")  # the integration's token is an administrator's
    result = run(
        make_platform(),
        workspace,
        {"repoUrl": "gitlab.com?owner=bob&repo=tool", "token": OAUTH, "setUserAsOwner": True},
    )
    project = gitlab.project("bob/tool")
    assert project is not None
    assert project["visibility"] == "private"
    assert result.outputs["repoContentsUrl"].endswith("/bob/tool/-/blob/master")
    # The input token is a user's OAuth token; the integration's token makes that user Owner.
    assert gitlab.token_kinds[0] == "oauth"
    assert gitlab.members[project["id"]] == {gitlab.users["bob"]["id"]: 50}
    (member_call,) = gitlab.calls("POST", f"/api/v4/projects/{project['id']}/members")
    assert member_call.headers["private-token"] == TOKEN
    assert gitlab.calls("GET", "/api/v4/users/bob/projects")

    clone = gitlab.clone(
        f"{result.outputs['remoteUrl']}.git", tmp_path / "clone", username="oauth2", token=OAUTH
    )
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=clone) == "master"
    assert (clone / "README.md").exists()


def test_existing_project_fails_or_is_skipped(
    make_platform: Callable[..., Platform], gitlab: FakeGitLab, workspace: Path
) -> None:
    existing = gitlab.add_project("acme", "svc")
    platform = make_platform()
    with pytest.raises(ConflictError, match="acme/svc already exists") as caught:
        run(platform, workspace, {"repoUrl": "gitlab.com?owner=acme&repo=svc"})
    assert caught.value.where == "repoUrl"
    assert not gitlab.calls("POST")

    result = run(
        platform, workspace, {"repoUrl": "gitlab.com?owner=acme&repo=svc", "skipExisting": True}
    )
    assert result.outputs == {
        "remoteUrl": f"{gitlab.base_url}/acme/svc",
        "repoContentsUrl": f"{gitlab.base_url}/acme/svc/-/blob/master",
        "projectId": existing["id"],
        "created": False,
    }
    assert not gitlab.calls("POST")


def test_source_path_false_creates_an_empty_project(
    make_platform: Callable[..., Platform], gitlab: FakeGitLab, workspace: Path
) -> None:
    result = run(
        make_platform(),
        workspace,
        {"repoUrl": "gitlab.com?owner=acme&repo=empty", "sourcePath": False},
    )
    assert result.outputs["created"] is True
    assert "commitHash" not in result.outputs
    assert gitlab.branches("acme/empty") == []


def test_bad_token_is_refused_without_showing_it(
    make_platform: Callable[..., Platform], gitlab: FakeGitLab, workspace: Path
) -> None:
    logs: list[tuple[str, str]] = []
    with pytest.raises(NotAllowedError, match="rejected the token") as caught:
        run(
            make_platform(token=WRONG),
            workspace,
            {"repoUrl": "gitlab.com?owner=acme&repo=svc"},
            logs=logs,
        )
    assert "401 Unauthorized" in str(caught.value)
    assert WRONG not in str(caught.value)
    assert all(WRONG not in message for _, message in logs)


def test_refused_push_hides_the_token(
    make_platform: Callable[..., Platform], gitlab: FakeGitLab, workspace: Path
) -> None:
    gitlab.push_denied.add(TOKEN)
    logs: list[tuple[str, str]] = []
    with pytest.raises(GitPushError, match="refused the credentials") as caught:
        run(make_platform(), workspace, {"repoUrl": "gitlab.com?owner=acme&repo=svc"}, logs=logs)
    basic = base64.b64encode(f"oauth2:{TOKEN}".encode()).decode()
    for secret in (TOKEN, basic):
        assert secret not in str(caught.value)
        assert all(secret not in text for _, text in logs)


def test_dry_run_makes_no_request(
    make_platform: Callable[..., Platform], gitlab: FakeGitLab, workspace: Path
) -> None:
    result = run(
        make_platform(),
        workspace,
        {"repoUrl": "gitlab.com?owner=acme/services&repo=billing", "defaultBranch": "main"},
        dry_run=True,
    )
    assert gitlab.requests == []
    assert result.outputs["remoteUrl"] == f"{gitlab.base_url}/acme/services/billing"
    assert result.outputs["repoContentsUrl"].endswith("/acme/services/billing/-/blob/main")
    assert result.outputs["commitHash"] == "0" * 40


@pytest.mark.parametrize(
    ("repo_url", "match"),
    [
        ("gitlab.example.com?owner=acme&repo=svc", "no GitLab integration for host"),
        ("gitlab.com?repo=svc", "missing owner"),
        ("gitlab.com?owner=ghosts&repo=svc", "namespace ghosts is not found"),
    ],
)
def test_bad_targets_are_input_errors(
    make_platform: Callable[..., Platform],
    gitlab: FakeGitLab,
    workspace: Path,
    repo_url: str,
    match: str,
) -> None:
    with pytest.raises(InputError, match=match) as caught:
        run(make_platform(), workspace, {"repoUrl": repo_url})
    assert caught.value.where == "repoUrl"
    assert not gitlab.calls("POST")


def test_sign_commit_is_refused_before_anything_happens(
    make_platform: Callable[..., Platform], gitlab: FakeGitLab, workspace: Path
) -> None:
    with pytest.raises(InputError, match="cannot sign commits"):
        run(
            make_platform(),
            workspace,
            {"repoUrl": "gitlab.com?owner=acme&repo=svc", "signCommit": True},
        )
    assert gitlab.requests == []
