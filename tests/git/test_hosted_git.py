"""Hosted git through its service, API, url reader, publish:git action and the catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from gitcli import git

from goldpath.app import create_app
from goldpath.catalog.service import get_catalog
from goldpath.core.errors import ConflictError, InputError, NotAllowedError, NotFoundError
from goldpath.core.hookspecs import hookimpl
from goldpath.core.platform import Platform
from goldpath.core.urlreaders import find_url_reader
from goldpath.git.plumbing import check_branch, check_name
from goldpath.git.readers import HostedGitReader
from goldpath.git.service import GitService
from goldpath.scaffolder.actions.base import ActionContext, TemplateInfo, UserInfo
from goldpath.scaffolder.service import get_scaffolder

ZERO = "0" * 40


def service(platform: Platform) -> GitService:
    git_service = platform.services["git"]
    assert isinstance(git_service, GitService)
    return git_service


def tree_of(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


class PushRecorder:
    """A plugin, as a third party would write one, that hears of every push."""

    def __init__(self) -> None:
        self.pushes: list[dict[str, Any]] = []

    @hookimpl
    def goldpath_git_pushed(self, platform: Platform, push: dict[str, Any]) -> None:
        self.pushes.append(push)


def test_names_are_checked() -> None:
    assert check_name("svc.git", "name") == "svc"
    assert check_name("a" * 100, "name") == "a" * 100
    for bad in ("", ".", "..", "a..b", "../x", "/etc", "-x", ".hidden", "a/b", "a b", "a" * 101):
        with pytest.raises(InputError):
            check_name(bad, "name")
    assert check_branch("feature/x") == "feature/x"
    for bad in ("", "-x", "a..b", "a b", "x.lock", "a//b", "/a", "a/", "HEAD", "a:b", "@{1}", ".a"):
        with pytest.raises(InputError):
            check_branch(bad)


def test_publish_commits_a_folder_and_tells_plugins(platform: Platform, tmp_path: Path) -> None:
    recorder = PushRecorder()
    platform.plugins.register(recorder)
    git_service = service(platform)
    repo = git_service.create_repository("acme", "lib", description="A library")
    assert repo.created_at is not None and repo.default_branch == "main"
    source = tmp_path / "source"
    (source / "src").mkdir(parents=True)
    (source / "src" / "lib.py").write_text("x = 1\n")
    (source / ".gitignore").write_text("*.log\n")
    (source / "debug.log").write_text("ignored\n")
    first = git_service.publish_directory(
        "acme",
        "lib",
        source,
        branch="main",
        message="first",
        author_name="Ada",
        author_email="ada@example.test",
        pusher="user:default/ada",
    )
    assert not (source / ".git").exists()
    (source / "src" / "lib.py").write_text("x = 2\n")
    second = git_service.publish_directory(
        "acme",
        "lib",
        source,
        branch="main",
        message="second",
        author_name="Ada",
        author_email="ada@example.test",
    )
    assert [(p["before"], p["after"], p["created"]) for p in recorder.pushes] == [
        (ZERO, first, True),
        (first, second, False),
    ]
    events = platform.events.list(types=["git.push"])
    assert [e.data["after"] for e in events] == [first, second]
    assert events[0].subject == "git:acme/lib" and events[0].actor == "user:default/ada"

    clone = tmp_path / "clone"
    git("clone", "-q", git_service.path("acme", "lib").as_uri(), str(clone))
    assert tree_of(clone) == {".gitignore": "*.log\n", "src/lib.py": "x = 2\n"}
    assert git("log", "--format=%an <%ae> %s", cwd=clone).splitlines() == [
        "Ada <ada@example.test> second",
        "Ada <ada@example.test> first",
    ]
    detail = git_service.get_repository("acme", "lib", branches=True)
    assert detail.branches is not None and detail.branches[0].head == second
    assert detail.description == "A library"


def test_reads_and_the_url_reader(platform: Platform, tmp_path: Path) -> None:
    git_service = service(platform)
    git_service.create_repository("acme", "docs")
    source = tmp_path / "source"
    (source / "docs" / "guide").mkdir(parents=True)
    (source / "docs" / "index.md").write_text("# Index\n")
    (source / "docs" / "guide" / "a.md").write_text("A\n")
    (source / "README.md").write_text("readme\n")
    for branch in ("main", "feature/x"):
        git_service.publish_directory(
            "acme",
            "docs",
            source,
            branch=branch,
            message=branch,
            author_name="A",
            author_email="a@example.test",
        )
    (source / "docs" / "index.md").write_text("# Feature\n")
    git_service.publish_directory(
        "acme",
        "docs",
        source,
        branch="feature/x",
        message="change",
        author_name="A",
        author_email="a@example.test",
    )
    base = f"{platform.settings.base_url()}/git/acme/docs"
    reader = find_url_reader(platform, f"{base}/blob/feature/x/docs/index.md")
    assert reader is not None
    assert reader.read(f"{base}/blob/feature/x/docs/index.md") == b"# Feature\n"
    assert reader.read(f"{base}/blob/main/docs/index.md") == b"# Index\n"
    assert reader.read(f"{base}/blob/main/docs/guide/a.md?raw=1") == b"A\n"

    folder = tmp_path / "folder"
    folder.mkdir()
    reader.read_tree(f"{base}/tree/feature/x/docs", folder)
    assert tree_of(folder) == {"index.md": "# Feature\n", "guide/a.md": "A\n"}
    single = tmp_path / "single"
    single.mkdir()
    reader.read_tree(f"{base}/blob/main/README.md", single)
    assert tree_of(single) == {"README.md": "readme\n"}
    whole = tmp_path / "whole"
    git_service.export_tree("acme", "docs", "main", "", whole)
    assert set(tree_of(whole)) == {"README.md", "docs/index.md", "docs/guide/a.md"}

    with pytest.raises(NotFoundError):
        reader.read(f"{base}/blob/main/nope.md")
    with pytest.raises(NotAllowedError):
        reader.read(f"{base}/blob/main/%2e%2e/%2e%2e/config")
    with pytest.raises(NotFoundError):
        reader.read(f"{platform.settings.base_url()}/git/acme/missing/blob/main/x")
    with pytest.raises(InputError):
        git_service.read_file("acme", "docs", "--output=/tmp/x", "README.md")
    with pytest.raises(NotAllowedError):
        git_service.read_file("acme", "docs", "main", "/etc/passwd")
    assert find_url_reader(platform, "http://example.test/git/acme/docs/blob/main/x") is None
    assert find_url_reader(platform, f"{base}.git") is None
    listing = git_service.list_tree("acme", "docs", "main", "docs")
    assert {(e["path"], e["type"]) for e in listing} == {
        ("docs/index.md", "blob"),
        ("docs/guide", "tree"),
    }


def _context(
    platform: Platform, workspace: Path, dry_run: bool, user: UserInfo, **inputs: Any
) -> ActionContext:
    return ActionContext(
        platform=platform,
        task_id="t1",
        step_id="publish",
        action_id="publish:git",
        input={"repoUrl": "goldpath?owner=acme&repo=web", **inputs},
        workspace=workspace,
        secrets={},
        template=TemplateInfo(entity_ref="template:default/t"),
        user=user,
        dry_run=dry_run,
    )


def test_publish_git_action_and_its_dry_run(platform: Platform, tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    (workspace / "app" / "src").mkdir(parents=True)
    (workspace / "app" / "src" / "app.py").write_text("print('hi')\n")
    (workspace / "app" / "catalog-info.yaml").write_text("kind: Component\n")
    (workspace / "notes.txt").write_text("not published\n")
    action = get_scaffolder(platform).actions.get("publish:git")
    assert action.supports_dry_run
    assert set(action.input_schema["properties"]) >= {"repoUrl", "sourcePath", "repoVisibility"}
    assert all("description" in p for p in action.output_schema["properties"].values())
    ada = UserInfo(
        ref="user:default/ada",
        entity={
            "metadata": {"name": "ada"},
            "spec": {"profile": {"displayName": "Ada Lovelace", "email": "ada@example.test"}},
        },
    )

    def run(dry_run: bool = False, user: UserInfo = ada, **inputs: Any) -> ActionContext:
        ctx = _context(platform, workspace, dry_run, user, **inputs)
        action.handler(ctx)
        return ctx

    base = platform.settings.base_url()
    dry = run(True, sourcePath="app")
    assert dry.outputs == {
        "remoteUrl": f"{base}/git/acme/web.git",
        "repoContentsUrl": f"{base}/git/acme/web/blob/main",
        "commitHash": ZERO,
    }
    with pytest.raises(NotFoundError):
        service(platform).get_repository("acme", "web")
    assert not (platform.settings.data_dir / "git" / "acme" / "web.git").exists()
    assert platform.events.list(types=["git.push", "git.repository.created"]) == []

    ctx = run(sourcePath="app", description="Web", defaultBranch="trunk")
    assert ctx.outputs["remoteUrl"] == f"{base}/git/acme/web.git"
    assert ctx.outputs["repoContentsUrl"] == f"{base}/git/acme/web/blob/trunk"
    assert not (workspace / ".git").exists() and not (workspace / "app" / ".git").exists()
    clone = tmp_path / "clone"
    git("clone", "-q", service(platform).path("acme", "web").as_uri(), str(clone))
    assert tree_of(clone) == {
        "catalog-info.yaml": "kind: Component\n",
        "src/app.py": "print('hi')\n",
    }
    assert git("log", "-1", "--format=%an <%ae> %H %s", cwd=clone).strip() == (
        f"Ada Lovelace <ada@example.test> {ctx.outputs['commitHash']} initial commit"
    )
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=clone).strip() == "trunk"
    [event] = platform.events.list(types=["git.push"])
    assert event.data["after"] == ctx.outputs["commitHash"]
    assert event.data["ref"] == "refs/heads/trunk"

    with pytest.raises(ConflictError, match="repository acme/web already exists"):
        run()
    other = run(
        user=UserInfo(),
        repoUrl=f"{urlsplit(base).netloc}?owner=acme&repo=other",
        gitCommitMessage="hello",
    )
    assert other.outputs["remoteUrl"] == f"{base}/git/acme/other.git"
    assert service(platform).read_file("acme", "other", "main", "notes.txt") == b"not published\n"
    other_repo = service(platform).path("acme", "other")
    assert git("--git-dir", str(other_repo), "log", "-1", "--format=%an <%ae> %s") == (
        "Scaffolder <scaffolder@goldpath.local> hello\n"
    )
    for bad in (
        "github.com?owner=acme&repo=web",
        "goldpath?owner=acme",
        "goldpath?owner=..&repo=x",
    ):
        with pytest.raises(InputError) as caught:
            run(repoUrl=bad)
        assert caught.value.where == "repoUrl"
    with pytest.raises(NotAllowedError):
        run(repoUrl="goldpath?owner=acme&repo=escape", sourcePath="../..")
    assert not (platform.settings.data_dir / "git" / "acme" / "escape.git").exists()


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
    # The same server spelled with another loopback name is still our own.
    port = platform.settings.server.port
    reader = HostedGitReader(git_service)
    other = f"http://localhost:{port}/git/acme/billing/blob/main/catalog-info.yaml"
    assert reader.read(other) == (source / "catalog-info.yaml").read_bytes()
    assert not reader.handles(f"http://localhost:{port + 1}/git/acme/billing/blob/main/x")
    # Another host is still subject to the allowlist.
    with pytest.raises(NotAllowedError, match="allowlist"):
        catalog.add_location("url", "http://127.0.0.2:9/catalog-info.yaml")


def test_repos_api(platform: Platform) -> None:
    with TestClient(create_app(platform)) as client:
        assert client.get("/api/git/repos").json() == []
        created = client.post(
            "/api/git/repos", json={"owner": "acme", "name": "a.git", "defaultBranch": "trunk"}
        )
        assert created.status_code == 201
        assert created.json()["cloneUrl"] == f"{platform.settings.base_url()}/git/acme/a.git"
        [repo] = client.get("/api/git/repos").json()
        assert repo["defaultBranch"] == "trunk" and repo["name"] == "a" and "createdAt" in repo
        assert client.get("/api/git/repos/acme/a").json()["branches"] == []
        again = client.post("/api/git/repos", json={"owner": "acme", "name": "a"})
        assert again.status_code == 409 and "already exists" in again.json()["detail"]
        assert client.post("/api/git/repos", json={"owner": "acme"}).status_code == 400
        unknown = client.post("/api/git/repos", json={"owner": "acme", "name": "b", "x": 1})
        assert unknown.status_code == 400
        assert client.delete("/api/git/repos/acme/a").status_code == 204
        assert client.get("/api/git/repos/acme/a").status_code == 404
        assert client.delete("/api/git/repos/acme/a").status_code == 404
        assert client.get("/api/git/repos").json() == []
