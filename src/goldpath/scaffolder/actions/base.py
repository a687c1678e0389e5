"""What an action is and what it gets when it runs.

Built-in actions and plugin actions are the same thing: an ``Action`` returned from the
``goldpath_scaffolder_actions`` hook. The engine renders a step's ``input`` (expressions
resolved), validates it against ``input_schema`` and calls ``handler(ctx)`` in a worker
thread; the handler reads ``ctx.input``, works inside ``ctx.workspace`` and reports results
with ``ctx.output(name, value)``.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from goldpath.core.errors import ConflictError, InputError, NotAllowedError, NotFoundError
from goldpath.core.tasks import TaskCancelled

if TYPE_CHECKING:
    from goldpath.core.platform import Platform

ActionHandler = Callable[["ActionContext"], None]


@dataclass(frozen=True)
class Action:
    """A step's ``action``: ``id`` (``fetch:template``), JSON Schemas, and the handler."""

    id: str
    handler: ActionHandler
    description: str = ""
    input_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    output_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})
    #: ``[{"description": ..., "example": <yaml text>}]`` as Backstage lists them.
    examples: list[dict[str, str]] = field(default_factory=list)
    #: Whether the handler may run in a dry run. It must then have no effect outside the
    #: workspace when ``ctx.dry_run`` is true (log what it would do, output plausible values).
    supports_dry_run: bool = False

    def describe(self) -> dict[str, Any]:
        """The ``GET /api/scaffolder/v2/actions`` shape."""
        return {
            "id": self.id,
            "description": self.description,
            "examples": self.examples,
            "schema": {"input": self.input_schema, "output": self.output_schema},
        }


class ActionRegistry:
    """Every action the engine can run, by id."""

    def __init__(self) -> None:
        self._actions: dict[str, Action] = {}

    def register(self, action: Action) -> None:
        if not action.id or any(c.isspace() for c in action.id):
            raise InputError(f"invalid action id {action.id!r}")
        existing = self._actions.get(action.id)
        if existing is not None and existing is not action:
            raise ConflictError(f"an action with id {action.id!r} is already registered")
        self._actions[action.id] = action

    def get(self, action_id: str) -> Action:
        action = self._actions.get(action_id)
        if action is None:
            known = ", ".join(sorted(self._actions))
            raise NotFoundError(
                f"no action with id {action_id!r} is registered (known: {known})",
                where=action_id,
            )
        return action

    def __contains__(self, action_id: object) -> bool:
        return action_id in self._actions

    def list(self) -> list[Action]:
        return [self._actions[k] for k in sorted(self._actions)]


@dataclass(frozen=True)
class TemplateInfo:
    """Which template a task runs and where it came from.

    ``base_url`` is the template's source location as the catalog records it in
    ``backstage.io/managed-by-location``, e.g. ``file:/srv/templates/svc/template.yaml``,
    ``url:http://127.0.0.1:7007/git/acme/templates/blob/main/svc/template.yaml`` or
    ``git:REPO//svc/template.yaml?ref=main``; relative ``url`` inputs of fetch actions resolve
    against it. ``None`` for a dry run of a template that is not registered: then relative
    URLs resolve against ``dry_run_dir``, the folder holding the uploaded template files.
    """

    entity_ref: str
    base_url: str | None = None
    version: str | None = None
    dry_run_dir: Path | None = None


@dataclass(frozen=True)
class UserInfo:
    """The user who started the task (``user.ref``, ``user.entity`` in expressions)."""

    ref: str | None = None
    entity: dict[str, Any] | None = None


def safe_join(root: Path, relative: str, *, what: str = "path") -> Path:
    """``root / relative``, refusing anything that resolves outside ``root``.

    Absolute paths, ``..`` segments and symlinks (anywhere on the way) that lead out of the
    root are refused with ``NotAllowedError``. ``root`` itself is allowed.
    """
    if relative is None:
        raise InputError(f"{what} is missing")
    text = str(relative)
    if "\x00" in text:
        raise InputError(f"{what} contains a NUL byte", where=what)
    pure = PurePosixPath(text.replace("\\", "/"))
    if pure.is_absolute() or (len(text) > 1 and text[1] == ":"):
        raise NotAllowedError(f"{what} {text!r} is absolute; it must be relative", where=what)
    base = root.resolve()
    candidate = (base / pure).resolve()
    if candidate != base and not candidate.is_relative_to(base):
        raise NotAllowedError(f"{what} {text!r} points outside the workspace", where=what)
    return candidate


class ActionContext:
    """What a handler gets. Created by the engine for every step (and every ``each`` item)."""

    def __init__(
        self,
        *,
        platform: Platform,
        task_id: str,
        step_id: str,
        action_id: str,
        input: Mapping[str, Any],
        workspace: Path,
        secrets: Mapping[str, str],
        template: TemplateInfo,
        user: UserInfo,
        dry_run: bool = False,
        each: Mapping[str, Any] | None = None,
        log: Callable[[str, str], None] | None = None,
        is_cancelled: Callable[[], bool] | None = None,
    ) -> None:
        self.platform = platform
        self.task_id = task_id
        self.step_id = step_id
        self.action_id = action_id
        self.input: dict[str, Any] = dict(input)
        self.workspace = workspace
        self.secrets = secrets
        self.template = template
        self.user = user
        self.dry_run = dry_run
        self.each = each
        self.outputs: dict[str, Any] = {}
        self._log = log
        self._is_cancelled = is_cancelled
        self._temp_dirs: list[Path] = []
        self._lock = threading.Lock()

    # ----------------------------------------------------------------- results
    def output(self, name: str, value: Any) -> None:
        """Set ``steps['<id>'].output.<name>`` for later steps and the template's output."""
        with self._lock:
            self.outputs[name] = value

    def log(self, message: str, level: str = "info") -> None:
        """A line of the task log (secrets are masked by the engine before it is stored)."""
        if self._log is not None:
            self._log(str(message), level)

    # ------------------------------------------------------------------ files
    def resolve_path(self, relative: str | None, *, what: str = "path") -> Path:
        """A path inside the workspace; ``None`` or ``""`` is the workspace itself."""
        if relative in (None, "", "."):
            return self.workspace.resolve()
        return safe_join(self.workspace, str(relative), what=what)

    def create_temp_dir(self) -> Path:
        """A fresh directory (beside the workspace, outside it) removed when the step ends."""
        parent = self.workspace.parent / f"{self.workspace.name}.tmp"
        parent.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix=f"{self.step_id}-", dir=parent))
        self._temp_dirs.append(path)
        return path

    def cleanup(self) -> None:
        for path in self._temp_dirs:
            shutil.rmtree(path, ignore_errors=True)
            with contextlib.suppress(OSError):
                path.parent.rmdir()  # only once empty: other iterations may still use it
        self._temp_dirs.clear()

    # ----------------------------------------------------------- cancellation
    @property
    def cancelled(self) -> bool:
        return bool(self._is_cancelled and self._is_cancelled())

    def check_cancelled(self) -> None:
        """Raise ``TaskCancelled`` if the task was cancelled; call it in long loops."""
        if self.cancelled:
            raise TaskCancelled(f"task {self.task_id} was cancelled")

    def sleep(self, seconds: float) -> None:
        """Sleep, waking early (with ``TaskCancelled``) when the task is cancelled."""
        deadline = time.monotonic() + max(0.0, seconds)
        while True:
            self.check_cancelled()
            left = deadline - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(left, 0.2))
