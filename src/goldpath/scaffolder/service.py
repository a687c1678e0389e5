"""The scaffolder's public face: templates, tasks, dry runs, and the durable run handler.

A task is created in one transaction with the durable queue task that will run it. The queue
gives it at most two attempts: the first runs it; a second one only happens when the worker
running the first died, and then the task ends ``failed`` with a ``recovered`` event (as
Backstage's default recovery strategy does) instead of re-running steps that may already have
had effects outside the workspace.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import shutil
import stat
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from goldpath.core import jsonutil
from goldpath.core.errors import ConflictError, GoldpathError, InputError, NotFoundError
from goldpath.core.logging import get_logger
from goldpath.scaffolder.actions.base import ActionRegistry, TemplateInfo, UserInfo
from goldpath.scaffolder.expressions import Templater
from goldpath.scaffolder.model import TemplateSpec, parse_template
from goldpath.scaffolder.parameters import (
    apply_defaults,
    parameter_schema,
    secret_fields,
    validate_values,
)
from goldpath.scaffolder.runner import (
    CANCEL_CHECK_INTERVAL,
    FLUSH_INTERVAL,
    HEARTBEAT_INTERVAL,
    Runner,
    RunRequest,
    StepInfo,
    remove_workspace,
)
from goldpath.scaffolder.secretbox import SecretBox
from goldpath.scaffolder.sources import release_checkouts
from goldpath.scaffolder.store import FINISHED, EventType, TaskRow, TaskStore, now

if TYPE_CHECKING:
    from goldpath.core.platform import Platform
    from goldpath.core.tasks import TaskContext

log = get_logger("goldpath.scaffolder")

RUN_TASK = "scaffolder.run"
API_VERSION = "scaffolder.backstage.io/v1beta3"
VERSION_ANNOTATION = "goldpath.dev/template-version"


class _StoreSink:
    """Reports a durable run: buffered log lines, step states and heartbeats, fenced on the
    task still being ``processing`` so a cancel is noticed at the next write."""

    def __init__(self, store: TaskStore, task_id: str) -> None:
        self.store = store
        self.task_id = task_id
        self.steps: dict[str, dict[str, Any]] = {}
        self._pending: list[tuple[EventType, dict[str, Any]]] = []
        self._steps_dirty = False
        self._last_flush = time.monotonic()
        self._last_check = time.monotonic()
        self._cancelled = False
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def emit(self, body: dict[str, Any]) -> None:
        with self._lock:
            self._pending.append(("log", body))

    def step_state(self, step_id: str, state: dict[str, Any]) -> None:
        with self._lock:
            self.steps.setdefault(step_id, {}).update(state)
            self._steps_dirty = True

    def start(self) -> None:
        """Flush every ``FLUSH_INTERVAL`` from a thread of its own until ``stop``."""
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"scaffolder-log-{self.task_id[:8]}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(FLUSH_INTERVAL):
            try:
                self.flush()
            except Exception:
                log.exception("writing a task's log failed", task_id=self.task_id)

    def flush(self, *, force: bool = False) -> None:
        with self._flush_lock:  # one writer at a time keeps the log in order
            with self._lock:
                idle = time.monotonic() - self._last_flush
                if not force and (
                    idle < FLUSH_INTERVAL
                    or (not self._pending and not self._steps_dirty and idle < HEARTBEAT_INTERVAL)
                ):
                    return
                events, self._pending = self._pending, []
                values: dict[str, Any] = {"last_heartbeat_at": now()}
                if self._steps_dirty:
                    values["steps"] = copy.deepcopy(self.steps)
                    self._steps_dirty = False
                self._last_flush = time.monotonic()
            if self._cancelled:
                self.store.record(self.task_id, events, durable=False)
                return
            if not self.store.record(
                self.task_id, events, only_if_status=("processing",), durable=False, **values
            ):
                self._cancelled = True
                # The row is no longer ours to update, but the log lines still belong to it.
                self.store.record(self.task_id, events, steps=copy.deepcopy(self.steps))
            self._last_check = time.monotonic()

    def cancelled(self) -> bool:
        if self._cancelled:
            return True
        if time.monotonic() - self._last_check >= CANCEL_CHECK_INTERVAL:
            self._last_check = time.monotonic()
            self._cancelled = self.store.status(self.task_id) == "cancelled"
        return self._cancelled


def steps_of(spec: Mapping[str, Any]) -> list[StepInfo]:
    steps = []
    for index, raw in enumerate(spec.get("steps") or []):
        step_id = raw.get("id") or f"step-{index + 1}"
        steps.append(
            StepInfo(
                id=step_id,
                name=raw.get("name") or step_id,
                action=raw["action"],
                input=raw.get("input") or {},
                if_=raw.get("if"),
                each=raw.get("each"),
            )
        )
    return steps


def task_spec(
    template: TemplateSpec,
    entity: Mapping[str, Any],
    values: dict[str, Any],
    user: UserInfo,
) -> dict[str, Any]:
    """Backstage's ``TaskSpecV1beta3``: what the task runs, frozen when it is created."""
    raw_spec = entity.get("spec") or {}
    # Steps as the model normalised them: ids and names filled in as Backstage does.
    steps = [
        {k: v for k, v in step.model_dump(by_alias=True).items() if v is not None}
        for step in template.steps
    ]
    return {
        "apiVersion": API_VERSION,
        "parameters": values,
        "steps": steps,
        "output": dict(raw_spec.get("output") or {}),
        "templateInfo": {
            "entityRef": template.entity_ref,
            "baseUrl": template.base_url,
            "entity": {"metadata": dict(entity.get("metadata") or {})},
        },
        "user": {"ref": user.ref, "entity": user.entity},
    }


def serialize_task(row: TaskRow) -> dict[str, Any]:
    """``GET /v2/tasks/:id``: Backstage's SerializedTask plus goldpath's steps and output."""
    body: dict[str, Any] = {
        "id": row.id,
        "spec": row.spec,
        "status": row.status,
        "createdAt": _iso(row.created_at),
        "lastHeartbeatAt": _iso(row.last_heartbeat_at),
        "createdBy": row.created_by,
        "startedAt": _iso(row.started_at),
        "finishedAt": _iso(row.finished_at),
        "templateRef": row.template_ref,
        "templateVersion": row.template_version,
        "steps": [
            {"id": s.id, "name": s.name, "action": s.action, **row.steps.get(s.id, {})}
            for s in steps_of(row.spec)
        ],
    }
    if row.output is not None:
        body["output"] = row.output
    if row.error is not None:
        body["error"] = row.error
    return body


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


class ScaffolderService:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.store = TaskStore(platform.db)
        self.templater = Templater()
        self._registry: ActionRegistry | None = None
        self._box: SecretBox | None = None
        self._workspace_root: Path | None = None
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- wiring
    @property
    def actions(self) -> ActionRegistry:
        if self._registry is None:
            with self._lock:
                if self._registry is None:
                    registry = ActionRegistry()
                    hook = self.platform.plugins.hook.goldpath_scaffolder_actions
                    for actions in hook(platform=self.platform):
                        for action in actions or []:
                            registry.register(action)
                    self._registry = registry
        return self._registry

    @property
    def runner(self) -> Runner:
        return Runner(self.platform, self.actions, self.templater)

    @property
    def box(self) -> SecretBox:
        if self._box is None:
            configured = self._settings_key()
            self._box = SecretBox.for_data_dir(self.platform.settings.data_dir, configured)
        return self._box

    def _settings_key(self) -> str | None:
        section = self.platform.settings.plugins.get("scaffolder") or {}
        value = section.get("secrets_key") if isinstance(section, dict) else None
        return str(value) if value else None

    @property
    def workspaces(self) -> Path:
        """Where task workspaces live: ``plugins.scaffolder.workspace_dir`` if set, else a
        RAM-backed folder when the machine has a roomy one, else the data dir.

        Workspaces are scratch space, removed when their task ends, and a skeleton is
        hundreds of small files: creating them costs 0.05 ms each in RAM but 0.1-1.3 ms on a
        busy disk, which would dominate a task's run time.
        """
        if self._workspace_root is None:
            section = self.platform.settings.plugins.get("scaffolder") or {}
            configured = section.get("workspace_dir") if isinstance(section, dict) else None
            if configured:
                root = Path(str(configured)).expanduser()
            else:
                root = _ram_dir(self.platform.settings.data_dir) or (
                    self.platform.settings.data_dir / "scaffolder"
                )
            self._workspace_root = root
        return self._workspace_root / "workspaces"

    def close(self) -> None:
        """At shutdown, leave no empty scratch folders behind (a RAM folder especially)."""
        if self._workspace_root is None:
            return
        for folder in (self.workspaces, self._workspace_root / "dry-runs", self._workspace_root):
            with contextlib.suppress(OSError):
                folder.rmdir()  # only when empty: a running task's workspace stays

    # ------------------------------------------------------------- templates
    def template_entity(self, template_ref: str) -> dict[str, Any]:
        from goldpath.catalog.refs import parse_entity_ref
        from goldpath.catalog.service import get_catalog

        if not isinstance(template_ref, str):
            raise InputError("templateRef must be a string", where="templateRef")
        try:
            ref = parse_entity_ref(template_ref, default_kind="template")
        except GoldpathError as exc:
            raise InputError(
                f"invalid templateRef {template_ref!r}: {exc.message}", where="templateRef"
            ) from exc
        if ref.kind.lower() != "template":
            raise InputError(f"{template_ref} is a {ref.kind}, not a Template", where="templateRef")
        canonical = ref.key
        entity = get_catalog(self.platform).queries.by_refs([canonical])["items"][0]
        if entity is None:
            raise NotFoundError(f"no template {canonical} in the catalog", where="templateRef")
        return dict(entity)

    def template(self, template_ref: str) -> tuple[TemplateSpec, dict[str, Any]]:
        entity = self.template_entity(template_ref)
        return parse_template(entity), entity

    def parameter_schema(self, namespace: str, kind: str, name: str) -> dict[str, Any]:
        spec, _entity = self.template(f"{kind}:{namespace}/{name}")
        return parameter_schema(spec)

    def list_templates(self) -> list[dict[str, Any]]:
        from goldpath.catalog.service import get_catalog

        queries = get_catalog(self.platform).queries
        page = queries.query_page(filter="kind=template", limit=1000)
        return [jsonutil.loads(body) for body in page.bodies]

    # ------------------------------------------------------------ validation
    def prepare(
        self,
        spec: TemplateSpec,
        values: Mapping[str, Any] | None,
        secrets: Mapping[str, Any] | None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        if values is not None and not isinstance(values, Mapping):
            raise InputError("values must be an object", where="values")
        if secrets is not None and not isinstance(secrets, Mapping):
            raise InputError("secrets must be an object", where="secrets")
        answers = apply_defaults(spec, dict(values or {}))
        hidden = dict(secrets or {})
        # Secret fields must never be stored with the answers; the portal's form moves them
        # to ``secrets`` itself, API and CLI callers may not.
        for key in secret_fields(spec):
            if key in answers:
                hidden.setdefault(key, answers.pop(key))
        errors = validate_values(spec, {**answers, **{k: hidden[k] for k in hidden}})
        if errors:
            details = [{"field": e.field, "message": e.message} for e in errors]
            summary = "; ".join(f"{e.field}: {e.message}" for e in errors[:5])
            raise InputError(
                f"invalid values for {spec.entity_ref}: {summary}", where="values", details=details
            )
        return answers, hidden

    # ------------------------------------------------------------------ tasks
    def create_task(
        self,
        template_ref: str,
        values: Mapping[str, Any] | None = None,
        secrets: Mapping[str, Any] | None = None,
        *,
        created_by: str | None = None,
    ) -> str:
        spec, entity = self.template(template_ref)
        answers, hidden = self.prepare(spec, values, secrets)
        self.check_actions(spec)
        user = self.user_info(created_by)
        frozen = task_spec(spec, entity, answers, user)
        sealed = self.box.seal(hidden) if hidden else None

        def enqueue(session: Any, task_id: str) -> str:
            return self.platform.tasks.enqueue(
                RUN_TASK, {"task_id": task_id}, max_attempts=2, session=session
            )

        task_id = self.store.create(
            template_ref=spec.entity_ref,
            template_version=spec.version,
            spec=frozen,
            created_by=created_by,
            secrets_ciphertext=sealed,
            enqueue=enqueue,
        )
        log.info("scaffolder task created", task_id=task_id, template=spec.entity_ref)
        return task_id

    def check_actions(self, spec: TemplateSpec) -> None:
        missing = sorted({s.action for s in spec.steps if s.action not in self.actions})
        if missing:
            raise InputError(
                f"template {spec.entity_ref} uses unknown action(s): {', '.join(missing)}",
                where="spec.steps",
            )

    def user_info(self, ref: str | None) -> UserInfo:
        if not ref:
            return UserInfo()
        from goldpath.catalog.service import get_catalog

        try:
            entity = get_catalog(self.platform).queries.by_refs([ref.lower()])["items"][0]
        except GoldpathError:
            entity = None
        return UserInfo(ref=ref, entity=entity)

    def get_task(self, task_id: str) -> TaskRow:
        return self.store.get(task_id)

    def list_tasks(
        self,
        *,
        created_by: list[str] | None = None,
        status: list[str] | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> tuple[list[TaskRow], int]:
        if limit < 1 or limit > 1000:
            raise InputError("limit must be between 1 and 1000", where="limit")
        if offset < 0:
            raise InputError("offset must not be negative", where="offset")
        return self.store.list(created_by=created_by, status=status, limit=limit, offset=offset)

    def events(self, task_id: str, after: int | None = None) -> list[dict[str, Any]]:
        self.store.get(task_id)  # 404 for an unknown task
        return [
            {
                "id": e.id,
                "taskId": e.task_id,
                "body": e.body,
                "type": e.type,
                "createdAt": _iso(e.created_at),
            }
            for e in self.store.events(task_id, after=after)
        ]

    def cancel(self, task_id: str) -> TaskRow:
        row = self.store.get(task_id)
        if row.status in FINISHED:
            return row
        was = row.status
        current = next((s for s, st in row.steps.items() if st.get("status") == "processing"), None)
        body: dict[str, Any] = {"message": "The task was cancelled", "status": "cancelled"}
        if current:
            body = {
                "message": f"Step {current} has been cancelled.",
                "stepId": current,
                "status": "cancelled",
            }
        changed = self.store.record(
            task_id,
            [("cancelled", body)],
            only_if_status=("open", "processing"),
            status="cancelled",
        )
        if changed and was == "open":
            # Never started: nothing will run it, so close it here.
            if row.run_id:
                with contextlib.suppress(NotFoundError):
                    self.platform.tasks.cancel(row.run_id)
            self.store.record(
                task_id,
                [("completion", {"message": "Run completed with status: cancelled"})],
                finished_at=now(),
            )
            self.store.delete_secrets(task_id)
            self._record_run(self.store.get(task_id), "cancelled", 0.0, {})
        return self.store.get(task_id)

    def retry(self, task_id: str, secrets: Mapping[str, Any] | None = None) -> str:
        row = self.store.get(task_id)
        if row.status not in ("failed", "cancelled"):
            raise ConflictError(
                f"task {task_id} is {row.status}; only failed or cancelled tasks can be retried",
                where=task_id,
            )
        if secrets is not None and not isinstance(secrets, Mapping):
            raise InputError("secrets must be an object", where="secrets")
        self.store.set_secrets(task_id, self.box.seal(dict(secrets)) if secrets else None)
        run_id = self.platform.tasks.enqueue(RUN_TASK, {"task_id": task_id}, max_attempts=2)
        changed = self.store.record(
            task_id,
            [("log", {"message": f"Retrying the task (attempt {row.attempt + 1})"})],
            only_if_status=("failed", "cancelled"),
            status="open",
            steps={},
            output=None,
            error=None,
            started_at=None,
            finished_at=None,
            run_id=run_id,
        )
        if not changed:
            self.platform.tasks.cancel(run_id)
            raise ConflictError(f"task {task_id} changed while retrying it", where=task_id)
        return task_id

    # --------------------------------------------------------------- running
    def run(self, ctx: TaskContext) -> dict[str, Any]:
        """The durable queue's handler for ``scaffolder.run``."""
        task_id = str(ctx.task.payload.get("task_id"))
        try:
            row = self.store.get(task_id)
        except NotFoundError:
            return {"status": "missing"}
        if row.status in FINISHED:
            return {"status": row.status}
        if row.status == "processing":
            self._fail_recovered(row)
            return {"status": "failed", "recovered": True}
        if not self.store.update(
            task_id,
            only_if_status=("open",),
            status="processing",
            started_at=now(),
            last_heartbeat_at=now(),
            attempt=row.attempt + 1,
        ):
            return {"status": self.store.get(task_id).status}
        started = time.monotonic()
        workspace = self.workspaces / task_id
        sink = _StoreSink(self.store, task_id)
        result_status = "failed"
        try:
            secrets = self._open_secrets(task_id)
            request = self._request(row, secrets, workspace, dry_run=False)
            remove_workspace(workspace)
            sink.start()
            try:
                result = self.runner.run(request, sink)
            finally:
                sink.stop()
            result_status = result.status
            output, error, outputs = result.output, result.error, result.steps_outputs
        except Exception as exc:  # the engine itself failed: end the task, never leave it hanging
            log.exception("scaffolder run failed", task_id=task_id)
            message = str(exc) if isinstance(exc, GoldpathError) else f"{type(exc).__name__}: {exc}"
            output, error, outputs = {}, {"name": type(exc).__name__, "message": message}, {}
        finally:
            remove_workspace(workspace)
            release_checkouts(task_id)
        seconds = time.monotonic() - started
        final = self._finish(task_id, result_status, output, error, sink.steps)
        self._record_run(self.store.get(task_id), final, seconds, outputs)
        return {"status": final}

    def _open_secrets(self, task_id: str) -> dict[str, Any]:
        sealed = self.store.secrets_ciphertext(task_id)
        return self.box.open(sealed) if sealed else {}

    def _request(
        self, row: TaskRow, secrets: dict[str, Any], workspace: Path, *, dry_run: bool
    ) -> RunRequest:
        spec = row.spec
        info = spec.get("templateInfo") or {}
        user = spec.get("user") or {}
        return RunRequest(
            task_id=row.id,
            steps=steps_of(spec),
            output=dict(spec.get("output") or {}),
            parameters=dict(spec.get("parameters") or {}),
            secrets=secrets,
            template=TemplateInfo(
                entity_ref=str(info.get("entityRef") or row.template_ref),
                base_url=info.get("baseUrl"),
                version=row.template_version,
            ),
            user=UserInfo(ref=user.get("ref"), entity=user.get("entity")),
            workspace=workspace,
            dry_run=dry_run,
        )

    def _finish(
        self,
        task_id: str,
        status: str,
        output: dict[str, Any],
        error: dict[str, Any] | None,
        steps: dict[str, dict[str, Any]],
    ) -> str:
        current = self.store.status(task_id)
        final = "cancelled" if current == "cancelled" else status
        body: dict[str, Any] = {"message": f"Run completed with status: {final}"}
        values: dict[str, Any] = {"status": final, "finished_at": now(), "steps": steps}
        if final == "completed":
            body["output"] = output
            values["output"] = output
        elif final == "failed" and error is not None:
            body["error"] = error
            values["error"] = error
        self.store.record(
            task_id, [("completion", body)], only_if_status=("processing", "cancelled"), **values
        )
        self.store.delete_secrets(task_id)
        return final

    def _fail_recovered(self, row: TaskRow) -> None:
        message = (
            "The worker running this task stopped before the task finished (it crashed or "
            "was killed). Steps may have run partly, so the task was not resumed; retry it "
            "once you have checked what it left behind."
        )
        error = {"name": "TaskRecoveredError", "message": message}
        steps = {
            k: ({**v, "status": "failed"} if v.get("status") == "processing" else v)
            for k, v in row.steps.items()
        }
        self.store.record(
            row.id,
            [
                ("recovered", {"message": message, "recoverStrategy": "none"}),
                ("completion", {"message": "Run completed with status: failed", "error": error}),
            ],
            only_if_status=("processing",),
            status="failed",
            error=error,
            finished_at=now(),
            steps=steps,
        )
        remove_workspace(self.workspaces / row.id)
        self.store.delete_secrets(row.id)
        self._record_run(self.store.get(row.id), "failed", 0.0, {})

    def _record_run(
        self,
        row: TaskRow,
        result: str,
        seconds: float,
        outputs: Mapping[str, Mapping[str, Any]],
    ) -> None:
        refs: list[str] = []
        for step_outputs in outputs.values():
            ref = step_outputs.get("entityRef")
            for item in ref if isinstance(ref, list) else [ref]:
                if isinstance(item, str) and item not in refs:
                    refs.append(item)
        self.platform.events.append(
            "template.run",
            subject=row.template_ref,
            actor=row.created_by,
            data={
                "taskId": row.id,
                "templateRef": row.template_ref,
                "templateVersion": row.template_version,
                "answers": row.spec.get("parameters") or {},
                "result": result,
                "durationSeconds": round(seconds, 3),
                "entityRefs": refs,
                "createdBy": row.created_by,
            },
        )

    # --------------------------------------------------------------- dry run
    def dry_run(
        self,
        *,
        template: Mapping[str, Any] | None = None,
        template_ref: str | None = None,
        values: Mapping[str, Any] | None = None,
        secrets: Mapping[str, Any] | None = None,
        directory_contents: list[Mapping[str, Any]] | None = None,
        created_by: str | None = None,
    ) -> dict[str, Any]:
        """Run a template without side effects; see ``dryrun.dry_run``."""
        from goldpath.scaffolder.dryrun import dry_run

        return dry_run(
            self,
            template=template,
            template_ref=template_ref,
            values=values,
            secrets=secrets,
            directory_contents=directory_contents,
            created_by=created_by,
        )


#: Free space a RAM-backed folder needs before workspaces go there (containers often give
#: /dev/shm only 64 MiB).
RAM_DIR_MIN_FREE = 1024 * 1024 * 1024


def _ram_dir(data_dir: Path) -> Path | None:
    shm = Path("/dev/shm")  # noqa: S108 - the folder below is checked to be ours, 0700
    try:
        if not shm.is_dir() or shutil.disk_usage(shm).free < RAM_DIR_MIN_FREE:
            return None
        # One folder per data dir, private to this user: several installations may share
        # the machine.
        digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
        root = shm / f"goldpath-{os.getuid()}-{digest}"
        root.mkdir(mode=0o700, exist_ok=True)
        # Someone else may have created the name first (a shared /dev/shm): use it only if
        # it is a real folder, ours, and closed to others.
        info = root.lstat()
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            return None
        if info.st_uid != os.getuid() or info.st_mode & 0o077:
            return None
        return root
    except OSError:
        return None


def get_scaffolder(platform: Platform) -> ScaffolderService:
    service = platform.services["scaffolder"]
    assert isinstance(service, ScaffolderService)
    return service
