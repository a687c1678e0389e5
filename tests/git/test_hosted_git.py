"""Hosted git: stock git clients over smart HTTP, raw reads, events, and the catalog."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from goldpath.app import create_app
from goldpath.catalog.service import get_catalog
from goldpath.core.errors import ConflictError, InputError, NotFoundError
from goldpath.core.platform import Platform
from goldpath.git.service import GitService
from goldpath.scaffolder.actions.base import ActionContext, TemplateInfo, UserInfo
from goldpath.scaffolder.service import get_scaffolder
from server_process import running_server

GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Ada",
    "GIT_AUTHOR_EMAIL": "ada@example.test",
    "GIT_COMMITTER_NAME": "Ada",
    "GIT_COMMITTER_EMAIL": "ada@example.test",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_TERMINAL_PROMPT": "0",
}


def git(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def service(platform: Platform) -> GitService:
    return platform.services["git"]  # type: ignore[no-any-return]


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[str]:
    with running_server("serve", tmp_path / "data", database_url) as url:
        yield url


def test_stock_git_clones_and_pushes_over_http(server: str, tmp_path: Path) -> None:
    created = httpx.post(
        f"{server}/api/git/repos", json={"owner": "acme", "name": "svc", "description": "A svc"}
    )
    assert created.status_code == 201, created.text
    clone_url = created.json()["cloneUrl"]
    assert clone_url == f"{server}/git/acme/svc.git"

    work = tmp_path / "work"
    git("clone", "-q", clone_url, str(work))
    (work / "catalog-info.yaml").write_text("hello: world\n")
    (work / "docs").mkdir()
    (work / "docs" / "index.md").write_text("# Docs\n")
    git("add", ".", cwd=work)
    git("commit", "-qm", "first", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    first = git("rev-parse", "HEAD", cwd=work).strip()

    git("checkout", "-qb", "feature/x", cwd=work)
    (work / "docs" / "index.md").write_text("# Feature docs\n")
    git("commit", "-qam", "second", cwd=work)
    git("push", "-q", "origin", "feature/x", cwd=work)

    again = tmp_path / "again"
    git("clone", "-q", "--branch", "feature/x", clone_url, str(again))
    assert (again / "docs" / "index.md").read_text() == "# Feature docs\n"

    # Raw reads, including a branch name with a slash.
    blob = httpx.get(f"{server}/git/acme/svc/blob/main/catalog-info.yaml")
    assert blob.status_code == 200 and blob.text == "hello: world\n"
    feature = httpx.get(f"{server}/git/acme/svc/blob/feature/x/docs/index.md")
    assert feature.text == "# Feature docs\n"
    tree = httpx.get(f"{server}/git/acme/svc/tree/main/docs").json()
    assert tree["entries"] == [{"path": "docs/index.md", "type": "blob", "size": 7}]
    assert httpx.get(f"{server}/git/acme/svc/blob/main/missing.txt").status_code == 404

    # Every push is an event with before and after.
    events = httpx.get(f"{server}/api/platform/events", params={"type": "git.push"}).json()
    pushes = [(e["data"]["ref"], e["data"]["before"], e["data"]["after"]) for e in events]
    assert ("refs/heads/main", "0" * 40, first) in pushes
    assert any(ref == "refs/heads/feature/x" for ref, _, _ in pushes)

    detail = httpx.get(f"{server}/api/git/repos/acme/svc").json()
    assert {b["name"] for b in detail["branches"]} == {"main", "feature/x"}
    assert detail["description"] == "A svc"


def test_unknown_repositories_and_escapes_are_refused(server: str, tmp_path: Path) -> None:
    missing = subprocess.run(
        ["git", "clone", "-q", f"{server}/git/acme/nope.git", str(tmp_path / "x")],
        env=GIT_ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode != 0
    for path in (
        "/git/acme/..%2f..%2fetc.git/info/refs?service=git-upload-pack",
        "/git/../../etc/passwd",
        "/git/acme/svc.git/objects/info/packs",
        "/git/acme/svc.git/config",
    ):
        assert httpx.get(server + path).status_code in (400, 404), path
    for body in (
        {"owner": "acme", "name": "../evil"},
        {"owner": "..", "name": "evil"},
        {"owner": "/etc", "name": "x"},
        {"owner": "acme", "name": ""},
    ):
        assert httpx.post(f"{server}/api/git/repos", json=body).status_code == 400, body
    assert not (tmp_path / "evil.git").exists()


def test_publish_git_action_and_its_dry_run(platform: Platform, tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    (workspace / "src").mkdir(parents=True)
    (workspace / "src" / "app.py").write_text("print('hi')\n")
    (workspace / "catalog-info.yaml").write_text("kind: Component\n")
    action = get_scaffolder(platform).actions.get("publish:git")

    def run(dry_run: bool, **inputs: str) -> ActionContext:
        ctx = ActionContext(
            platform=platform,
            task_id="t1",
            step_id="publish",
            action_id="publish:git",
            input={"repoUrl": "goldpath?owner=acme&repo=web", **inputs},
            workspace=workspace,
            secrets={},
            template=TemplateInfo(entity_ref="template:default/t"),
            user=UserInfo(),
            dry_run=dry_run,
        )
        action.handler(ctx)
        return ctx

    dry = run(True)
    assert dry.outputs["commitHash"] == "0" * 40
    with pytest.raises(NotFoundError):
        service(platform).get_repository("acme", "web")

    ctx = run(False, description="Web", gitAuthorName="Grace", gitAuthorEmail="g@example.test")
    base = platform.settings.base_url()
    assert ctx.outputs["remoteUrl"] == f"{base}/git/acme/web.git"
    assert ctx.outputs["repoContentsUrl"] == f"{base}/git/acme/web/blob/main"
    assert not (workspace / ".git").exists()
    clone = tmp_path / "clone"
    git("clone", "-q", str(platform.settings.data_dir / "git" / "acme" / "web.git"), str(clone))
    assert (clone / "src" / "app.py").read_text() == "print('hi')\n"
    assert git("log", "-1", "--format=%an <%ae> %H", cwd=clone).strip() == (
        f"Grace <g@example.test> {ctx.outputs['commitHash']}"
    )
    [event] = platform.events.list(types=["git.push"])
    assert event.data["after"] == ctx.outputs["commitHash"]

    with pytest.raises(ConflictError, match="already exists"):
        run(False)
    with pytest.raises(InputError, match="repoUrl"):
        run(False, repoUrl="github.com?owner=acme&repo=web")


def test_catalog_reads_hosted_git_urls_without_an_allowlist(
    platform: Platform, tmp_path: Path
) -> None:
    git_service = service(platform)
    git_service.create_repository("acme", "billing")
    source = tmp_path / "src"
    source.mkdir()
    (source / "catalog-info.yaml").write_text(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: billing}\n"
        "spec: {type: service, lifecycle: production, owner: team-a}\n"
    )
    git_service.publish_directory(
        "acme",
        "billing",
        source,
        branch="main",
        message="first",
        author_name="A",
        author_email="a@example.test",
    )
    assert platform.settings.catalog.url_allowlist == []
    url = f"{platform.settings.base_url()}/git/acme/billing/blob/main/catalog-info.yaml"
    catalog = get_catalog(platform)
    catalog.add_location("url", url)
    platform.tasks.run_until_idle(timeout=30)
    entity = catalog.queries.by_name("component", "default", "billing")
    assert entity["spec"]["owner"] == "team-a"
    # Another host is still subject to the allowlist.
    with pytest.raises(Exception, match="allowlist"):
        catalog.add_location("url", "http://127.0.0.2:9/catalog-info.yaml")


def test_repos_api_lists_and_deletes(platform: Platform) -> None:
    with TestClient(create_app(platform)) as client:
        assert client.get("/api/git/repos").json() == []
        client.post("/api/git/repos", json={"owner": "acme", "name": "a", "defaultBranch": "trunk"})
        [repo] = client.get("/api/git/repos").json()
        assert repo["defaultBranch"] == "trunk" and repo["name"] == "a"
        again = client.post("/api/git/repos", json={"owner": "acme", "name": "a"})
        assert again.status_code == 409
        assert client.delete("/api/git/repos/acme/a").status_code == 204
        assert client.get("/api/git/repos/acme/a").status_code == 404
