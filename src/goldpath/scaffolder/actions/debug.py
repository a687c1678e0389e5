"""``debug:log`` and ``debug:wait``, as Backstage's scaffolder backend defines them."""

from __future__ import annotations

import json
from pathlib import Path

from goldpath.core.errors import InputError
from goldpath.scaffolder.actions.base import Action, ActionContext

#: Backstage refuses waits longer than ten minutes.
MAX_WAIT_SECONDS = 600.0
#: Bytes of one file shown by ``listWorkspace: with-contents``.
MAX_SHOWN_BYTES = 64 * 1024


def _listing(workspace: Path, with_contents: bool) -> list[str]:
    lines = []
    for path in sorted(workspace.rglob("*")):
        if path.is_dir() and not path.is_symlink():
            continue
        relative = path.relative_to(workspace).as_posix()
        if not with_contents or path.is_symlink():
            lines.append(relative)
            continue
        data = path.read_bytes()[:MAX_SHOWN_BYTES]
        text = data.decode("utf-8", errors="replace") if b"\x00" not in data else "<binary>"
        lines.append(f"{relative}:\n{text}")
    return lines


def _log(ctx: ActionContext) -> None:
    message = ctx.input.get("message")
    if message is not None:
        ctx.log(str(message))
    extra = ctx.input.get("extra")
    if extra is not None:
        ctx.log(json.dumps(extra, indent=2, default=str))
    mode = ctx.input.get("listWorkspace")
    if mode:
        with_contents = mode == "with-contents"
        files = _listing(ctx.workspace.resolve(), with_contents)
        ctx.log("Workspace:\n" + "\n".join(f"  - {line}" for line in files))


def _wait(ctx: ActionContext) -> None:
    seconds = (
        float(ctx.input.get("minutes") or 0) * 60
        + float(ctx.input.get("seconds") or 0)
        + float(ctx.input.get("milliseconds") or 0) / 1000
    )
    if seconds > MAX_WAIT_SECONDS:
        raise InputError(
            f"debug:wait may wait at most {MAX_WAIT_SECONDS / 60:g} minutes", where="input"
        )
    ctx.log(f"Waiting for {seconds:g} seconds")
    ctx.sleep(seconds)
    ctx.log("Finished waiting")


def debug_actions() -> list[Action]:
    return [
        Action(
            "debug:log",
            _log,
            description="Writes a message into the log, and optionally the workspace's files.",
            input_schema={
                "type": "object",
                "properties": {
                    "message": {"type": "string", "description": "Message to output."},
                    "listWorkspace": {
                        "description": "List the workspace's files: true (names), "
                        "'with-filenames', or 'with-contents' (names and contents).",
                        "oneOf": [
                            {"type": "boolean"},
                            {"type": "string", "enum": ["with-filenames", "with-contents"]},
                        ],
                    },
                    "extra": {"description": "Extra info to output, printed as JSON."},
                },
            },
            examples=[
                {
                    "description": "Write a message and the workspace's files to the log",
                    "example": "steps:\n  - action: debug:log\n    id: write-log\n"
                    "    input:\n      message: Hello Backstage!\n      listWorkspace: true\n",
                }
            ],
            supports_dry_run=True,
        ),
        Action(
            "debug:wait",
            _wait,
            description="Waits a while before the next step (at most ten minutes).",
            input_schema={
                "type": "object",
                "properties": {
                    "minutes": {"type": "number", "minimum": 0, "description": "Minutes."},
                    "seconds": {"type": "number", "minimum": 0, "description": "Seconds."},
                    "milliseconds": {
                        "type": "number",
                        "minimum": 0,
                        "description": "Milliseconds.",
                    },
                },
            },
            examples=[
                {
                    "description": "Wait five seconds",
                    "example": "steps:\n  - action: debug:wait\n    id: wait\n"
                    "    input:\n      seconds: 5\n",
                }
            ],
            supports_dry_run=True,
        ),
    ]
