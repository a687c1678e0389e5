"""Stock git clients against a real ``goldpath serve``: clone, push, raw reads, events, CLI."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gitcli import git, git_run

from server_process import run_cli, running_server

ZERO = "0" * 40


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[str]:
    with running_server("serve", tmp_path / "data", database_url) as url:
        yield url


def pushes(server: str) -> list[tuple[str, str, str, bool]]:
    events = httpx.get(f"{server}/api/platform/events", params={"type": "git.push"}).json()
    return [
        (e["data"]["ref"], e["data"]["before"], e["data"]["after"], e["data"]["created"])
        for e in events
    ]


def test_clone_push_read_and_events(server: str, tmp_path: Path) -> None:
    created = run_cli(
        "repos", "create", "acme/svc", "--description", "A svc", "--json", url=server, check=True
    )
    clone_url = f"{server}/git/acme/svc.git"
    assert f'"cloneUrl": "{clone_url}"' in created.stdout

    work = tmp_path / "work"
    git("clone", "-q", clone_url, str(work))  # an empty repository clones too
    (work / "catalog-info.yaml").write_text("hello: world\n")
    (work / "docs").mkdir()
    (work / "docs" / "index.md").write_text("# Docs\n")
    git("add", ".", cwd=work)
    git("commit", "-qm", "first", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    first = git("rev-parse", "HEAD", cwd=work).strip()
    assert pushes(server) == [("refs/heads/main", ZERO, first, True)]

    # Larger than git's 1 MiB post buffer: the pack arrives chunked, in many pieces.
    payload = os.urandom(3 * 1024 * 1024)
    (work / "blob.bin").write_bytes(payload)
    git("add", ".", cwd=work)
    git("commit", "-qm", "second", cwd=work)
    git("push", "-q", "origin", "HEAD:main", cwd=work)
    second = git("rev-parse", "HEAD", cwd=work).strip()
    assert pushes(server)[-1] == ("refs/heads/main", first, second, False)

    again = tmp_path / "again"
    git("clone", "-q", clone_url, str(again))
    assert git("rev-parse", "HEAD", cwd=again).strip() == second
    digest = hashlib.sha256((again / "blob.bin").read_bytes()).hexdigest()
    assert digest == hashlib.sha256(payload).hexdigest()

    git("checkout", "-qb", "feature/x", cwd=work)
    (work / "docs" / "index.md").write_text("# Feature docs\n")
    git("commit", "-qam", "third", cwd=work)
    git("push", "-q", "origin", "feature/x", cwd=work)
    git("fetch", "-q", cwd=again)
    assert "origin/feature/x" in git("branch", "-r", cwd=again)

    # Raw reads, a branch with a slash included.
    blob = httpx.get(f"{server}/git/acme/svc/blob/main/catalog-info.yaml")
    assert blob.status_code == 200 and blob.text == "hello: world\n"
    assert blob.headers["content-type"] == "text/plain; charset=utf-8"
    assert httpx.get(f"{server}/git/acme/svc/blob/main/blob.bin").content == payload
    feature = httpx.get(f"{server}/git/acme/svc/blob/feature/x/docs/index.md")
    assert feature.text == "# Feature docs\n"
    at_sha = httpx.get(f"{server}/git/acme/svc/blob/{first}/docs/index.md")
    assert at_sha.text == "# Docs\n"
    tree = httpx.get(f"{server}/git/acme/svc/tree/feature/x/docs").json()
    assert tree["entries"] == [{"path": "docs/index.md", "type": "blob", "size": 15}]
    assert httpx.get(f"{server}/git/acme/svc/blob/main/missing.txt").status_code == 404
    assert httpx.get(f"{server}/git/acme/svc/blob/nope/x").status_code == 404

    detail = httpx.get(f"{server}/api/git/repos/acme/svc").json()
    assert {b["name"]: b["head"] for b in detail["branches"]}["main"] == second
    assert detail["description"] == "A svc"

    listed = run_cli("repos", "ls", url=server, check=True)
    assert "acme/svc" in listed.stdout
    run_cli("repos", "delete", "acme/svc", url=server, check=True)
    assert httpx.get(f"{server}/api/git/repos/acme/svc").status_code == 404
    failed = run_cli("repos", "delete", "acme/svc", url=server)
    assert failed.returncode == 1 and "no repository acme/svc" in failed.stderr


def test_unknown_repositories_and_escapes_are_refused(server: str, tmp_path: Path) -> None:
    missing = git_run("clone", "-q", f"{server}/git/acme/nope.git", str(tmp_path / "x"))
    assert missing.returncode != 0 and "not found" in missing.stderr.lower()
    assert not (tmp_path / "x").exists()
    refs = httpx.get(f"{server}/git/acme/nope.git/info/refs?service=git-upload-pack")
    assert refs.status_code == 404
    pushed = httpx.post(
        f"{server}/git/acme/nope.git/git-receive-pack",
        content=b"0000",
        headers={"content-type": "application/x-git-receive-pack-request"},
    )
    assert pushed.status_code == 404

    created = httpx.post(f"{server}/api/git/repos", json={"owner": "acme", "name": "svc"})
    assert created.status_code == 201
    data_dir = tmp_path / "data"
    (data_dir / "secret.txt").write_text("s3cr3t value")
    for path in (
        "/git/acme/..%2f..%2fsecret.git/info/refs?service=git-upload-pack",
        "/git/%2e%2e/svc.git/info/refs?service=git-upload-pack",
        "/git/acme/svc.git/info/refs",  # the dumb protocol
        "/git/acme/svc.git/config",
        "/git/acme/svc.git/objects/info/packs",
        "/git/acme/svc/blob/main/..%2f..%2f..%2fsecret.txt",
        "/git/acme/svc/blob/HEAD/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "/git/acme/svc/tree/HEAD/%2Fetc",
        "/git/.hidden/svc/blob/main/x",
    ):
        response = httpx.get(server + path)
        assert response.status_code in (400, 403, 404), path
        assert b"s3cr3t" not in response.content, path
    for body in (
        {"owner": "acme", "name": "../evil"},
        {"owner": "..", "name": "evil"},
        {"owner": "/etc", "name": "x"},
        {"owner": "acme", "name": ""},
        {"owner": "acme", "name": "x" * 101},
        {"owner": "acme", "name": "-rf"},
        {"owner": "acme", "name": "ok", "defaultBranch": "../main"},
    ):
        response = httpx.post(f"{server}/api/git/repos", json=body)
        assert response.status_code == 400, body
        assert response.headers["content-type"].startswith("application/problem+json")
    assert sorted(p.name for p in (data_dir / "git").iterdir()) == ["acme"]
    assert [p.name for p in (data_dir / "git" / "acme").iterdir()] == ["svc.git"]
