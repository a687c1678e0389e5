"""fetch:plain, fetch:plain:file, fetch:template, fetch:template:file on real folders, real git
repositories, goldpath's hosted git and a loopback HTTP server."""

from __future__ import annotations

import functools
import http.server
import os
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from goldpath.core.config import Settings
from goldpath.core.errors import InputError, NotAllowedError, NotFoundError
from goldpath.core.platform import Platform
from goldpath.scaffolder.actions.base import ActionContext, TemplateInfo, UserInfo
from goldpath.scaffolder.actions.fetch import fetch_actions
from goldpath.scaffolder.expressions import ExpressionError
from goldpath.scaffolder.sources import release_checkouts

ACTIONS = {action.id: action for action in fetch_actions()}
PNG = bytes([0x89, 0x50, 0x4E, 0x47, 0, 0, 0, 1]) + b"${{ values.name }}" + bytes(range(256))
LATIN1 = "café ${{ values.name }}\n".encode("latin-1")


def run(
    platform: Platform,
    workspace: Path,
    action_id: str,
    *,
    base_url: str | None = None,
    dry_run_dir: Path | None = None,
    task_id: str = "task-1",
    **inputs: Any,
) -> list[str]:
    """Run one action as the engine would (inputs checked against its schema); its log."""
    action = ACTIONS[action_id]
    jsonschema.validate(inputs, action.input_schema)
    workspace.mkdir(parents=True, exist_ok=True)
    log: list[str] = []
    ctx = ActionContext(
        platform=platform,
        task_id=task_id,
        step_id="fetch",
        action_id=action_id,
        input=inputs,
        workspace=workspace,
        secrets={},
        template=TemplateInfo(
            entity_ref="template:default/svc", base_url=base_url, dry_run_dir=dry_run_dir
        ),
        user=UserInfo(ref="user:default/ada"),
        log=lambda message, level: log.append(message),
    )
    try:
        action.handler(ctx)
    finally:
        ctx.cleanup()
    assert ctx.outputs == {}
    return log


def tree(root: Path) -> dict[str, Any]:
    """Every entry below ``root``: text, bytes, ``->link`` for symlinks, ``/`` for folders."""
    found: dict[str, Any] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[relative] = "->" + os.readlink(path)
        elif path.is_dir():
            found[relative] = "/"
        else:
            data = path.read_bytes()
            try:
                found[relative] = data.decode("utf-8")
            except UnicodeDecodeError:
                found[relative] = data
    return found


def make_skeleton(root: Path) -> None:
    files: dict[str, str | bytes] = {
        "README.md": "# ${{ values.name }}\n\nOwned by ${{ values.owner | upper }}.\n",
        "${{ values.name }}/__init__.py": 'NAME = "${{ values.name }}"\n',
        "${{ values.name }}/{{ not rendered }}.txt": "{{ literal }} ${{ values.owner }}\n",
        "{% if values.docs %}docs{% endif %}/index.md": "# Docs\n",
        "${{ values.optional }}": "left out\n",
        "sub/${{ values.optional }}/inside.txt": "left out too\n",
        "ci/${{ values.name }}.yml": "sha: {% raw %}${{ github.sha }}{% endraw %}\n",
        "raw/${{ values.name }}.txt": "${{ values.name }} stays\n",
        "assets/logo.png": PNG,
        "assets/latin1.txt": LATIN1,
        "bin/run.sh": "#!/bin/sh\necho ${{ values.name }}\n",
        "crlf.bat": "echo ${{ values.name }}\r\necho done\r\n",
        ".hidden": "${{ values.name }}\n",
        "empty.txt": "",
    }
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_bytes(content.encode("utf-8"))
    (root / "bin" / "run.sh").chmod(0o755)
    (root / "link.md").symlink_to("README.md")


@pytest.fixture
def template_dir(tmp_path: Path) -> Path:
    """``template/template.yaml`` with ``skeleton/`` and ``files/`` beside it."""
    root = tmp_path / "templates" / "svc"
    make_skeleton(root / "skeleton")
    (root / "template.yaml").write_text("kind: Template\n")
    (root / "files").mkdir()
    (root / "files" / "README.md").write_text("# ${{ values.name }}\n")
    (root / "files" / "tool.sh").write_text("#!/bin/sh\necho ${{ values.name }}\n")
    (root / "files" / "tool.sh").chmod(0o750)
    (root / "files" / "logo.png").write_bytes(PNG)
    shared = tmp_path / "templates" / "shared"
    shared.mkdir()
    (shared / "LICENSE").write_text("MIT ${{ values.name }}\n")
    return root


VALUES = {"name": "payments", "owner": "team-a", "docs": False}
EXPECTED = {
    ".hidden": "payments\n",
    "README.md": "# payments\n\nOwned by TEAM-A.\n",
    "assets": "/",
    "assets/latin1.txt": LATIN1,
    "assets/logo.png": PNG,
    "bin": "/",
    "bin/run.sh": "#!/bin/sh\necho payments\n",
    "ci": "/",
    "ci/payments.yml": "sha: ${{ github.sha }}\n",
    "crlf.bat": "echo payments\r\necho done\r\n",
    "empty.txt": "",
    "link.md": "->README.md",
    "payments": "/",
    "payments/__init__.py": 'NAME = "payments"\n',
    "payments/{{ not rendered }}.txt": "{{ literal }} team-a\n",
    "raw": "/",
    "raw/payments.txt": "${{ values.name }} stays\n",
    "sub": "/",
}


def test_fetch_template_renders_names_and_contents(
    platform: Platform, tmp_path: Path, template_dir: Path
) -> None:
    workspace = tmp_path / "workspace"
    log = run(
        platform,
        workspace,
        "fetch:template",
        base_url=f"file:{template_dir / 'template.yaml'}",
        url="./skeleton",
        targetPath="out",
        values=VALUES,
        copyWithoutTemplating=["raw/**"],
    )
    out = workspace / "out"
    assert tree(out) == EXPECTED
    assert (out / "bin" / "run.sh").stat().st_mode & 0o777 == 0o755
    assert (out / "assets" / "logo.png").read_bytes() == PNG
    assert any("Template result written to out" in line for line in log)

    # Docs are wanted this time; files already there are kept unless replace is set.
    (out / "README.md").write_text("changed\n")
    run(
        platform,
        workspace,
        "fetch:template",
        base_url=f"file:{template_dir / 'template.yaml'}",
        url="./skeleton",
        targetPath="out",
        values={**VALUES, "docs": True, "owner": "team-b"},
    )
    assert (out / "README.md").read_text() == "changed\n"
    assert (out / "docs" / "index.md").read_text() == "# Docs\n"
    run(
        platform,
        workspace,
        "fetch:template",
        base_url=f"file://{template_dir / 'template.yaml'}",
        url="./skeleton",
        targetPath="out",
        values={**VALUES, "owner": "team-b"},
        replace=True,
    )
    assert (out / "README.md").read_text() == "# payments\n\nOwned by TEAM-B.\n"


def test_copy_without_render_leaves_matched_paths_alone(
    platform: Platform, tmp_path: Path, template_dir: Path
) -> None:
    workspace = tmp_path / "workspace"
    run(
        platform,
        workspace,
        "fetch:template",
        base_url=f"file:{template_dir / 'template.yaml'}",
        url="./skeleton",
        values=VALUES,
        copyWithoutRender=["raw/**", "ci/*.yml", "!ci/never.yml"],
    )
    found = tree(workspace)
    assert found["raw/${{ values.name }}.txt"] == "${{ values.name }} stays\n"
    assert found["ci/${{ values.name }}.yml"] == "sha: {% raw %}${{ github.sha }}{% endraw %}\n"
    assert found["payments/__init__.py"] == 'NAME = "payments"\n'

    with pytest.raises(InputError, match="cannot be used together"):
        run(
            platform,
            workspace,
            "fetch:template",
            base_url=f"file:{template_dir / 'template.yaml'}",
            url="./skeleton",
            copyWithoutRender=[],
            copyWithoutTemplating=[],
        )


def test_template_file_extension(platform: Platform, tmp_path: Path) -> None:
    skeleton = tmp_path / "tpl" / "skeleton"
    (skeleton / "src").mkdir(parents=True)
    (skeleton / "src" / "${{ values.name }}.py.njk").write_text("NAME = '${{ values.name }}'\n")
    (skeleton / "src" / "plain.py").write_text("KEEP = '${{ values.name }}'\n")
    (skeleton / "notes.tpl").write_text("${{ values.name | upper }}\n")
    base = f"file:{tmp_path / 'tpl' / 'template.yaml'}"
    workspace = tmp_path / "workspace"
    run(
        platform,
        workspace,
        "fetch:template",
        base_url=base,
        url="./skeleton",
        values={"name": "svc"},
        templateFileExtension=True,
        targetPath="a",
    )
    assert tree(workspace / "a") == {
        "notes.tpl": "${{ values.name | upper }}\n",
        "src": "/",
        "src/plain.py": "KEEP = '${{ values.name }}'\n",
        "src/svc.py": "NAME = 'svc'\n",
    }
    run(
        platform,
        workspace,
        "fetch:template",
        base_url=base,
        url="./skeleton",
        values={"name": "svc"},
        templateFileExtension="tpl",
        targetPath="b",
    )
    assert tree(workspace / "b")["notes"] == "SVC\n"
    assert tree(workspace / "b")["src/svc.py.njk"] == "NAME = '${{ values.name }}'\n"
    for conflicting in ({"cookiecutterCompat": True}, {"copyWithoutTemplating": ["x"]}):
        with pytest.raises(InputError, match="templateFileExtension"):
            run(
                platform,
                workspace,
                "fetch:template",
                base_url=base,
                url="./skeleton",
                templateFileExtension=True,
                **conflicting,
            )


def test_cookiecutter_compat(platform: Platform, tmp_path: Path) -> None:
    skeleton = tmp_path / "tpl" / "skeleton"
    (skeleton / "{{ cookiecutter.name }}").mkdir(parents=True)
    (skeleton / "{{ cookiecutter.name }}" / "main.py").write_text(
        "# {{ cookiecutter.name | upper }} by {{ values.owner }}\n"
        "{% if cookiecutter.name.startswith('pay') %}PAY = True{% endif %}\n"
        "TAGS = {{ cookiecutter.tags | jsonify }}\n"
        "# ${{ cookiecutter.name }}\n"
    )
    workspace = tmp_path / "workspace"
    run(
        platform,
        workspace,
        "fetch:template",
        base_url=f"file:{tmp_path / 'tpl' / 'template.yaml'}",
        url="./skeleton",
        values={"name": "payments", "owner": "ada", "tags": ["a", "b"]},
        cookiecutterCompat=True,
    )
    assert (workspace / "payments" / "main.py").read_text() == (
        '# PAYMENTS by ada\nPAY = True\nTAGS = ["a","b"]\n# $payments\n'
    )


def test_trim_and_lstrip_blocks(platform: Platform, tmp_path: Path) -> None:
    skeleton = tmp_path / "tpl" / "skeleton"
    skeleton.mkdir(parents=True)
    (skeleton / "list.txt").write_text(
        "items:\n  {% for x in values.items %}\n  - ${{ x }}\n  {% endfor %}\nend\n"
    )
    workspace = tmp_path / "workspace"
    base = f"file:{tmp_path / 'tpl' / 'template.yaml'}"
    run(
        platform,
        workspace,
        "fetch:template",
        base_url=base,
        url="./skeleton",
        values={"items": [1, 2]},
        trimBlocks=True,
        lstripBlocks=True,
    )
    assert (workspace / "list.txt").read_text() == "items:\n  - 1\n  - 2\nend\n"


@pytest.mark.parametrize(
    ("values", "target"),
    [
        ({"name": "../../escape"}, "./"),
        ({"name": "/etc/cron.d"}, "./"),
        ({"name": "ok"}, "../outside"),
        ({"name": "ok"}, "/tmp"),
    ],
)
def test_paths_cannot_leave_the_target(
    platform: Platform, tmp_path: Path, values: dict[str, str], target: str
) -> None:
    skeleton = tmp_path / "tpl" / "skeleton"
    skeleton.mkdir(parents=True)
    (skeleton / "${{ values.name }}").write_text("x\n")
    workspace = tmp_path / "workspace"
    with pytest.raises(NotAllowedError):
        run(
            platform,
            workspace,
            "fetch:template",
            url="./skeleton",
            values=values,
            targetPath=target,
            base_url=f"file:{tmp_path / 'tpl' / 'template.yaml'}",
        )
    assert not (tmp_path / "escape").exists() and not (tmp_path / "outside").exists()
    assert list(workspace.rglob("*")) == []


def test_a_template_error_writes_nothing(platform: Platform, tmp_path: Path) -> None:
    skeleton = tmp_path / "tpl" / "skeleton"
    (skeleton / "a").mkdir(parents=True)
    (skeleton / "a" / "fine.txt").write_text("${{ values.name }}\n")
    (skeleton / "b.txt").write_text("one\ntwo ${{ values.name | nosuchfilter }}\n")
    workspace = tmp_path / "workspace"
    with pytest.raises(ExpressionError, match="nosuchfilter") as caught:
        run(
            platform,
            workspace,
            "fetch:template",
            base_url=f"file:{tmp_path / 'tpl' / 'template.yaml'}",
            url="./skeleton",
            values={"name": "x"},
        )
    assert caught.value.where == "b.txt"
    assert list(workspace.rglob("*")) == []


def test_symlinks_leading_out_of_the_skeleton_are_refused(
    platform: Platform, tmp_path: Path
) -> None:
    skeleton = tmp_path / "tpl" / "skeleton"
    skeleton.mkdir(parents=True)
    (skeleton / "a.txt").write_text("a\n")
    base = f"file:{tmp_path / 'tpl' / 'template.yaml'}"
    workspace = tmp_path / "workspace"
    for name, link in (
        ("etc", "/etc"),
        ("passwd", "../../../../../../etc/passwd"),
        ("up", "../template.yaml"),
    ):
        (skeleton / name).symlink_to(link)
        for action in ("fetch:template", "fetch:plain"):
            with pytest.raises(NotAllowedError, match="symlink"):
                run(platform, workspace, action, base_url=base, url="./skeleton")
        (skeleton / name).unlink()
        assert list(workspace.rglob("*")) == []
    # A symlink inside the workspace pointing out is never written through.
    (workspace / "evil").symlink_to(tmp_path / "victim.txt")
    run(platform, workspace, "fetch:plain", base_url=base, url="./skeleton")
    with pytest.raises(NotAllowedError):
        run(
            platform,
            workspace,
            "fetch:plain:file",
            base_url=base,
            url="./skeleton/a.txt",
            targetPath="evil",
        )
    assert not (tmp_path / "victim.txt").exists()


def test_plain_copies_as_is(platform: Platform, tmp_path: Path, template_dir: Path) -> None:
    base = f"file:{template_dir / 'template.yaml'}"
    workspace = tmp_path / "workspace"
    run(platform, workspace, "fetch:plain", base_url=base, url="./skeleton", targetPath="s")
    copied = tree(workspace / "s")
    assert copied["README.md"].startswith("# ${{ values.name }}")
    assert copied["assets/logo.png"] == PNG and copied["link.md"] == "->README.md"
    assert (workspace / "s" / "bin" / "run.sh").stat().st_mode & 0o111
    run(platform, workspace, "fetch:plain", base_url=base, url="./files/README.md")
    assert (workspace / "README.md").read_text() == "# ${{ values.name }}\n"
    run(
        platform,
        workspace,
        "fetch:plain:file",
        base_url=base,
        url="../shared/LICENSE",
        targetPath="legal/LICENSE",
    )
    assert (workspace / "legal" / "LICENSE").read_text() == "MIT ${{ values.name }}\n"
    with pytest.raises(NotFoundError):
        run(platform, workspace, "fetch:plain", base_url=base, url="./nope")
    with pytest.raises(InputError, match="folder"):
        run(
            platform, workspace, "fetch:plain:file", base_url=base, url="./skeleton", targetPath="x"
        )


def test_template_file(platform: Platform, tmp_path: Path, template_dir: Path) -> None:
    base = f"file:{template_dir / 'template.yaml'}"
    workspace = tmp_path / "workspace"
    run(
        platform,
        workspace,
        "fetch:template:file",
        base_url=base,
        url="./files/README.md",
        targetPath="docs/README.md",
        values={"name": "svc"},
    )
    assert (workspace / "docs" / "README.md").read_text() == "# svc\n"
    run(
        platform,
        workspace,
        "fetch:template:file",
        base_url=base,
        url="./files/README.md",
        targetPath="docs/README.md",
        values={"name": "other"},
    )
    assert (workspace / "docs" / "README.md").read_text() == "# svc\n"
    run(
        platform,
        workspace,
        "fetch:template:file",
        base_url=base,
        url="./files/README.md",
        targetPath="docs/README.md",
        values={"name": "other"},
        replace=True,
    )
    assert (workspace / "docs" / "README.md").read_text() == "# other\n"
    run(
        platform,
        workspace,
        "fetch:template:file",
        base_url=base,
        url="./files/tool.sh",
        targetPath="tool.sh",
        values={"name": "svc"},
    )
    assert (workspace / "tool.sh").stat().st_mode & 0o777 == 0o750
    run(
        platform,
        workspace,
        "fetch:template:file",
        base_url=base,
        url="./files/logo.png",
        targetPath="logo.png",
        values={},
    )
    assert (workspace / "logo.png").read_bytes() == PNG
    with pytest.raises(ExpressionError) as caught:
        (template_dir / "files" / "bad.txt").write_text("ok\n{% if %}\n")
        run(
            platform,
            workspace,
            "fetch:template:file",
            base_url=base,
            url="./files/bad.txt",
            targetPath="bad.txt",
        )
    assert "line 2" in caught.value.message


def test_file_locations_stay_under_the_file_roots(
    make_settings: Any, tmp_path: Path, template_dir: Path
) -> None:
    settings: Settings = make_settings(**{"catalog.file_roots": [str(template_dir)]})
    platform = Platform.create(settings)
    try:
        workspace = tmp_path / "workspace"
        base = f"file:{template_dir / 'template.yaml'}"
        run(platform, workspace, "fetch:plain", base_url=base, url="./files")
        assert (workspace / "README.md").exists()
        with pytest.raises(NotAllowedError, match="file roots"):
            run(
                platform,
                workspace,
                "fetch:plain:file",
                base_url=base,
                url="../shared/LICENSE",
                targetPath="LICENSE",
            )
        with pytest.raises(NotAllowedError):
            run(platform, workspace, "fetch:plain", base_url="file:/etc/template.yaml", url="./")
        with pytest.raises(NotAllowedError, match="absolute"):
            run(platform, workspace, "fetch:plain", base_url=base, url="/etc")
        with pytest.raises(InputError):
            run(platform, workspace, "fetch:plain", base_url=base, url="file:///etc")
    finally:
        platform.close()


def test_dry_run_files(platform: Platform, tmp_path: Path) -> None:
    uploaded = tmp_path / "dry-run" / "template"
    make_skeleton(uploaded / "skeleton")
    (tmp_path / "dry-run" / "secret.txt").write_text("secret\n")
    workspace = tmp_path / "workspace"
    run(
        platform,
        workspace,
        "fetch:template",
        dry_run_dir=uploaded,
        url="./skeleton",
        values=VALUES,
        copyWithoutTemplating=["raw/**"],
    )
    assert tree(workspace) == EXPECTED
    with pytest.raises(NotAllowedError):
        run(
            platform,
            workspace,
            "fetch:plain:file",
            dry_run_dir=uploaded,
            url="../secret.txt",
            targetPath="s.txt",
        )
    with pytest.raises(InputError, match="location is unknown"):
        run(platform, workspace, "fetch:plain", url="./skeleton")


def git(*args: str, cwd: Path) -> str:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(cwd)}
    result = subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.test", *args],
        cwd=cwd,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def test_git_locations_clone_once_per_task(
    platform: Platform, tmp_path: Path, template_dir: Path
) -> None:
    repo = tmp_path / "repo"
    (repo / "templates").mkdir(parents=True)
    os.rename(template_dir, repo / "templates" / "svc")
    os.rename(template_dir.parent / "shared", repo / "templates" / "shared")
    git("init", "-q", "--initial-branch=main", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "first", cwd=repo)
    base = f"git:{repo}//templates/svc/template.yaml?ref=main"
    workspace = tmp_path / "workspace"
    run(
        platform,
        workspace,
        "fetch:template",
        base_url=base,
        url="./skeleton",
        values=VALUES,
        copyWithoutTemplating=["raw/**"],
        targetPath="app",
    )
    assert tree(workspace / "app") == EXPECTED

    # Another step of the same task reads the same clone; another task clones afresh.
    (repo / "templates" / "shared" / "LICENSE").write_text("Apache ${{ values.name }}\n")
    git("commit", "-q", "-am", "second", cwd=repo)
    run(
        platform,
        workspace,
        "fetch:template:file",
        base_url=base,
        url="../shared/LICENSE",
        targetPath="LICENSE",
        values=VALUES,
    )
    assert (workspace / "LICENSE").read_text() == "MIT payments\n"
    run(
        platform,
        workspace,
        "fetch:template:file",
        base_url=base,
        url="../shared/LICENSE",
        targetPath="LICENSE",
        values=VALUES,
        replace=True,
        task_id="task-2",
    )
    assert (workspace / "LICENSE").read_text() == "Apache payments\n"

    release_checkouts("task-1")
    run(
        platform,
        workspace,
        "fetch:template:file",
        base_url=base,
        url="../shared/LICENSE",
        targetPath="LICENSE",
        values=VALUES,
        replace=True,
    )
    assert (workspace / "LICENSE").read_text() == "Apache payments\n"

    run(platform, workspace, "fetch:plain", base_url=base, url="../..", targetPath="whole")
    assert not (workspace / "whole" / ".git").exists()
    assert (workspace / "whole" / "templates" / "svc" / "template.yaml").exists()
    for escape in ("../../..", "../../.git/config"):
        with pytest.raises(NotAllowedError):
            run(platform, workspace, "fetch:plain:file", base_url=base, url=escape, targetPath="x")


def test_hosted_git_urls_need_no_allowlist(
    platform: Platform, tmp_path: Path, template_dir: Path
) -> None:
    git_service = platform.services["git"]
    git_service.create_repository("acme", "templates")
    git_service.publish_directory(
        "acme",
        "templates",
        template_dir.parent,
        branch="main",
        message="templates",
        author_name="A",
        author_email="a@example.test",
    )
    base = f"url:{platform.settings.base_url()}/git/acme/templates/blob/main/svc/template.yaml"
    workspace = tmp_path / "workspace"
    run(
        platform,
        workspace,
        "fetch:template",
        base_url=base,
        url="./skeleton",
        values=VALUES,
        copyWithoutTemplating=["raw/**"],
    )
    assert tree(workspace) == EXPECTED
    run(
        platform,
        workspace,
        "fetch:template:file",
        base_url=base,
        url="../shared/LICENSE",
        targetPath="LICENSE",
        values=VALUES,
    )
    assert (workspace / "LICENSE").read_text() == "MIT payments\n"


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_plain_http_allowlisted_single_files_only(
    make_settings: Any, tmp_path: Path, http_root: tuple[Path, str]
) -> None:
    root, host = http_root
    (root / "svc").mkdir()
    (root / "svc" / "README.md").write_text("# ${{ values.name }}\n")
    workspace = tmp_path / "workspace"
    closed = Platform.create(make_settings())
    try:
        with pytest.raises(NotAllowedError, match="url_allowlist"):
            run(
                closed,
                workspace,
                "fetch:plain:file",
                url=f"http://{host}/svc/README.md",
                targetPath="README.md",
            )
        with pytest.raises(NotAllowedError, match="url_allowlist"):
            run(
                closed,
                workspace,
                "fetch:template:file",
                base_url=f"url:http://{host}/svc/t.yaml",
                url="./README.md",
                targetPath="README.md",
            )
    finally:
        closed.close()
    opened = Platform.create(make_settings(**{"catalog.url_allowlist": ["127.0.0.1"]}))
    try:
        run(
            opened,
            workspace,
            "fetch:template:file",
            base_url=f"url:http://{host}/svc/t.yaml",
            url="./README.md",
            targetPath="README.md",
            values={"name": "web"},
        )
        assert (workspace / "README.md").read_text() == "# web\n"
        with pytest.raises(InputError, match="only single files"):
            run(opened, workspace, "fetch:template", url=f"http://{host}/svc")
    finally:
        opened.close()


def test_schemas_describe_every_input() -> None:
    assert set(ACTIONS) == {
        "fetch:plain",
        "fetch:plain:file",
        "fetch:template",
        "fetch:template:file",
    }
    for action in ACTIONS.values():
        assert action.supports_dry_run
        described = action.describe()
        for schema in (described["schema"]["input"], described["schema"]["output"]):
            jsonschema.Draft7Validator.check_schema(schema)
        for name, prop in action.input_schema["properties"].items():
            assert prop.get("description"), (action.id, name)
        assert action.examples and action.description


def test_two_hundred_files_render_quickly(platform: Platform, tmp_path: Path) -> None:
    skeleton = tmp_path / "tpl" / "skeleton"
    for index in range(190):
        folder = skeleton / f"pkg{index % 7}" / f"mod{index % 3}"
        folder.mkdir(parents=True, exist_ok=True)
        name = "${{ values.name }}" if index % 25 == 0 else f"file{index}"
        (folder / f"{name}_{index}.py").write_text(
            f'"""Module {index} of ${{{{ values.name }}}}."""\n'
            "{% if values.database %}DATABASE = True{% endif %}\n" + "def f() -> int:\n" * 20
        )
    (skeleton / "assets").mkdir()
    for index in range(10):
        (skeleton / "assets" / f"image{index}.png").write_bytes(PNG * 16)
    base = f"file:{tmp_path / 'tpl' / 'template.yaml'}"
    timings = []
    for attempt in range(3):
        started = time.perf_counter()
        run(
            platform,
            tmp_path / f"w{attempt}",
            "fetch:template",
            base_url=base,
            url="./skeleton",
            values={"name": "svc", "database": True},
            copyWithoutTemplating=["assets/**"],
        )
        timings.append(time.perf_counter() - started)
    assert len([p for p in (tmp_path / "w2").rglob("*") if p.is_file()]) == 200
    # Generous for a shared machine; the benchmark holds the real budget.
    assert min(timings) < 0.5, timings
    assert stat.S_ISREG((tmp_path / "w2" / "assets" / "image0.png").lstat().st_mode)
