"""fs:delete, fs:rename, fs:readdir, debug:log and debug:wait, run through their handlers.

These actions touch only the workspace, never the database, so one SQLite platform serves
the whole module.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from goldpath.core.config import load_settings
from goldpath.core.errors import ConflictError, InputError, NotAllowedError, NotFoundError
from goldpath.core.platform import Platform
from goldpath.core.tasks import TaskCancelled
from goldpath.scaffolder.actions.base import Action, ActionContext, TemplateInfo, UserInfo
from goldpath.scaffolder.actions.debug import debug_actions
from goldpath.scaffolder.actions.fs import fs_actions

ACTIONS = {a.id: a for a in (*fs_actions(), *debug_actions())}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp("platform")
    settings = load_settings(
        overrides={
            "data_dir": str(root / "data"),
            "database_url": f"sqlite:///{root / 'goldpath.db'}",
            "catalog.file_roots": [str(root)],
        },
        environ={},
    )
    p = Platform.create(settings)
    try:
        yield p
    finally:
        p.close()


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder next to the workspace holding a file no action may touch."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text("keep me")
    return folder


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "workspace"
    (ws / "a-folder" / "nested").mkdir(parents=True)
    (ws / "unit-test-a.js").write_text("hello")
    (ws / "unit-test-b.js").write_text("world")
    (ws / ".hidden").write_text("dot")
    (ws / "a-folder" / "in-folder.js2").write_text("content")
    (ws / "a-folder" / "nested" / "deep.tmp").write_text("deep")
    (ws / "top.tmp").write_text("top")
    return ws


Run = Callable[..., ActionContext]


@pytest.fixture
def run(platform: Platform, workspace: Path) -> Run:
    def run_action(
        action_id: str,
        action_input: dict[str, Any],
        *,
        logs: list[str] | None = None,
        is_cancelled: Callable[[], bool] | None = None,
        dry_run: bool = False,
        validate: bool = True,
    ) -> ActionContext:
        action = ACTIONS[action_id]
        if validate:
            # The engine validates input against the schema before calling the handler.
            jsonschema.validate(action_input, action.input_schema)
        ctx = ActionContext(
            platform=platform,
            task_id="task-1",
            step_id="step",
            action_id=action_id,
            input=action_input,
            workspace=workspace,
            secrets={},
            template=TemplateInfo(entity_ref="template:default/test"),
            user=UserInfo(ref="user:default/tester"),
            dry_run=dry_run,
            log=(lambda message, level: logs.append(message)) if logs is not None else None,
            is_cancelled=is_cancelled,
        )
        try:
            action.handler(ctx)
        finally:
            ctx.cleanup()
        return ctx

    return run_action


def tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


# ------------------------------------------------------------------------------ metadata
@pytest.mark.parametrize("action", list(ACTIONS.values()), ids=list(ACTIONS))
def test_schemas_and_examples(action: Action) -> None:
    jsonschema.Draft202012Validator.check_schema(action.input_schema)
    jsonschema.Draft202012Validator.check_schema(action.output_schema)
    assert action.description and action.supports_dry_run
    for prop in action.input_schema["properties"].values():
        assert prop.get("description") or prop.get("title")
    assert action.examples
    for example in action.examples:
        steps = yaml.safe_load(example["example"])["steps"]
        assert steps[0]["action"] == action.id
        jsonschema.validate(steps[0]["input"], action.input_schema)


# ------------------------------------------------------------------------------ fs:delete
def test_delete_files_and_folders(run: Run, workspace: Path) -> None:
    logs: list[str] = []
    run("fs:delete", {"files": ["unit-test-a.js", "a-folder"]}, logs=logs)
    assert tree(workspace) == [".hidden", "top.tmp", "unit-test-b.js"]
    assert logs == [
        "File unit-test-a.js deleted successfully",
        "File a-folder deleted successfully",
    ]


def test_delete_globs(run: Run, workspace: Path) -> None:
    run("fs:delete", {"files": ["unit-*.js", "**/*.tmp"]})
    assert tree(workspace) == [".hidden", "a-folder", "a-folder/in-folder.js2", "a-folder/nested"]


def test_delete_glob_matches_dotfiles_braces_and_windows_paths(run: Run, workspace: Path) -> None:
    run("fs:delete", {"files": ["*hidden", ".\\unit-test-a.js", "a-folder/{nested,*.js2}"]})
    assert tree(workspace) == ["a-folder", "top.tmp", "unit-test-b.js"]


def test_delete_nothing_there_is_fine(run: Run, workspace: Path) -> None:
    before = tree(workspace)
    logs: list[str] = []
    run("fs:delete", {"files": ["missing.txt", "no-folder/x", "*.nothing"]}, logs=logs)
    assert tree(workspace) == before
    assert logs == []


def test_delete_a_symlink_removes_the_link_only(run: Run, workspace: Path) -> None:
    os.symlink(workspace / "a-folder", workspace / "link")
    run("fs:delete", {"files": ["link"]})
    assert not os.path.lexists(workspace / "link")
    assert (workspace / "a-folder" / "in-folder.js2").exists()


@pytest.mark.parametrize(
    "pattern",
    ["../outside/secret.txt", "/etc/passwd", "../*", "../**/secret.txt", "a-folder/../../*"],
)
def test_delete_refuses_paths_outside(
    run: Run, workspace: Path, outside: Path, pattern: str
) -> None:
    before = tree(workspace)
    with pytest.raises(NotAllowedError):
        # The valid pattern first: nothing is deleted when any pattern is refused.
        run("fs:delete", {"files": ["unit-test-a.js", pattern]})
    assert tree(workspace) == before
    assert (outside / "secret.txt").read_text() == "keep me"


def test_delete_refuses_a_symlink_leading_outside(run: Run, workspace: Path, outside: Path) -> None:
    os.symlink(outside, workspace / "escape")
    with pytest.raises(NotAllowedError):
        run("fs:delete", {"files": ["escape/secret.txt"]})
    with pytest.raises(NotAllowedError):
        run("fs:delete", {"files": ["escape"]})
    with pytest.raises(NotAllowedError):
        run("fs:delete", {"files": ["escape/*"]})
    # A glob walks the workspace without following links: it finds the link, not its target.
    run("fs:delete", {"files": ["**/secret.txt", "esc*"]})
    assert not os.path.lexists(workspace / "escape")
    assert (outside / "secret.txt").read_text() == "keep me"


def test_delete_refuses_the_workspace_itself(run: Run, workspace: Path) -> None:
    with pytest.raises(InputError):
        run("fs:delete", {"files": ["."]})
    assert (workspace / "unit-test-a.js").exists()


def test_handlers_check_input_the_schema_would_refuse(run: Run) -> None:
    with pytest.raises(InputError, match="files must be an Array"):
        run("fs:delete", {"files": "a.txt"}, validate=False)
    with pytest.raises(InputError, match="each file must have a from and to property"):
        run("fs:rename", {"files": [{"from": "a"}]}, validate=False)
    with pytest.raises(InputError, match="seconds must be a number"):
        run("debug:wait", {"seconds": True}, validate=False)
    with pytest.raises(InputError, match="listWorkspace"):
        run("debug:log", {"listWorkspace": "yes"}, validate=False)


# ------------------------------------------------------------------------------ fs:rename
def test_rename_files_and_folders(run: Run, workspace: Path) -> None:
    logs: list[str] = []
    run(
        "fs:rename",
        {
            "files": [
                {"from": "unit-test-a.js", "to": "renamed/a.js"},
                {"from": "a-folder", "to": "b-folder"},
            ]
        },
        logs=logs,
    )
    assert (workspace / "renamed" / "a.js").read_text() == "hello"
    assert (workspace / "b-folder" / "nested" / "deep.tmp").read_text() == "deep"
    assert not (workspace / "a-folder").exists()
    assert logs == [
        "File unit-test-a.js renamed to renamed/a.js successfully",
        "File a-folder renamed to b-folder successfully",
    ]


def test_rename_conflict_and_overwrite(run: Run, workspace: Path) -> None:
    with pytest.raises(ConflictError, match="already exists"):
        run("fs:rename", {"files": [{"from": "unit-test-a.js", "to": "unit-test-b.js"}]})
    assert (workspace / "unit-test-b.js").read_text() == "world"
    run(
        "fs:rename",
        {"files": [{"from": "unit-test-a.js", "to": "unit-test-b.js", "overwrite": True}]},
    )
    assert (workspace / "unit-test-b.js").read_text() == "hello"
    assert not (workspace / "unit-test-a.js").exists()
    # A folder replaces a file, and a file a folder.
    run("fs:rename", {"files": [{"from": "a-folder", "to": "top.tmp", "overwrite": True}]})
    assert (workspace / "top.tmp" / "in-folder.js2").exists()
    run("fs:rename", {"files": [{"from": "unit-test-b.js", "to": "top.tmp", "overwrite": True}]})
    assert (workspace / "top.tmp").read_text() == "hello"


def test_rename_errors(run: Run, workspace: Path) -> None:
    with pytest.raises(NotFoundError):
        run("fs:rename", {"files": [{"from": "missing", "to": "x"}]})
    with pytest.raises(InputError, match="subdirectory of itself"):
        run("fs:rename", {"files": [{"from": "a-folder", "to": "a-folder/nested/x"}]})
    with pytest.raises(InputError, match="must not be the same"):
        run("fs:rename", {"files": [{"from": "top.tmp", "to": "./top.tmp"}]})
    with pytest.raises(InputError, match="inside it"):
        run(
            "fs:rename",
            {"files": [{"from": "a-folder/in-folder.js2", "to": "a-folder", "overwrite": True}]},
        )
    assert (workspace / "a-folder" / "in-folder.js2").exists()


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("unit-test-a.js", "../outside/stolen.js"),
        ("unit-test-a.js", "/tmp/stolen.js"),
        ("../outside/secret.txt", "here.txt"),
        ("unit-test-a.js", "escape/stolen.js"),
        ("escape/secret.txt", "here.txt"),
    ],
)
def test_rename_refuses_paths_outside(
    run: Run, workspace: Path, outside: Path, source: str, target: str
) -> None:
    os.symlink(outside, workspace / "escape")
    with pytest.raises(NotAllowedError):
        run("fs:rename", {"files": [{"from": source, "to": target, "overwrite": True}]})
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    assert (workspace / "unit-test-a.js").exists()


def test_rename_moves_a_symlink_not_its_target(run: Run, workspace: Path) -> None:
    os.symlink("unit-test-a.js", workspace / "link.js")
    run("fs:rename", {"files": [{"from": "link.js", "to": "moved/link.js"}]})
    assert (workspace / "moved" / "link.js").is_symlink()
    assert (workspace / "unit-test-a.js").read_text() == "hello"


# ------------------------------------------------------------------------------ fs:readdir
def test_readdir_shape(run: Run, workspace: Path) -> None:
    root = workspace.resolve()
    ctx = run("fs:readdir", {"paths": ["a-folder"]})
    assert ctx.outputs == {
        "files": [
            {
                "name": "in-folder.js2",
                "path": "a-folder/in-folder.js2",
                "fullPath": str(root / "a-folder" / "in-folder.js2"),
            }
        ],
        "folders": [
            {"name": "nested", "path": "a-folder/nested", "fullPath": str(root / "a-folder/nested")}
        ],
    }
    jsonschema.validate(ctx.outputs, ACTIONS["fs:readdir"].output_schema)


def test_readdir_recursive_and_several_paths(run: Run, workspace: Path) -> None:
    os.symlink(workspace / "a-folder", workspace / "link")
    ctx = run("fs:readdir", {"paths": [".", "a-folder/nested"], "recursive": True})
    files = [f["path"] for f in ctx.outputs["files"]]
    folders = [f["path"] for f in ctx.outputs["folders"]]
    # Breadth first; the symlink is a file entry and is not followed.
    assert files == [
        ".hidden",
        "link",
        "top.tmp",
        "unit-test-a.js",
        "unit-test-b.js",
        "a-folder/in-folder.js2",
        "a-folder/nested/deep.tmp",
        "a-folder/nested/deep.tmp",
    ]
    assert folders == ["a-folder", "a-folder/nested"]


def test_readdir_errors(run: Run, workspace: Path, outside: Path) -> None:
    os.symlink(outside, workspace / "escape")
    for path in ("../outside", "/etc", "escape", "a-folder/../../outside"):
        with pytest.raises(NotAllowedError):
            run("fs:readdir", {"paths": [path]})
    with pytest.raises(NotFoundError):
        run("fs:readdir", {"paths": ["missing"]})
    with pytest.raises(InputError, match="not a folder"):
        run("fs:readdir", {"paths": ["top.tmp"]})


def test_fs_actions_work_in_a_dry_run(run: Run, workspace: Path) -> None:
    # A dry run works on its own copy of the workspace, so the actions act for real.
    run("fs:delete", {"files": ["*.tmp"]}, dry_run=True)
    run("fs:rename", {"files": [{"from": ".hidden", "to": "shown"}]}, dry_run=True)
    assert not (workspace / "top.tmp").exists() and (workspace / "shown").exists()


# ------------------------------------------------------------------------------ debug:log
def test_log_message_and_input(run: Run) -> None:
    logs: list[str] = []
    run("debug:log", {"message": "Hello Backstage!", "extra": {"n": 1}}, logs=logs)
    assert yaml.safe_load(logs[0]) == {"message": "Hello Backstage!", "extra": {"n": 1}}
    assert logs[1:] == ["Hello Backstage!"]


@pytest.mark.parametrize("mode", [True, "with-filenames"])
def test_log_lists_the_workspace(run: Run, workspace: Path, outside: Path, mode: Any) -> None:
    os.symlink(outside, workspace / "escape")
    logs: list[str] = []
    run("debug:log", {"listWorkspace": mode}, logs=logs)
    assert logs[-1] == (
        "Workspace:\n"
        "  - .hidden\n"
        "  - a-folder/in-folder.js2\n"
        "  - a-folder/nested/deep.tmp\n"
        "  - escape\n"
        "  - top.tmp\n"
        "  - unit-test-a.js\n"
        "  - unit-test-b.js"
    )


def test_log_lists_contents(run: Run, workspace: Path, outside: Path) -> None:
    os.symlink(outside / "secret.txt", workspace / "escape.txt")
    logs: list[str] = []
    run("debug:log", {"message": "", "listWorkspace": "with-contents"}, logs=logs)
    assert len(logs) == 2
    listing = logs[1]
    assert listing.startswith("Workspace:\n - .hidden:\n\n  dot\n - a-folder/in-folder.js2:\n\n")
    assert " - unit-test-b.js:\n\n  world" in listing
    assert " - escape.txt:\n\n  (not a file in the workspace)" in listing
    assert "keep me" not in listing


def test_log_without_listing(run: Run) -> None:
    logs: list[str] = []
    run("debug:log", {"listWorkspace": False}, logs=logs)
    assert logs == ['{\n  "listWorkspace": false\n}']


# ------------------------------------------------------------------------------ debug:wait
def test_wait_waits(run: Run) -> None:
    started = time.monotonic()
    run("debug:wait", {"milliseconds": 150, "seconds": 0.1})
    assert 0.24 <= time.monotonic() - started < 2


def test_wait_stops_when_cancelled(run: Run) -> None:
    cancelled = threading.Event()
    timer = threading.Timer(0.3, cancelled.set)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(TaskCancelled):
            run("debug:wait", {"minutes": 5}, is_cancelled=cancelled.is_set)
    finally:
        timer.cancel()
    assert time.monotonic() - started < 2


def test_wait_maximum(run: Run) -> None:
    with pytest.raises(InputError, match="longer than the maximum threshold of 10 minutes"):
        run("debug:wait", {"minutes": 9, "seconds": 60, "milliseconds": 1})
    # Exactly ten minutes is allowed; a dry run checks the limit but does not wait.
    logs: list[str] = []
    started = time.monotonic()
    run("debug:wait", {"minutes": 10}, dry_run=True, logs=logs)
    assert time.monotonic() - started < 1
    assert logs == ["Dry run: would wait 10 minutes"]
