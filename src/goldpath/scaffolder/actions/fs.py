"""``fs:delete``, ``fs:rename`` and ``fs:readdir``: files and folders of the task's workspace.

Inputs, outputs and errors follow Backstage's scaffolder-backend
(``actions/builtin/filesystem/delete.ts``, ``rename.ts`` and ``read.ts``). Every path is
relative to the workspace; a path that leads out of it (``..``, an absolute path, a symlink
pointing outside) is refused with ``NotAllowedError`` before anything is touched.
"""

from __future__ import annotations

import os
import re
import shutil
from collections import deque
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from goldpath.core.errors import ConflictError, InputError, NotFoundError
from goldpath.scaffolder.actions.base import Action, ActionContext

_GLOB_CHARS = frozenset("*?[{")


# ------------------------------------------------------------------------------- paths
def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(f"{what} must be a non-empty string", where=what)
    # Backstage accepts Windows separators (``.\\file``) on every platform.
    return value.replace("\\", "/")


def entry_path(ctx: ActionContext, relative: str, *, what: str) -> Path:
    """The workspace entry ``relative`` names, without following it if it is a symlink.

    The whole path must resolve inside the workspace, so a symlink leading out is refused
    (as Backstage's ``resolveSafeChildPath`` does). Only the parent is resolved in the path
    returned: deleting or renaming a symlink acts on the link, never on what it points to.
    """
    ctx.resolve_path(relative, what=what)
    pure = PurePosixPath(relative)
    if pure.name in ("", ".", ".."):
        return ctx.resolve_path(relative, what=what)
    return ctx.resolve_path(str(pure.parent), what=what) / pure.name


def _expand_braces(pattern: str) -> list[str]:
    """``{a,b}`` alternatives as separate patterns, innermost group first (as globby does)."""
    match = re.search(r"\{([^{}]*,[^{}]*)\}", pattern)
    if match is None:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [
        expanded
        for alternative in match.group(1).split(",")
        for expanded in _expand_braces(head + alternative + tail)
    ]


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as a regex over ``/``-separated relative paths.

    ``*`` and ``?`` stay inside one segment, ``**`` spans any number of segments (zero
    included), ``[...]`` is a class; dotfiles match like any other name (globby's ``dot``).
    """
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "*":
            at_segment_start = i == 0 or pattern[i - 1] == "/"
            if pattern.startswith("**", i) and at_segment_start:
                if i + 2 == n:
                    out.append(".*")
                    i += 2
                    continue
                if pattern[i + 2] == "/":
                    out.append("(?:.*/)?")
                    i += 3
                    continue
            out.append("[^/]*")
            while i < n and pattern[i] == "*":
                i += 1
            continue
        if char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                negate = body[:1] in ("!", "^")
                body = body[1:] if negate else body
                body = body.replace("\\", "\\\\")
                out.append(f"[^/{body}]" if negate else f"(?!/)[{body}]")
                i = end
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out))


def _has_magic(text: str) -> bool:
    return bool(_GLOB_CHARS & set(text))


def glob_workspace(ctx: ActionContext, pattern: str, *, what: str) -> list[Path]:
    """The workspace entries a path or glob names, parents before their children.

    A plain path names one entry, whether it exists or not. A glob is matched by walking the
    workspace without following symlinks, so it can only find entries inside; a pattern that
    itself points outside (``../*``, ``/etc/*``) is refused.
    """
    text = _text(pattern, what)
    if not _has_magic(text):
        return [entry_path(ctx, text, what=what)]
    found: dict[Path, None] = {}
    for alternative in dict.fromkeys(_expand_braces(text)):
        # The pattern as text must stay inside; ``../*`` resolves to the parent's ``*``.
        ctx.resolve_path(alternative, what=what)
        parts = PurePosixPath(alternative).parts
        literal = 0
        while literal < len(parts) and not _has_magic(parts[literal]):
            literal += 1
        if literal == len(parts):
            found[entry_path(ctx, alternative, what=what)] = None
            continue
        base = ctx.resolve_path("/".join(parts[:literal]), what=what)
        rest = "/".join(parts[literal:])
        if ".." in PurePosixPath(rest).parts:
            # Lexically after a magic segment ``..`` could climb back past the base.
            raise InputError(f"{what} may not use '..' after a wildcard", where=what)
        if not base.is_dir():
            continue
        regex = _glob_regex(rest)
        for dirpath, dirnames, filenames in os.walk(base, followlinks=False):
            ctx.check_cancelled()
            for name in (*dirnames, *filenames):
                full = Path(dirpath) / name
                if regex.fullmatch(full.relative_to(base).as_posix()):
                    found[full] = None
    return sorted(found, key=lambda p: p.parts)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _shown(ctx: ActionContext, path: Path) -> str:
    return path.relative_to(ctx.workspace.resolve()).as_posix() or "."


def _string_list(ctx: ActionContext, name: str) -> list[Any]:
    value = ctx.input.get(name)
    if not isinstance(value, list):
        raise InputError(f"{name} must be an Array", where=name)
    return value


# ------------------------------------------------------------------------------- fs:delete
def _delete(ctx: ActionContext) -> None:
    patterns = _string_list(ctx, "files")
    root = ctx.workspace.resolve()
    # Every pattern is checked before the first deletion: a bad one leaves the workspace as is.
    targets: list[Path] = []
    for index, pattern in enumerate(patterns):
        for path in glob_workspace(ctx, pattern, what=f"files[{index}]"):
            if path == root:
                raise InputError(
                    "fs:delete will not delete the workspace itself", where=f"files[{index}]"
                )
            targets.append(path)
    for path in targets:
        if not os.path.lexists(path):
            # Already gone: never there, or inside a folder deleted just before.
            continue
        _remove(path)
        ctx.log(f"File {_shown(ctx, path)} deleted successfully")


# ------------------------------------------------------------------------------- fs:rename
def _rename(ctx: ActionContext) -> None:
    for index, item in enumerate(_string_list(ctx, "files")):
        where = f"files[{index}]"
        if not isinstance(item, Mapping) or not item.get("from") or not item.get("to"):
            raise InputError("each file must have a from and to property", where=where)
        source = entry_path(ctx, _text(item["from"], f"{where}.from"), what=f"{where}.from")
        target = entry_path(ctx, _text(item["to"], f"{where}.to"), what=f"{where}.to")
        if not os.path.lexists(source):
            raise NotFoundError(f"{item['from']} does not exist in the workspace", where=where)
        if source == target:
            raise InputError("Source and destination must not be the same.", where=where)
        if source.is_dir() and not source.is_symlink() and target.is_relative_to(source):
            raise InputError(
                f"Cannot move '{item['from']}' to a subdirectory of itself, '{item['to']}'.",
                where=where,
            )
        if source.is_relative_to(target):
            raise InputError(
                f"Cannot replace '{item['to']}' with '{item['from']}', which is inside it.",
                where=where,
            )
        if os.path.lexists(target):
            if not item.get("overwrite", False):
                raise ConflictError(
                    f"{item['to']} already exists; set overwrite: true to replace it",
                    where=where,
                )
            _remove(target)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(source, target)
        except (NotADirectoryError, FileExistsError) as exc:
            raise InputError(
                f"cannot rename {item['from']} to {item['to']}: a parent of the destination "
                "is a file",
                where=where,
            ) from exc
        ctx.log(f"File {_shown(ctx, source)} renamed to {_shown(ctx, target)} successfully")


# ------------------------------------------------------------------------------- fs:readdir
def _readdir(ctx: ActionContext) -> None:
    recursive = ctx.input.get("recursive", False)
    if not isinstance(recursive, bool):
        raise InputError("recursive must be a boolean", where="recursive")
    root = ctx.workspace.resolve()
    files: list[dict[str, str]] = []
    folders: list[dict[str, str]] = []
    for index, relative in enumerate(_string_list(ctx, "paths")):
        what = f"paths[{index}]"
        base = ctx.resolve_path(_text(relative, what), what=what)
        if not base.exists():
            raise NotFoundError(f"{relative} does not exist in the workspace", where=what)
        if not base.is_dir():
            raise InputError(f"{relative} is a file, not a folder", where=what)
        # Breadth first, like Node's recursive readdir; sorted so that runs are repeatable.
        queue = deque([base])
        while queue:
            ctx.check_cancelled()
            folder = queue.popleft()
            with os.scandir(folder) as entries:
                listed = sorted(entries, key=lambda e: e.name)
            for entry in listed:
                full = Path(entry.path)
                item = {
                    "name": entry.name,
                    "path": full.relative_to(root).as_posix(),
                    "fullPath": str(full),
                }
                # A symlink is listed as a file and never followed, even to a folder.
                if entry.is_dir(follow_symlinks=False):
                    folders.append(item)
                    if recursive:
                        queue.append(full)
                else:
                    files.append(item)
    ctx.output("files", files)
    ctx.output("folders", folders)


# ------------------------------------------------------------------------------- schemas
def _example(action: str, step_id: str, name: str, inputs: str) -> str:
    return (
        f"steps:\n  - action: {action}\n    id: {step_id}\n    name: {name}\n    input:\n{inputs}"
    )


_CONTENT = {
    "type": "object",
    "required": ["name", "path", "fullPath"],
    "properties": {
        "name": {"type": "string", "description": "Name of the file or directory"},
        "path": {
            "type": "string",
            "description": "path to the file or directory relative to the workspace",
        },
        "fullPath": {"type": "string", "description": "full path to the file or directory"},
    },
}

DELETE = Action(
    "fs:delete",
    _delete,
    description="Deletes files and directories from the workspace",
    input_schema={
        "type": "object",
        "required": ["files"],
        "properties": {
            "files": {
                "title": "Files",
                "description": "A list of files and directories that will be deleted: paths "
                "relative to the workspace, or globs (*, **, ?, [abc], {a,b}; dotfiles match). "
                "Paths that do not exist are skipped.",
                "type": "array",
                "items": {"type": "string"},
            }
        },
    },
    output_schema={"type": "object", "properties": {}},
    examples=[
        {
            "description": "Delete specified files",
            "example": _example(
                "fs:delete",
                "deleteFiles",
                "Delete files",
                "      files:\n        - file1.txt\n        - file2.txt\n",
            ),
        },
        {
            "description": "Delete files with wildcard",
            "example": _example(
                "fs:delete", "deleteFiles", "Delete files", "      files:\n        - '*.txt'\n"
            ),
        },
    ],
    supports_dry_run=True,
)

RENAME = Action(
    "fs:rename",
    _rename,
    description="Renames files and directories within the workspace",
    input_schema={
        "type": "object",
        "required": ["files"],
        "properties": {
            "files": {
                "title": "Files",
                "description": "A list of file and directory names that will be renamed",
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["from", "to"],
                    "properties": {
                        "from": {
                            "type": "string",
                            "title": "The source location of the file to be renamed",
                            "description": "Relative to the workspace.",
                        },
                        "to": {
                            "type": "string",
                            "title": "The destination of the new file",
                            "description": "Relative to the workspace; missing parent "
                            "folders are created.",
                        },
                        "overwrite": {
                            "type": "boolean",
                            "title": "Overwrite existing file or directory, default is false",
                            "description": "Without it an existing destination is an error.",
                            "default": False,
                        },
                    },
                },
            }
        },
    },
    output_schema={"type": "object", "properties": {}},
    examples=[
        {
            "description": "Rename specified files ",
            "example": _example(
                "fs:rename",
                "renameFiles",
                "Rename files",
                "      files:\n"
                "        - from: file1.txt\n          to: file1Renamed.txt\n"
                "        - from: file2.txt\n          to: file2Renamed.txt\n"
                "        - from: file3.txt\n          to: file3Renamed.txt\n"
                "          overwrite: true\n",
            ),
        }
    ],
    supports_dry_run=True,
)

READDIR = Action(
    "fs:readdir",
    _readdir,
    description="Reads files and directories from the workspace",
    input_schema={
        "type": "object",
        "required": ["paths"],
        "properties": {
            "paths": {
                "type": "array",
                "description": "Folders to list, relative to the workspace ('.' is the "
                "workspace itself)",
                "items": {"type": "string", "minLength": 1},
            },
            "recursive": {
                "type": "boolean",
                "default": False,
                "description": "List the contents of sub-folders too",
            },
        },
    },
    output_schema={
        "type": "object",
        "required": ["files", "folders"],
        "properties": {
            "files": {
                "type": "array",
                "description": "Files (and symlinks) found",
                "items": _CONTENT,
            },
            "folders": {"type": "array", "description": "Folders found", "items": _CONTENT},
        },
    },
    examples=[
        {
            "description": "Read complete content of workspace",
            "example": _example(
                "fs:readdir",
                "read-workdir",
                "Read workspace directory",
                "      paths:\n        - .\n",
            ),
        },
        {
            "description": "Get content of the docs folder",
            "example": _example(
                "fs:readdir",
                "read-workdir",
                "Read workspace directory",
                "      paths:\n        - docs\n      recursive: true\n",
            ),
        },
        {
            "description": "Get content of multiple folders",
            "example": _example(
                "fs:readdir",
                "read-workdir",
                "Read workspace directory",
                "      paths:\n        - foo\n        - bar\n      recursive: true\n",
            ),
        },
    ],
    supports_dry_run=True,
)


def fs_actions() -> list[Action]:
    return [DELETE, RENAME, READDIR]
