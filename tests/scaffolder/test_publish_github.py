"""publish:github against a fake GitHub (REST + git smart HTTP) on loopback.

The fake stands in for GitHub only; the action, its git push and goldpath's settings run as
they do in production. Every test runs on SQLite and PostgreSQL (the ``make_settings`` fixture).
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from action_harness import Run, git, run_action

from goldpath.core.errors import ConflictError, InputError, NotAllowedError
from goldpath.core.platform import Platform
from goldpath.scaffolder.actions.gitpush import GitPushError
from goldpath.scaffolder.actions.publish_github import publish_actions, publish_github_action
from scaffolder.fakes.github import FakeGitHub

TOKEN = "ghp_alice0123456789abcdefSECRET"
WRONG = "ghp_wrong0123456789abcdefSECRET"


@pytest.fixture
def github(tmp_path: Path) -> Iterator[FakeGitHub]:
    fake = FakeGitHub(tmp_path / "github")
    fake.add_user("alice", token=TOKEN)
    fake.add_user("bob")
    fake.add_org("acme", members=["alice"], teams=("platform", "devs"))
    with fake:
        yield fake


@pytest.fixture
def make_platform(make_settings: Any, github: FakeGitHub) -> Iterator[Callable[..., Platform]]:
    created: list[Platform] = []

    def make(token: str | None = TOKEN, host: str = "github.com") -> Platform:
        integration: dict[str, Any] = {"host": host, "api_base_url": github.api_url}
        if token:
            integration["token"] = token
        platform = Platform.create(make_settings(**{"integrations.github": [integration]}))
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
    (root / "src" / "app.py").write_text("print('hello')\n")
    (root / ".gitignore").write_text("*.log\n")
    (root / "debug.log").write_text("not published\n")
    script = root / "run.sh"
    script.write_text("#!/bin/sh\necho run\n")
    script.chmod(0o755)
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
        platform, publish_github_action(), inputs, workspace=workspace, dry_run=dry_run, logs=logs
    )


def test_org_repository_is_created_configured_and_pushed(
    make_platform: Callable[..., Platform], github: FakeGitHub, workspace: Path, tmp_path: Path
) -> None:
    result = run(
        make_platform(),
        workspace,
        {
            "repoUrl": "github.com?owner=acme&repo=svc",
            "description": "A service",
            "repoVisibility": "internal",
            "defaultBranch": "main",
            "access": "acme/platform",
            "topics": ["Service", "python"],
            "collaborators": [
                {"user": "user:default/bob", "access": "push"},
                {"team": "group:default/devs", "access": "pull"},
                {"user": "nobody", "access": "admin"},
            ],
            "repoVariables": {"STAGE": "prod"},
            "requiredApprovingReviewCount": 2,
        },
    )
    repo = github.repo("acme", "svc")
    assert repo is not None
    assert result.outputs["remoteUrl"] == repo["clone_url"] == f"{github.base_url}/acme/svc.git"
    assert result.outputs["repoContentsUrl"] == f"{github.base_url}/acme/svc/blob/main"

    (create,) = github.calls("POST", "/api/v3/orgs/acme/repos")
    assert create.body["visibility"] == "internal"
    assert create.body["private"] is False
    assert create.body["description"] == "A service"
    assert create.body["allow_squash_merge"] is True
    assert create.headers["authorization"] == f"Bearer {TOKEN}"
    assert repo["topics"] == ["service", "python"]
    assert github.collaborators["acme/svc"] == {"bob": "push"}
    assert github.team_access["acme/svc"] == {"platform": "admin", "devs": "pull"}
    assert any("Skipping admin access for nobody" in w for w in result.warnings())
    assert github.variables["acme/svc"] == {"STAGE": "prod"}
    protection = github.protections["acme/svc:main"]
    assert protection["required_pull_request_reviews"]["required_approving_review_count"] == 2
    assert protection["enforce_admins"] is True
    assert protection["required_status_checks"] == {"strict": True, "contexts": []}

    # The push really landed: clone it and read the files.
    clone = github.clone(result.outputs["remoteUrl"], tmp_path / "clone", username="x", token=TOKEN)
    assert (clone / "README.md").read_text() == "# svc\n"
    assert (clone / "src" / "app.py").read_text() == "print('hello')\n"
    assert not (clone / "debug.log").exists()
    assert os.access(clone / "run.sh", os.X_OK)
    assert git("rev-parse", "HEAD", cwd=clone) == result.outputs["commitHash"]
    assert git("log", "-1", "--format=%an <%ae>|%s", cwd=clone) == (
        "Scaffolder <scaffolder@goldpath.local>|initial commit"
    )
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=clone) == "main"
    assert not (workspace / ".git").exists()

    # git authenticated as Backstage's client does: Basic x-access-token:<token>.
    pushes = github.calls("POST", "/acme/svc.git/git-receive-pack")
    expected = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert pushes and pushes[0].headers["authorization"] == f"Basic {expected}"
    assert TOKEN not in result.text()


def test_user_repository_with_backstage_defaults(
    make_platform: Callable[..., Platform], github: FakeGitHub, workspace: Path, tmp_path: Path
) -> None:
    github.free_plan.add("alice")
    (workspace / "sub").mkdir()
    (workspace / "sub" / "only.txt").write_text("only this\n")
    result = run(
        make_platform(),
        workspace,
        {
            "repoUrl": "github.com?owner=alice&repo=tool",
            "sourcePath": "sub",
            "gitCommitMessage": "scaffolded",
            "gitAuthorName": "Alice",
            "gitAuthorEmail": "alice@example.com",
            "secrets": {"API_KEY": "s3cr3t"},
            "someFutureInput": True,
        },
    )
    (create,) = github.calls("POST", "/api/v3/user/repos")
    assert create.body["private"] is True
    assert "visibility" not in create.body
    assert not github.calls("POST", "/api/v3/orgs/")
    # Backstage's default branch is master, and protection is on by default.
    assert result.outputs["repoContentsUrl"].endswith("/alice/tool/blob/master")
    assert github.calls("PUT", "/api/v3/repos/alice/tool/branches/master/protection")
    warnings = result.warnings()
    assert any("GitHub Pro" in w for w in warnings)
    assert any("Ignoring input secrets" in w for w in warnings)
    assert any("Ignoring input someFutureInput" in w for w in warnings)
    assert "s3cr3t" not in result.text()

    clone = github.clone(result.outputs["remoteUrl"], tmp_path / "clone", username="x", token=TOKEN)
    assert sorted(p.name for p in clone.iterdir() if p.name != ".git") == ["only.txt"]
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=clone) == "master"
    assert git("log", "-1", "--format=%an <%ae>|%s", cwd=clone) == (
        "Alice <alice@example.com>|scaffolded"
    )


def test_existing_repository_is_a_clear_error(
    make_platform: Callable[..., Platform], github: FakeGitHub, workspace: Path
) -> None:
    github.add_repo("acme", "svc")
    with pytest.raises(ConflictError, match="acme/svc already exists") as caught:
        run(make_platform(), workspace, {"repoUrl": "github.com?owner=acme&repo=svc"})
    assert caught.value.where == "repoUrl"
    assert not github.calls("POST", "/acme/svc.git/")


def test_bad_token_is_refused_without_showing_it(
    make_platform: Callable[..., Platform], github: FakeGitHub, workspace: Path
) -> None:
    logs: list[tuple[str, str]] = []
    with pytest.raises(NotAllowedError, match="rejected the token") as caught:
        run(
            make_platform(token=WRONG),
            workspace,
            {"repoUrl": "github.com?owner=acme&repo=svc"},
            logs=logs,
        )
    assert "Bad credentials" in str(caught.value)
    assert WRONG not in str(caught.value)
    assert all(WRONG not in message for _, message in logs)
    assert github.repo("acme", "svc") is None


def test_token_input_wins_over_the_integration(
    make_platform: Callable[..., Platform], github: FakeGitHub, workspace: Path
) -> None:
    result = run(
        make_platform(token=WRONG),
        workspace,
        {
            "repoUrl": "github.com?owner=acme&repo=svc",
            "token": TOKEN,
            "protectDefaultBranch": False,
        },
    )
    assert len(result.outputs["commitHash"]) == 40
    assert {r.headers["authorization"] for r in github.calls("GET", "/api/v3/")} == {
        f"Bearer {TOKEN}"
    }
    assert not github.calls("PUT", "/api/v3/repos/acme/svc/branches/")


def test_refused_push_names_the_problem_and_hides_the_token(
    make_platform: Callable[..., Platform], github: FakeGitHub, workspace: Path
) -> None:
    github.push_denied.add(TOKEN)
    logs: list[tuple[str, str]] = []
    with pytest.raises(GitPushError) as caught:
        run(make_platform(), workspace, {"repoUrl": "github.com?owner=acme&repo=svc"}, logs=logs)
    message = str(caught.value)
    assert "was created, but pushing to it failed" in message
    assert "refused the credentials" in message
    basic = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    for secret in (TOKEN, basic):
        assert secret not in message
        assert all(secret not in text for _, text in logs)


def test_dry_run_makes_no_request(
    make_platform: Callable[..., Platform], github: FakeGitHub, workspace: Path
) -> None:
    result = run(
        make_platform(token=None),
        workspace,
        {"repoUrl": "github.com?owner=acme&repo=svc", "defaultBranch": "main"},
        dry_run=True,
    )
    assert github.requests == []
    assert result.outputs == {
        "remoteUrl": "https://github.com/acme/svc.git",
        "repoContentsUrl": "https://github.com/acme/svc/blob/main",
        "commitHash": "0" * 40,
    }
    assert any("No token" in w for w in result.warnings())
    assert not (workspace / ".git").exists()


@pytest.mark.parametrize(
    ("repo_url", "match"),
    [
        ("ghe.example.com?owner=acme&repo=svc", "no GitHub integration for host ghe.example.com"),
        ("github.com?owner=acme", "missing repo"),
        ("github.com?owner=ghost&repo=svc", "no GitHub user or organization 'ghost'"),
        ("github.com?owner=bob&repo=svc", "token belongs to alice"),
    ],
)
def test_bad_targets_are_input_errors(
    make_platform: Callable[..., Platform],
    github: FakeGitHub,
    workspace: Path,
    repo_url: str,
    match: str,
) -> None:
    with pytest.raises(InputError, match=match) as caught:
        run(make_platform(), workspace, {"repoUrl": repo_url})
    assert caught.value.where == "repoUrl"
    assert not github.calls("POST")


def test_missing_token_is_an_input_error(
    make_platform: Callable[..., Platform], github: FakeGitHub, workspace: Path
) -> None:
    with pytest.raises(InputError, match="no token for github.com"):
        run(make_platform(token=None), workspace, {"repoUrl": "github.com?owner=acme&repo=svc"})
    assert github.requests == []


def test_actions_describe_themselves() -> None:
    described = {action.id: action.describe() for action in publish_actions()}
    assert set(described) == {"publish:github", "publish:gitlab"}
    github_inputs = described["publish:github"]["schema"]["input"]["properties"]
    assert github_inputs["defaultBranch"]["default"] == "master"
    assert set(described["publish:gitlab"]["schema"]["output"]["properties"]) == {
        "remoteUrl",
        "repoContentsUrl",
        "projectId",
        "commitHash",
        "created",
    }
    for action in publish_actions():
        assert action.supports_dry_run
        jsonschema.Draft7Validator.check_schema(action.input_schema)
