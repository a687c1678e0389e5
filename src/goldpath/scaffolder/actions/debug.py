"""``debug:log`` and ``debug:wait``.

Inputs and behaviour follow Backstage's scaffolder-backend (``actions/builtin/debug/log.ts``
and ``wait.ts``): ``debug:log`` writes its input as JSON, then the message, then (when asked)
the workspace's files; ``debug:wait`` waits at most ten minutes and stops at once when the
task is cancelled.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from goldpath.core.errors import InputError
from goldpath.scaffolder.actions.base import Action, ActionContext

#: Backstage's default ``maxWaitTime`` (``T00:10:00``).
MAX_WAIT_MILLISECONDS = 10 * 60 * 1000
#: Bytes of one file that ``listWorkspace: with-contents`` writes into the log; the log is
#: stored with the task, so a large generated file must not swell it.
MAX_SHOWN_BYTES = 64 * 1024


# ------------------------------------------------------------------------------- debug:log
def workspace_files(ctx: ActionContext) -> list[Path]:
    """Every file under the workspace, depth first in name order; folders are not listed.

    Symlinks are listed as they are and never followed, so a link to a folder outside the
    workspace shows as one entry instead of that folder's files.
    """
    root = ctx.workspace.resolve()
    found: list[Path] = []

    def visit(folder: Path) -> None:
        ctx.check_cancelled()
        with os.scandir(folder) as entries:
            listed = sorted(entries, key=lambda e: e.name)
        for entry in listed:
            if entry.is_dir(follow_symlinks=False):
                visit(Path(entry.path))
            else:
                found.append(Path(entry.path))

    visit(root)
    return found


def _contents(root: Path, path: Path) -> str:
    target = path.resolve()
    if not target.is_relative_to(root) or not target.is_file():
        # A link leading out of the workspace (or to nothing) is named, never read.
        return "(not a file in the workspace)"
    with target.open("rb") as handle:
        data = handle.read(MAX_SHOWN_BYTES + 1)
    text = data[:MAX_SHOWN_BYTES].decode("utf-8", errors="replace")
    if len(data) > MAX_SHOWN_BYTES:
        text += f"\n  … (cut at {MAX_SHOWN_BYTES} bytes)"
    return text


def _log(ctx: ActionContext) -> None:
    ctx.log(json.dumps(ctx.input, indent=2, ensure_ascii=False, default=str))
    message = ctx.input.get("message")
    if message:
        ctx.log(str(message))
    mode = ctx.input.get("listWorkspace")
    if mode not in (None, False, True, "with-filenames", "with-contents"):
        raise InputError(
            "listWorkspace must be true, false, 'with-filenames' or 'with-contents'",
            where="listWorkspace",
        )
    if not mode:
        return
    root = ctx.workspace.resolve()
    lines = []
    for path in workspace_files(ctx):
        relative = path.relative_to(root).as_posix()
        if mode == "with-contents":
            lines.append(f" - {relative}:\n\n  {_contents(root, path)}")
        else:
            lines.append(f"  - {relative}")
    ctx.log("Workspace:\n" + "\n".join(lines))


# ------------------------------------------------------------------------------- debug:wait
def _number(ctx: ActionContext, name: str) -> float:
    value = ctx.input.get(name)
    if value is None:
        return 0.0
    # bool is an int in Python; ``seconds: true`` is a mistake, not one second.
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{name} must be a number", where=name)
    return float(value)


def _human(milliseconds: float) -> str:
    seconds = milliseconds / 1000
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} second{'s' if seconds != 1 else ''}"


def _wait(ctx: ActionContext) -> None:
    milliseconds = (
        _number(ctx, "minutes") * 60_000
        + _number(ctx, "seconds") * 1000
        + _number(ctx, "milliseconds")
    )
    if milliseconds > MAX_WAIT_MILLISECONDS:
        raise InputError(
            "Waiting duration is longer than the maximum threshold of "
            f"{_human(MAX_WAIT_MILLISECONDS)}",
            where="input",
        )
    milliseconds = max(0.0, milliseconds)
    if ctx.dry_run:
        # A dry run checks the template; sitting out the wait would only delay the answer.
        ctx.log(f"Dry run: would wait {_human(milliseconds)}")
        return
    ctx.log(f"Waiting {_human(milliseconds)}")
    ctx.sleep(milliseconds / 1000)


# ------------------------------------------------------------------------------- schemas
def _example(action: str, step_id: str, name: str, inputs: str) -> str:
    return (
        f"steps:\n  - action: {action}\n    id: {step_id}\n    name: {name}\n    input:\n{inputs}"
    )


LOG = Action(
    "debug:log",
    _log,
    description="Writes a message into the log and/or lists all files in the workspace.",
    input_schema={
        "type": "object",
        "properties": {
            "message": {"type": "string", "description": "Message to output."},
            "listWorkspace": {
                "description": 'List all files in the workspace. If used with "with-contents", '
                "also the file contents are listed.",
                "anyOf": [
                    {"type": "boolean"},
                    {"type": "string", "enum": ["with-filenames", "with-contents"]},
                ],
            },
            "extra": {
                "description": "Anything else to show: written with the rest of the input, "
                "as JSON, at the top of the step's log."
            },
        },
    },
    output_schema={"type": "object", "properties": {}},
    examples=[
        {
            "description": "Write a debug message",
            "example": _example(
                "debug:log",
                "write-debug-line",
                'Write "Hello Backstage!" log line',
                "      message: Hello Backstage!\n",
            ),
        },
        {
            "description": "List the workspace directory",
            "example": _example(
                "debug:log",
                "write-workspace-directory",
                "List the workspace directory",
                "      listWorkspace: true\n",
            ),
        },
        {
            "description": "List the workspace directory with file contents",
            "example": _example(
                "debug:log",
                "write-workspace-directory",
                "List the workspace directory with file contents",
                "      listWorkspace: with-contents\n",
            ),
        },
    ],
    supports_dry_run=True,
)

WAIT = Action(
    "debug:wait",
    _wait,
    description="Waits for a certain period of time.",
    input_schema={
        "type": "object",
        "properties": {
            "minutes": {
                "title": "Waiting period in minutes.",
                "description": "Minutes to wait; may be fractional.",
                "type": "number",
            },
            "seconds": {
                "title": "Waiting period in seconds.",
                "description": "Seconds to wait, added to the minutes.",
                "type": "number",
            },
            "milliseconds": {
                "title": "Waiting period in milliseconds.",
                "description": "Milliseconds to wait, added to the rest.",
                "type": "number",
            },
        },
        "description": "The parts add up; the total may not exceed 10 minutes. A cancelled "
        "task stops waiting at once.",
    },
    output_schema={"type": "object", "properties": {}},
    examples=[
        {
            "description": "Waiting for 50 milliseconds",
            "example": _example(
                "debug:wait",
                "wait-milliseconds",
                "Waiting for 50 milliseconds",
                "      milliseconds: 50\n",
            ),
        },
        {
            "description": "Waiting for 5 seconds",
            "example": _example(
                "debug:wait", "wait-5sec", "Waiting for 5 seconds", "      seconds: 5\n"
            ),
        },
        {
            "description": "Waiting for 1 minutes",
            "example": _example(
                "debug:wait", "wait-1min", "Waiting for 1 minutes", "      minutes: 1\n"
            ),
        },
    ],
    supports_dry_run=True,
)


def debug_actions() -> list[Action]:
    return [LOG, WAIT]
