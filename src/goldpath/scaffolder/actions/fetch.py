"""``fetch:plain``, ``fetch:plain:file``, ``fetch:template`` and ``fetch:template:file``.

fetch:template follows Backstage: every path is rendered (a name that renders empty skips the
file), contents are rendered with ``values`` unless the file matches ``copyWithoutTemplating``
(or, with ``templateFileExtension``, lacks the extension), binary files are copied byte for
byte, existing files are kept unless ``replace``, and file modes are kept.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import stat
from pathlib import Path, PurePosixPath
from typing import Any

from goldpath.core.errors import InputError, NotAllowedError
from goldpath.scaffolder.actions.base import Action, ActionContext
from goldpath.scaffolder.expressions import Templater
from goldpath.scaffolder.sources import fetch_contents, fetch_file, open_tree

_templater = Templater()
#: Bytes looked at to tell a binary file (as git and Backstage's isBinaryFile do).
_SNIFF_BYTES = 8000


def _is_binary(data: bytes) -> bool:
    head = data[:_SNIFF_BYTES]
    if b"\x00" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off at the sniff boundary is still text.
        return exc.start < len(head) - 3
    return False


def _glob_match(path: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        pattern = pattern.lstrip("./") if pattern.startswith("./") else pattern
        if fnmatch.fnmatchcase(path, pattern):
            return True
        # `dir/**` matches everything below dir; `**/x` matches x at the top level too.
        if pattern.endswith("/**") and (path + "/").startswith(pattern[:-2]):
            return True
        if pattern.startswith("**/") and fnmatch.fnmatchcase(path, pattern[3:]):
            return True
    return False


def _skipped(rendered: str) -> bool:
    """A path segment rendered to nothing: Backstage skips such entries."""
    return rendered == "" or rendered.startswith("/") or "//" in rendered or rendered.endswith("/")


class _Folders:
    """Output folders, each checked against the workspace (symlinks included) and created
    once, not once per file: a 200-file skeleton would otherwise resolve every path."""

    def __init__(self, ctx: ActionContext, output_dir: Path) -> None:
        self.ctx = ctx
        self.root = ctx.workspace.resolve()
        self.output_dir = output_dir
        self._ready: dict[Path, Path] = {}

    def ensure(self, folder: Path) -> Path:
        ready = self._ready.get(folder)
        if ready is None:
            ready = self.ctx.resolve_path(os.path.relpath(folder, self.root), what="targetPath")
            ready.mkdir(parents=True, exist_ok=True)
            self._ready[folder] = ready
        return ready

    def target(self, local: str, *, what: str) -> Path:
        pure = PurePosixPath(local)
        if pure.is_absolute() or ".." in pure.parts:
            raise NotAllowedError(f"{what} ({local!r}) points outside the workspace", where=what)
        lexical = self.output_dir / pure
        return self.ensure(lexical.parent) / lexical.name


def _plain(ctx: ActionContext) -> None:
    target = ctx.resolve_path(ctx.input.get("targetPath") or "./", what="targetPath")
    ctx.log(f"Fetching plain content from {ctx.input['url']}")
    fetch_contents(ctx, ctx.input["url"], target)


def _plain_file(ctx: ActionContext) -> None:
    target = ctx.resolve_path(ctx.input["targetPath"], what="targetPath")
    ctx.log(f"Fetching plain file from {ctx.input['url']}")
    fetch_file(ctx, ctx.input["url"], target)


def _extension(ctx: ActionContext) -> str | None:
    value = ctx.input.get("templateFileExtension")
    if value is True:
        return ".njk"
    if not value:
        return None
    text = str(value)
    return text if text.startswith(".") else "." + text


def _render_path(relative: str, context: dict[str, Any], cookiecutter: bool) -> str:
    if not _templater.has_syntax(relative, cookiecutter_compat=cookiecutter):
        return relative
    return _templater.render_text(
        relative, context, cookiecutter_compat=cookiecutter, where=f"path {relative}"
    )


def _template(ctx: ActionContext) -> None:
    url = ctx.input["url"]
    values = ctx.input.get("values") or {}
    if not isinstance(values, dict):
        raise InputError("values must be an object", where="values")
    cookiecutter = bool(ctx.input.get("cookiecutterCompat"))
    extension = _extension(ctx)
    without = ctx.input.get("copyWithoutTemplating")
    legacy = ctx.input.get("copyWithoutRender")
    if without is not None and legacy is not None:
        raise InputError(
            "copyWithoutRender and copyWithoutTemplating cannot be used together",
            where="copyWithoutTemplating",
        )
    if extension and (without or legacy):
        raise InputError(
            "templateFileExtension cannot be combined with copyWithoutTemplating",
            where="templateFileExtension",
        )
    patterns = [str(p) for p in (without or legacy or [])]
    render_names_always = without is not None or legacy is None
    replace = bool(ctx.input.get("replace"))
    trim = bool(ctx.input.get("trimBlocks"))
    lstrip = bool(ctx.input.get("lstripBlocks"))
    output_dir = ctx.resolve_path(ctx.input.get("targetPath") or "./", what="targetPath")

    ctx.log(f"Fetching template content from {url}")
    template_dir = open_tree(ctx, url)
    context = {"values": values}
    ctx.log("Processing template files")

    written = 0
    folders = _Folders(ctx, output_dir)
    for folder, dirnames, filenames in os.walk(template_dir):
        dirnames.sort()
        here = Path(folder)
        for name in sorted(dirnames) + sorted(filenames):
            source = here / name
            relative = source.relative_to(template_dir).as_posix()
            if extension:
                render_contents = relative.endswith(extension) and source.is_file()
                local = relative[: -len(extension)] if render_contents else relative
                local = _render_path(local, context, cookiecutter)
            else:
                render_contents = not _glob_match(relative, patterns)
                local = (
                    _render_path(relative, context, cookiecutter)
                    if render_names_always or render_contents
                    else relative
                )
            if _skipped(local):
                continue
            destination = folders.target(local, what=f"the path rendered from {relative}")
            if source.is_dir() and not source.is_symlink():
                folders.ensure(destination)
                continue
            if destination.is_symlink() or destination.exists():
                if not replace:
                    ctx.log(f"Skipping {local}: it exists already (replace is false)")
                    continue
                if destination.is_symlink() or destination.is_file():
                    # Never write through a link: it could point anywhere.
                    destination.unlink()
            if source.is_symlink():
                destination.symlink_to(os.readlink(source))
                continue
            data = source.read_bytes()
            if not render_contents or _is_binary(data):
                destination.write_bytes(data)
            else:
                text = data.decode("utf-8")
                if _templater.has_syntax(text, cookiecutter_compat=cookiecutter):
                    text = _templater.render_text(
                        text,
                        context,
                        cookiecutter_compat=cookiecutter,
                        trim_blocks=trim,
                        lstrip_blocks=lstrip,
                        where=relative,
                    )
                destination.write_text(text, encoding="utf-8")
            mode = stat.S_IMODE(source.stat().st_mode)
            if mode & 0o111:
                destination.chmod(mode)
            written += 1
    ctx.log(f"Template result written to {ctx.input.get('targetPath') or './'} ({written} files)")


def _template_file(ctx: ActionContext) -> None:
    values = ctx.input.get("values") or {}
    if not isinstance(values, dict):
        raise InputError("values must be an object", where="values")
    cookiecutter = bool(ctx.input.get("cookiecutterCompat"))
    target = ctx.resolve_path(ctx.input["targetPath"], what="targetPath")
    if target.exists() and not ctx.input.get("replace"):
        ctx.log(f"File {ctx.input['targetPath']} exists already and replace is false; skipping")
        return
    staging = ctx.create_temp_dir() / "file"
    fetch_file(ctx, ctx.input["url"], staging)
    data = staging.read_bytes()
    if _is_binary(data):
        shutil.copyfile(staging, target)
        return
    rendered = _templater.render_text(
        data.decode("utf-8"),
        {"values": values},
        cookiecutter_compat=cookiecutter,
        trim_blocks=bool(ctx.input.get("trimBlocks")),
        lstrip_blocks=bool(ctx.input.get("lstripBlocks")),
        where=str(ctx.input["url"]),
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(rendered, encoding="utf-8")


_URL = {
    "type": "string",
    "description": "Relative path (to the template's location) or absolute URL to fetch.",
}
_TARGET = {"type": "string", "description": "Target path within the workspace."}
_VALUES = {"type": "object", "description": "Values to pass on to the templating engine."}
_COMMON_TEMPLATE = {
    "cookiecutterCompat": {
        "type": "boolean",
        "description": "Use {{ }} as delimiters and cookiecutter as an alias of values.",
    },
    "replace": {"type": "boolean", "description": "Replace files already in the target."},
    "trimBlocks": {"type": "boolean", "description": "Remove the first newline after a block."},
    "lstripBlocks": {
        "type": "boolean",
        "description": "Strip whitespace before a block on its line.",
    },
    "token": {"type": "string", "description": "Accepted for compatibility; not used."},
}


def fetch_actions() -> list[Action]:
    return [
        Action(
            "fetch:plain",
            _plain,
            description="Copies a folder (or file) into the workspace as it is.",
            input_schema={
                "type": "object",
                "required": ["url"],
                "properties": {"url": _URL, "targetPath": _TARGET, "token": {"type": "string"}},
            },
            examples=[
                {
                    "description": "Fetch the contents of ./plain into the workspace",
                    "example": "steps:\n  - action: fetch:plain\n    id: fetch-plain\n"
                    "    input:\n      url: ./plain\n",
                }
            ],
            supports_dry_run=True,
        ),
        Action(
            "fetch:plain:file",
            _plain_file,
            description="Copies a single file into the workspace as it is.",
            input_schema={
                "type": "object",
                "required": ["url", "targetPath"],
                "properties": {"url": _URL, "targetPath": _TARGET, "token": {"type": "string"}},
            },
            supports_dry_run=True,
        ),
        Action(
            "fetch:template",
            _template,
            description="Copies a skeleton into the workspace, rendering file names and "
            "contents with values.",
            input_schema={
                "type": "object",
                "required": ["url"],
                "properties": {
                    "url": _URL,
                    "targetPath": _TARGET,
                    "values": _VALUES,
                    "copyWithoutRender": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Deprecated: globs copied without rendering their "
                        "contents or names.",
                    },
                    "copyWithoutTemplating": {
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Globs whose contents are copied without rendering "
                        "(their paths are still rendered).",
                    },
                    "templateFileExtension": {
                        "type": ["string", "boolean"],
                        "description": "Render only files with this extension (true: .njk), "
                        "dropping it.",
                    },
                    **_COMMON_TEMPLATE,
                },
            },
            examples=[
                {
                    "description": "Render ./skeleton with the service's name",
                    "example": "steps:\n  - action: fetch:template\n    id: fetch\n"
                    "    input:\n      url: ./skeleton\n      values:\n"
                    "        name: ${{ parameters.name }}\n",
                }
            ],
            supports_dry_run=True,
        ),
        Action(
            "fetch:template:file",
            _template_file,
            description="Copies one file into the workspace, rendering it with values.",
            input_schema={
                "type": "object",
                "required": ["url", "targetPath"],
                "properties": {
                    "url": _URL,
                    "targetPath": _TARGET,
                    "values": _VALUES,
                    **_COMMON_TEMPLATE,
                },
            },
            supports_dry_run=True,
        ),
    ]
