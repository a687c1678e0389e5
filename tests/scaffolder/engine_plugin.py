"""A third-party-style plugin with small actions that exercise the scaffolder engine.

Registered the way any plugin is (pluggy, the ``goldpath_scaffolder_actions`` hook); the
engine cannot tell these from built-in actions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from goldpath.core.errors import InputError
from goldpath.core.hookspecs import hookimpl
from goldpath.scaffolder.actions.base import Action, ActionContext

#: Where ``test:side-effect`` records that it ran (outside every workspace).
SIDE_EFFECTS = "side-effects.log"


def _echo(ctx: ActionContext) -> None:
    ctx.log(str(ctx.input.get("message", "")))
    for key, value in ctx.input.items():
        ctx.output(key, value)


def _write(ctx: ActionContext) -> None:
    target = ctx.resolve_path(ctx.input["path"])
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(str(ctx.input.get("content", "")))
    ctx.output("path", str(target.relative_to(ctx.workspace.resolve())))


def _fail(ctx: ActionContext) -> None:
    raise InputError(str(ctx.input.get("message", "boom")))


def _fail_once(ctx: ActionContext) -> None:
    marker = ctx.platform.settings.data_dir / "failed-once"
    if not marker.exists():
        marker.write_text("x")
        raise RuntimeError("first attempt fails")
    ctx.log("second attempt works")


def _sleep(ctx: ActionContext) -> None:
    ctx.log("sleeping")
    ctx.sleep(float(ctx.input.get("seconds", 30)))


def _side_effect(ctx: ActionContext) -> None:
    path: Path = ctx.platform.settings.data_dir / SIDE_EFFECTS
    with path.open("a") as handle:
        handle.write(f"{ctx.task_id}\n")
    ctx.output("done", True)


def _schema(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or []}


@hookimpl
def goldpath_scaffolder_actions(platform: Any) -> list[Action]:
    return [
        Action(
            "test:echo",
            _echo,
            description="Logs message; outputs every input as it came.",
            input_schema=_schema({"message": {"type": "string"}}),
            supports_dry_run=True,
        ),
        Action(
            "test:write",
            _write,
            input_schema=_schema(
                {"path": {"type": "string"}, "content": {"type": "string"}}, ["path"]
            ),
            supports_dry_run=True,
        ),
        Action("test:fail", _fail, supports_dry_run=True),
        Action("test:fail-once", _fail_once),
        Action("test:sleep", _sleep, supports_dry_run=True),
        Action("test:side-effect", _side_effect),
    ]
