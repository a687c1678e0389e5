"""The workflow runner: executes a task's steps in a workspace, as Backstage's runner does.

For each step: evaluate ``if``; expand ``each``; render ``input`` (``${{ }}`` expressions over
``parameters``, ``steps``, ``secrets``, ``user``, ``each``, ``context``); validate it against
the action's input schema; run the action; keep its outputs for later steps. Every line it
logs passes through the secret masker before anyone can see it. The runner knows nothing of
tables: it reports through a ``RunSink`` (the durable task store, or a dry run's memory).
"""

from __future__ import annotations

import re
import shutil
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import jsonschema

from goldpath.core.errors import GoldpathError, InputError
from goldpath.core.logging import get_logger
from goldpath.core.tasks import TaskCancelled
from goldpath.scaffolder.actions.base import (
    Action,
    ActionContext,
    ActionRegistry,
    TemplateInfo,
    UserInfo,
)
from goldpath.scaffolder.expressions import Templater

if TYPE_CHECKING:
    from goldpath.core.platform import Platform

log = get_logger("goldpath.scaffolder")

#: Seconds between two flushes of buffered log lines and step states (live logs): a sink
#: flushes by itself this often, so steps that take milliseconds cost no write each.
FLUSH_INTERVAL = 0.25
#: Seconds between two heartbeats written when nothing else changed.
HEARTBEAT_INTERVAL = 5.0
#: Seconds between two cancellation checks against the database.
CANCEL_CHECK_INTERVAL = 0.2
MASK = "***"


class Masker:
    """Replaces every secret value in text with ``***``, longest values first."""

    def __init__(self, secrets: Mapping[str, Any]) -> None:
        values = {
            str(v)
            for v in _leaves(secrets)
            if isinstance(v, str | int | float) and not isinstance(v, bool) and str(v)
        }
        ordered = sorted(values, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(v) for v in ordered)) if ordered else None

    def mask(self, text: str) -> str:
        return self._pattern.sub(MASK, text) if self._pattern else text

    def mask_value(self, value: Any) -> Any:
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {k: self.mask_value(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mask_value(v) for v in value]
        return value


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, Mapping):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


class RunSink(Protocol):
    """Where a run reports to. ``flush`` returns False when the run must stop (cancelled)."""

    def emit(self, body: dict[str, Any]) -> None: ...

    def step_state(self, step_id: str, state: dict[str, Any]) -> None: ...

    def flush(self, *, force: bool = False) -> None: ...

    def cancelled(self) -> bool: ...


@dataclass
class StepInfo:
    id: str
    name: str
    action: str
    input: dict[str, Any]
    if_: Any = None
    each: Any = None


@dataclass
class RunResult:
    status: str  # completed | failed | cancelled
    output: dict[str, Any] = field(default_factory=dict)
    error: dict[str, str] | None = None
    steps_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class RunRequest:
    task_id: str
    steps: list[StepInfo]
    output: dict[str, Any]
    parameters: dict[str, Any]
    secrets: dict[str, Any]
    template: TemplateInfo
    user: UserInfo
    workspace: Path
    dry_run: bool = False


class _SchemaCache:
    def __init__(self) -> None:
        self._validators: dict[str, jsonschema.protocols.Validator] = {}
        self._lock = threading.Lock()

    def validator(self, action: Action) -> jsonschema.protocols.Validator:
        with self._lock:
            found = self._validators.get(action.id)
            if found is None:
                cls = jsonschema.validators.validator_for(action.input_schema)
                found = cls(action.input_schema)
                self._validators[action.id] = found
            return found


_schemas = _SchemaCache()


def _input_errors(action: Action, value: dict[str, Any]) -> list[str]:
    validator = _schemas.validator(action)
    messages = []
    for err in sorted(validator.iter_errors(value), key=lambda e: list(e.path)):
        where = ".".join(str(p) for p in err.path)
        messages.append(f"{where}: {err.message}" if where else err.message)
    return messages


class Runner:
    def __init__(self, platform: Platform, registry: ActionRegistry, templater: Templater) -> None:
        self.platform = platform
        self.registry = registry
        self.templater = templater

    def run(self, request: RunRequest, sink: RunSink) -> RunResult:
        masker = Masker(request.secrets)
        context: dict[str, Any] = {
            "parameters": request.parameters,
            "steps": {},
            "secrets": request.secrets,
            "user": {"ref": request.user.ref, "entity": request.user.entity},
            "context": {
                "task": {"id": request.task_id},
                "templateInfo": {
                    "entityRef": request.template.entity_ref,
                    "baseUrl": request.template.base_url,
                },
                "isDryRun": request.dry_run,
            },
        }
        step_outputs: dict[str, dict[str, Any]] = {}
        request.workspace.mkdir(parents=True, exist_ok=True)
        current: StepInfo | None = None
        try:
            for step in request.steps:
                current = step
                if sink.cancelled():
                    raise TaskCancelled("cancelled")
                outputs = self._run_step(step, request, context, masker, sink)
                if outputs is not None:
                    step_outputs[step.id] = outputs
                    context["steps"][step.id] = {"output": outputs}
            current = None
            output = self.templater.render_value(request.output, context, where="output")
            output = masker.mask_value(output if isinstance(output, dict) else {})
            return RunResult("completed", output=output, steps_outputs=step_outputs)
        except TaskCancelled:
            if current is not None:
                sink.step_state(current.id, {"status": "cancelled", "endedAt": _now_iso()})
                sink.emit(
                    {
                        "message": f"Step {current.name} was cancelled",
                        "stepId": current.id,
                        "status": "cancelled",
                    }
                )
            return RunResult("cancelled", steps_outputs=step_outputs)
        except Exception as exc:
            message = masker.mask(_describe(exc))
            if current is not None:
                sink.step_state(current.id, {"status": "failed", "endedAt": _now_iso()})
                sink.emit({"message": message, "stepId": current.id, "status": "failed"})
                if not isinstance(exc, GoldpathError):
                    trace = masker.mask("".join(traceback.format_exception(exc)))
                    log.warning("scaffolder step crashed", task_id=request.task_id, trace=trace)
            else:
                sink.emit({"message": message, "status": "failed"})
            name = exc.backstage_name if isinstance(exc, GoldpathError) else type(exc).__name__
            return RunResult(
                "failed",
                error={"name": name, "message": message},
                steps_outputs=step_outputs,
            )
        finally:
            sink.flush(force=True)

    # ------------------------------------------------------------------ steps
    def _run_step(
        self,
        step: StepInfo,
        request: RunRequest,
        context: dict[str, Any],
        masker: Masker,
        sink: RunSink,
    ) -> dict[str, Any] | None:
        where = f"steps[{step.id}]"
        if step.if_ is not None and not self.templater.evaluate_condition(
            step.if_, context, where=f"{where}.if"
        ):
            sink.step_state(step.id, {"status": "skipped"})
            sink.emit(
                {
                    "message": f"Skipping step {step.id} because its if condition was false",
                    "stepId": step.id,
                    "status": "skipped",
                }
            )
            sink.flush()
            return None
        action = self.registry.get(step.action)
        started = time.monotonic()
        sink.step_state(step.id, {"status": "processing", "startedAt": _now_iso()})
        sink.emit(
            {"message": f"Beginning step {step.name}", "stepId": step.id, "status": "processing"}
        )
        sink.flush()
        if request.dry_run and not action.supports_dry_run:
            sink.emit(
                {
                    "message": f"Skipping because {action.id} does not support dry-run",
                    "stepId": step.id,
                    "status": "skipped",
                }
            )
            sink.step_state(step.id, {"status": "skipped", "endedAt": _now_iso()})
            sink.flush()
            return {}

        iterations: list[Mapping[str, Any] | None]
        if step.each is None:
            iterations = [None]
        else:
            items = self.templater.render_value(step.each, context, where=f"{where}.each")
            if isinstance(items, Mapping):
                iterations = [{"key": k, "value": v} for k, v in items.items()]
            elif isinstance(items, list):
                iterations = [{"key": str(i), "value": v} for i, v in enumerate(items)]
            else:
                raise InputError(
                    f"each must be an array or an object, got {type(items).__name__}",
                    where=f"{where}.each",
                )

        def write_log(message: str, level: str) -> None:
            body: dict[str, Any] = {"message": masker.mask(message), "stepId": step.id}
            if level not in ("info", ""):
                body["level"] = level
            sink.emit(body)
            sink.flush()

        aggregated: dict[str, Any] = {}
        for item in iterations:
            scope = context if item is None else {**context, "each": item}
            if item is not None:
                sink.emit(
                    {
                        "message": f"Running step each: {masker.mask(_short(item))}",
                        "stepId": step.id,
                    }
                )
            rendered = self.templater.render_value(step.input, scope, where=f"{where}.input")
            if not isinstance(rendered, dict):
                raise InputError("step input must be an object", where=f"{where}.input")
            problems = _input_errors(action, rendered)
            if problems:
                raise InputError(
                    f"Invalid input passed to action {action.id}: " + "; ".join(problems),
                    where=f"{where}.input",
                )
            actx = ActionContext(
                platform=self.platform,
                task_id=request.task_id,
                step_id=step.id,
                action_id=action.id,
                input=rendered,
                workspace=request.workspace,
                secrets=request.secrets,
                template=request.template,
                user=request.user,
                dry_run=request.dry_run,
                each=item,
                log=write_log,
                is_cancelled=sink.cancelled,
            )
            try:
                action.handler(actx)
            finally:
                actx.cleanup()
            if item is None:
                aggregated = dict(actx.outputs)
            else:
                # Backstage collects each iteration's outputs into arrays, one per name.
                for name, value in actx.outputs.items():
                    aggregated.setdefault(name, []).append(value)
        seconds = round(time.monotonic() - started, 3)
        sink.step_state(
            step.id, {"status": "completed", "endedAt": _now_iso(), "durationSeconds": seconds}
        )
        sink.emit(
            {"message": f"Finished step {step.name}", "stepId": step.id, "status": "completed"}
        )
        sink.flush()
        return aggregated


def _short(item: Mapping[str, Any]) -> str:
    text = str(item.get("value"))
    return text if len(text) <= 200 else text[:197] + "..."


def _describe(exc: BaseException) -> str:
    if isinstance(exc, GoldpathError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _now_iso() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class MemorySink:
    """A dry run's sink: keeps everything in memory."""

    def __init__(self, is_cancelled: Callable[[], bool] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.steps: dict[str, dict[str, Any]] = {}
        self._is_cancelled = is_cancelled
        self._lock = threading.Lock()

    def emit(self, body: dict[str, Any]) -> None:
        with self._lock:
            self.events.append(body)

    def step_state(self, step_id: str, state: dict[str, Any]) -> None:
        with self._lock:
            self.steps.setdefault(step_id, {}).update(state)

    def flush(self, *, force: bool = False) -> None:
        return None

    def cancelled(self) -> bool:
        return bool(self._is_cancelled and self._is_cancelled())


def remove_workspace(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
