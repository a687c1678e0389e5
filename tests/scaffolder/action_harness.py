"""Running one scaffolder action the way the engine does, for tests of single actions."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import jsonschema

from goldpath.core.platform import Platform
from goldpath.scaffolder.actions.base import Action, ActionContext, TemplateInfo, UserInfo


class Run:
    """What an action run left: its context (outputs) and its log as (level, message)."""

    def __init__(self, ctx: ActionContext, logs: list[tuple[str, str]]) -> None:
        self.ctx = ctx
        self.logs = logs

    @property
    def outputs(self) -> dict[str, Any]:
        return self.ctx.outputs

    def text(self) -> str:
        return "\n".join(message for _, message in self.logs)

    def warnings(self) -> list[str]:
        return [message for level, message in self.logs if level == "warn"]


def run_action(
    platform: Platform,
    action: Action,
    inputs: dict[str, Any],
    *,
    workspace: Path,
    dry_run: bool = False,
    logs: list[tuple[str, str]] | None = None,
) -> Run:
    """Validate ``inputs`` against the action's schema (as the engine does), run it, clean up."""
    jsonschema.validate(inputs, action.input_schema)
    collected = logs if logs is not None else []
    ctx = ActionContext(
        platform=platform,
        task_id="task-1",
        step_id="step",
        action_id=action.id,
        input=inputs,
        workspace=workspace,
        secrets={},
        template=TemplateInfo(entity_ref="template:default/service"),
        user=UserInfo(ref="user:default/alice"),
        dry_run=dry_run,
        log=lambda message, level: collected.append((level, message)),
    )
    try:
        action.handler(ctx)
    finally:
        ctx.cleanup()
    return Run(ctx, collected)


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout.strip()
