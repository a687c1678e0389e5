"""``fs:delete``, ``fs:rename`` and ``fs:readdir``: files in the task's workspace only."""

from __future__ import annotations

import glob
import shutil
from pathlib import Path

from goldpath.core.errors import ConflictError, InputError, NotFoundError
from goldpath.scaffolder.actions.base import Action, ActionContext, safe_join


def _matches(ctx: ActionContext, pattern: str) -> list[Path]:
    """Workspace paths a glob (or plain path) names; refuses patterns that reach outside."""
    root = ctx.workspace.resolve()
    safe_join(root, pattern, what="files")  # the pattern itself may not climb out
    found = glob.glob(pattern, root_dir=root, recursive=True, include_hidden=True)
    if not found and not glob.has_magic(pattern):
        found = [pattern]
    paths = []
    for relative in found:
        path = root / relative
        # lexically inside; a symlink is removed itself, never followed
        parent = safe_join(root, str(Path(relative).parent), what="files")
        paths.append(parent / path.name)
    return paths


def _delete(ctx: ActionContext) -> None:
    files = ctx.input.get("files") or []
    for pattern in files:
        for path in _matches(ctx, str(pattern)):
            if path == ctx.workspace.resolve():
                raise InputError("fs:delete will not delete the whole workspace", where="files")
            if path.is_symlink() or path.is_file():
                path.unlink()
            elif path.is_dir():
                shutil.rmtree(path)
            else:
                continue
            ctx.log(f"File {path.relative_to(ctx.workspace.resolve())} deleted successfully")


def _rename(ctx: ActionContext) -> None:
    for index, item in enumerate(ctx.input.get("files") or []):
        where = f"files[{index}]"
        source = ctx.resolve_path(item["from"], what=f"{where}.from")
        target = ctx.resolve_path(item["to"], what=f"{where}.to")
        if not source.exists() and not source.is_symlink():
            raise NotFoundError(f"{item['from']} does not exist in the workspace", where=where)
        if target.exists() and not item.get("overwrite"):
            raise ConflictError(
                f"{item['to']} already exists; set overwrite: true to replace it", where=where
            )
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        source.replace(target) if not source.is_dir() else shutil.move(str(source), str(target))
        ctx.log(f"File {item['from']} renamed to {item['to']} successfully")


def _readdir(ctx: ActionContext) -> None:
    recursive = bool(ctx.input.get("recursive"))
    files: list[dict[str, str]] = []
    folders: list[dict[str, str]] = []
    root = ctx.workspace.resolve()
    for index, relative in enumerate(ctx.input.get("paths") or []):
        base = ctx.resolve_path(str(relative), what=f"paths[{index}]")
        if not base.is_dir():
            raise NotFoundError(f"{relative} is not a folder in the workspace", where="paths")
        entries = sorted(base.rglob("*") if recursive else base.iterdir())
        for entry in entries:
            item = {
                "name": entry.name,
                "path": entry.relative_to(root).as_posix(),
                "fullPath": str(entry),
            }
            (folders if entry.is_dir() and not entry.is_symlink() else files).append(item)
    ctx.output("files", files)
    ctx.output("folders", folders)


_ENTRY = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "path": {"type": "string", "description": "Relative to the workspace."},
            "fullPath": {"type": "string"},
        },
    },
}


def fs_actions() -> list[Action]:
    return [
        Action(
            "fs:delete",
            _delete,
            description="Deletes files and folders (paths or globs) from the workspace.",
            input_schema={
                "type": "object",
                "required": ["files"],
                "properties": {
                    "files": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Paths or globs relative to the workspace.",
                    }
                },
            },
            examples=[
                {
                    "description": "Delete a file and every .tmp file",
                    "example": "steps:\n  - action: fs:delete\n    id: delete\n    input:\n"
                    "      files:\n        - README.md\n        - '**/*.tmp'\n",
                }
            ],
            supports_dry_run=True,
        ),
        Action(
            "fs:rename",
            _rename,
            description="Renames or moves files and folders within the workspace.",
            input_schema={
                "type": "object",
                "required": ["files"],
                "properties": {
                    "files": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["from", "to"],
                            "properties": {
                                "from": {"type": "string", "description": "Current path."},
                                "to": {"type": "string", "description": "New path."},
                                "overwrite": {
                                    "type": "boolean",
                                    "description": "Replace an existing target.",
                                },
                            },
                        },
                    }
                },
            },
            examples=[
                {
                    "description": "Rename a file",
                    "example": "steps:\n  - action: fs:rename\n    id: rename\n    input:\n"
                    "      files:\n        - from: a.txt\n          to: b.txt\n",
                }
            ],
            supports_dry_run=True,
        ),
        Action(
            "fs:readdir",
            _readdir,
            description="Lists files and folders under paths of the workspace.",
            input_schema={
                "type": "object",
                "required": ["paths"],
                "properties": {
                    "paths": {"type": "array", "items": {"type": "string"}},
                    "recursive": {"type": "boolean", "default": False},
                },
            },
            output_schema={
                "type": "object",
                "properties": {"files": _ENTRY, "folders": _ENTRY},
            },
            supports_dry_run=True,
        ),
    ]
