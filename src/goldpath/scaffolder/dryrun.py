"""Dry runs: a template run without side effects, returning its log, files and output.

Backstage's template editor sends the template entity with its files
(``directoryContents``); goldpath also takes the ref of a registered template. Actions that
cannot run dry (publishing) are skipped, and everything is written to a scratch folder
that is removed before the answer goes out.
"""

from __future__ import annotations

import base64
import shutil
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from goldpath.core.errors import InputError
from goldpath.scaffolder.actions.base import TemplateInfo, safe_join
from goldpath.scaffolder.model import parse_template
from goldpath.scaffolder.runner import MemorySink, RunRequest
from goldpath.scaffolder.service import steps_of, task_spec
from goldpath.scaffolder.sources import release_checkouts

if TYPE_CHECKING:
    from goldpath.scaffolder.service import ScaffolderService

#: Longest a dry run may take before it is stopped (it runs inside an API request).
DRY_RUN_SECONDS = 60.0
#: Most bytes a dry run returns as ``directoryContents``.
DRY_RUN_MAX_BYTES = 50 * 1024 * 1024


def dry_run(
    service: ScaffolderService,
    *,
    template: Mapping[str, Any] | None = None,
    template_ref: str | None = None,
    values: Mapping[str, Any] | None = None,
    secrets: Mapping[str, Any] | None = None,
    directory_contents: list[Mapping[str, Any]] | None = None,
    created_by: str | None = None,
) -> dict[str, Any]:
    """Run a template without side effects; return its log, files and output.

    ``template`` (an entity, with ``directoryContents`` holding its files, as Backstage's
    editor sends) or ``templateRef`` (a registered template: goldpath's extension).
    """
    if (template is None) == (template_ref is None):
        raise InputError("give exactly one of template or templateRef", where="template")
    if template is not None:
        if not isinstance(template, Mapping):
            raise InputError("template must be an entity object", where="template")
        entity = dict(template)
        entity.setdefault("metadata", {})
        entity["metadata"] = dict(entity["metadata"] or {})
        entity["metadata"].setdefault("namespace", "default")
        annotations = dict(entity["metadata"].get("annotations") or {})
        annotations.pop("backstage.io/managed-by-location", None)
        entity["metadata"]["annotations"] = annotations
        spec = parse_template(entity)
    else:
        spec, entity = service.template(str(template_ref))
    answers, hidden = service.prepare(spec, values, secrets)
    service.check_actions(spec)
    user = service.user_info(created_by)
    root = service.workspaces.parent / "dry-runs" / str(uuid.uuid4())
    template_dir = root / "template"
    workspace = root / "workspace"
    template_dir.mkdir(parents=True)
    try:
        _write_contents(template_dir, directory_contents or [])
        frozen = task_spec(spec, entity, answers, user)
        info = TemplateInfo(
            entity_ref=spec.entity_ref,
            base_url=spec.base_url if template is None else None,
            version=spec.version,
            dry_run_dir=template_dir if template is not None else None,
        )
        deadline = time.monotonic() + DRY_RUN_SECONDS
        sink = MemorySink(lambda: time.monotonic() > deadline)
        request = RunRequest(
            task_id=f"dry-run-{uuid.uuid4()}",
            steps=steps_of(frozen),
            output=frozen["output"],
            parameters=answers,
            secrets=hidden,
            template=info,
            user=user,
            workspace=workspace,
            dry_run=True,
        )
        result = service.runner.run(request, sink)
        if result.status == "cancelled":
            sink.emit({"message": f"Dry run stopped after {DRY_RUN_SECONDS:g} s"})
        if result.status == "failed" and result.error:
            sink.emit({"message": f"Run completed with status: failed: {result.error['message']}"})
        release_checkouts(request.task_id)
        return {
            "log": [{"body": body} for body in sink.events],
            "directoryContents": _read_contents(workspace),
            "output": result.output,
            "steps": [
                {"id": s.id, "name": s.name, "action": s.action, **sink.steps.get(s.id, {})}
                for s in request.steps
            ],
            "status": result.status,
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _write_contents(root: Path, contents: list[Mapping[str, Any]]) -> None:
    if not isinstance(contents, list):
        raise InputError("directoryContents must be an array", where="directoryContents")
    for index, item in enumerate(contents):
        where = f"directoryContents[{index}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("path"), str):
            raise InputError("each entry needs a path and base64Content", where=where)
        target = safe_join(root, item["path"], what=f"{where}.path")
        try:
            data = base64.b64decode(str(item.get("base64Content") or ""), validate=True)
        except ValueError as exc:
            raise InputError("base64Content is not valid base64", where=where) from exc
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        if item.get("executable"):
            target.chmod(0o755)


def _read_contents(workspace: Path) -> list[dict[str, Any]]:
    if not workspace.is_dir():
        return []
    files: list[dict[str, Any]] = []
    total = 0
    for path in sorted(workspace.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        total += len(data)
        if total > DRY_RUN_MAX_BYTES:
            raise InputError(
                f"the dry run wrote more than {DRY_RUN_MAX_BYTES // (1024 * 1024)} MB",
                where="directoryContents",
            )
        files.append(
            {
                "path": path.relative_to(workspace).as_posix(),
                "base64Content": base64.b64encode(data).decode(),
                "executable": bool(path.stat().st_mode & 0o111),
            }
        )
    return files
