"""``fetch:plain``, ``fetch:plain:file``, ``fetch:template`` and ``fetch:template:file``.

Inputs, defaults and behaviour follow Backstage's actions of the same ids
(plugins/scaffolder-backend/src/scaffolder/actions/builtin/fetch/): ``fetch:template`` renders
every path and every text file of a skeleton with ``values``; binary files and symlinks are
copied as they are; a path that renders to nothing (an empty file name, or an empty folder
name anywhere in it) is left out; existing files are kept unless ``replace`` is true. Where
goldpath is stricter: a rendered path leaving ``targetPath`` (``..``, absolute) is refused,
and so is a symlink leading out of the skeleton.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from goldpath.core.errors import InputError, NotAllowedError
from goldpath.scaffolder.actions.base import Action, ActionContext
from goldpath.scaffolder.expressions import ExpressionError, Templater
from goldpath.scaffolder.sources import (
    SafeWriter,
    Tree,
    TreeEntry,
    fetch_contents,
    fetch_file,
    open_tree,
    read_file,
)

_default_templater = Templater()


def _templater(ctx: ActionContext) -> Templater:
    """The engine's templater (it carries plugins' filters), else a plain one."""
    templater = getattr(ctx.platform.services.get("scaffolder"), "templater", None)
    return templater if isinstance(templater, Templater) else _default_templater


def _is_binary(data: bytes) -> bool:
    """NUL bytes or invalid UTF-8: copied byte for byte, never rendered."""
    if b"\x00" in data:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


# -------------------------------------------------------------------- globs
def _glob_regex(pattern: str) -> str:
    """A globby pattern (``*``, ``**``, ``?``, ``[...]``, ``{a,b}``; dot files match) as a
    regular expression over a relative path."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(c))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body.replace(chr(92), chr(92) * 2)}]")
                i = end + 1
                continue
        elif c == "{":
            end = pattern.find("}", i)
            if end == -1:
                out.append(re.escape(c))
            else:
                options = pattern[i + 1 : end].split(",")
                out.append("(?:" + "|".join(_glob_regex(o) for o in options) + ")")
                i = end + 1
                continue
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


@lru_cache(maxsize=256)
def _compile_globs(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    positive: list[re.Pattern[str]] = []
    negative: list[re.Pattern[str]] = []
    for raw in patterns:
        pattern = raw.strip()
        negated = pattern.startswith("!")
        pattern = pattern[1:] if negated else pattern
        while pattern.startswith("./"):
            pattern = pattern[2:]
        # A pattern names the entry itself; a folder entry is listed as ``dir/``.
        regex = re.compile(_glob_regex(pattern.rstrip("/")) + "/?")
        (negative if negated else positive).append(regex)

    def matches(location: str) -> bool:
        return any(r.fullmatch(location) for r in positive) and not any(
            r.fullmatch(location) for r in negative
        )

    return matches


# ---------------------------------------------------------------- handlers
def _plain(ctx: ActionContext) -> None:
    target = ctx.resolve_path(ctx.input.get("targetPath") or "./", what="targetPath")
    ctx.log(f"Fetching plain content from {ctx.input['url']}")
    fetch_contents(ctx, ctx.input["url"], target)


def _file_target(ctx: ActionContext) -> Path:
    target = ctx.resolve_path(ctx.input["targetPath"], what="targetPath")
    if target == ctx.workspace.resolve():
        raise InputError("targetPath must name a file, not the workspace", where="targetPath")
    return target


def _plain_file(ctx: ActionContext) -> None:
    target = _file_target(ctx)
    ctx.log(f"Fetching plain file from {ctx.input['url']}")
    fetch_file(ctx, ctx.input["url"], target)


class _Settings:
    """fetch:template's inputs, checked as Backstage checks them."""

    def __init__(self, ctx: ActionContext) -> None:
        inputs = ctx.input
        without_render = inputs.get("copyWithoutRender")
        without_templating = inputs.get("copyWithoutTemplating")
        if without_render is not None and without_templating is not None:
            raise InputError(
                "copyWithoutRender and copyWithoutTemplating cannot be used together",
                where="copyWithoutTemplating",
            )
        patterns = without_render if without_render is not None else without_templating
        if patterns is not None and not isinstance(patterns, list):
            raise InputError(
                "copyWithoutRender/copyWithoutTemplating must be an array", where="input"
            )
        if without_render is not None:
            ctx.log("copyWithoutRender is deprecated; use copyWithoutTemplating", "warn")
        # copyWithoutRender leaves matched paths as they are; copyWithoutTemplating still
        # renders the paths of the files whose contents it copies.
        self.render_matched_paths = without_render is None
        self.cookiecutter = bool(inputs.get("cookiecutterCompat"))
        extension = inputs.get("templateFileExtension")
        if extension and (patterns is not None or self.cookiecutter):
            raise InputError(
                "templateFileExtension cannot be combined with copyWithoutRender, "
                "copyWithoutTemplating or cookiecutterCompat",
                where="templateFileExtension",
            )
        self.extension: str | None = None
        if extension:
            text = ".njk" if extension is True else str(extension)
            self.extension = text if text.startswith(".") else "." + text
        self.copy_only = _compile_globs(tuple(str(p) for p in patterns or []))
        self.replace = bool(inputs.get("replace"))
        self.trim_blocks = bool(inputs.get("trimBlocks"))
        self.lstrip_blocks = bool(inputs.get("lstripBlocks"))
        values = inputs.get("values")
        self.context: dict[str, Any] = {"values": values}
        if self.cookiecutter:
            self.context["cookiecutter"] = values


class _Renderer:
    def __init__(self, templater: Templater, settings: _Settings) -> None:
        self.templater = templater
        self.settings = settings

    def needed(self, data: bytes) -> bool:
        """Whether file contents have template syntax at all (cheap, on the bytes)."""
        start = b"{{" if self.settings.cookiecutter else b"${{"
        return start in data or b"{%" in data or b"{#" in data

    def path(self, path: str) -> str:
        if not self.templater.has_syntax(path, cookiecutter_compat=self.settings.cookiecutter):
            return path
        return self.text(path, f"the path {path}")

    def text(self, text: str, where: str) -> str:
        return self.templater.render_text(
            text,
            self.settings.context,
            cookiecutter_compat=self.settings.cookiecutter,
            trim_blocks=self.settings.trim_blocks,
            lstrip_blocks=self.settings.lstrip_blocks,
            where=where,
        )


def _left_out(rendered: str, source: str, renderer: _Renderer) -> bool:
    """Backstage leaves out an entry whose rendered path is empty, starts with ``/`` (the
    top folder rendered empty) or has ``//`` (a folder inside rendered empty). A value that
    renders to an absolute path is refused instead of being mistaken for that."""
    if rendered == "" or "//" in rendered:
        return True
    if rendered.startswith("/"):
        top = source.split("/", 1)[0]
        try:
            top_rendered = renderer.path(top)
        except ExpressionError:
            return True
        if top_rendered.strip() == "":
            return True
        raise NotAllowedError(
            f"{source} renders to the absolute path {rendered}; paths must stay inside targetPath",
            where=source,
        )
    return False


class _Planned(NamedTuple):
    entry: TreeEntry
    local: str
    #: Rendered contents; None: copy the file (or place the folder or symlink) as it is.
    data: bytes | None


def _plan(
    tree: Tree, output: SafeWriter, settings: _Settings, renderer: _Renderer
) -> Iterator[_Planned]:
    """Every entry's rendered path and contents, before anything is written: a template
    error or a refused path leaves the target as it was."""
    for entry in tree.entries():
        location = entry.relative + "/" if entry.is_dir else entry.relative
        if settings.extension:
            render_contents = (
                not entry.is_dir and posixpath.splitext(entry.relative)[1] == settings.extension
            )
            source = location[: -len(settings.extension)] if render_contents else location
            local = renderer.path(source)
        else:
            render_contents = not settings.copy_only(location)
            source = location
            render_path = settings.render_matched_paths or render_contents
            local = renderer.path(source) if render_path else source
        if _left_out(local, source, renderer):
            continue
        output.target(local, what=f"the path rendered from {entry.relative}")
        data = None
        if render_contents and not entry.is_dir and entry.link is None:
            raw = entry.path.read_bytes()
            if not _is_binary(raw) and renderer.needed(raw):
                data = renderer.text(raw.decode("utf-8"), entry.relative).encode("utf-8")
        yield _Planned(entry, local, data)


def _template(ctx: ActionContext) -> None:
    settings = _Settings(ctx)
    renderer = _Renderer(_templater(ctx), settings)
    target_path = ctx.input.get("targetPath") or "./"
    output = SafeWriter(ctx.resolve_path(target_path, what="targetPath"))
    url = ctx.input["url"]
    ctx.log(f"Fetching template content from {url}")
    with open_tree(ctx, url) as tree:
        if output.root == tree.root or output.root.is_relative_to(tree.root):
            raise InputError(
                "targetPath must not be inside the template's folder", where="targetPath"
            )
        planned = []
        for index, item in enumerate(_plan(tree, output, settings, renderer)):
            if index % 64 == 0:
                ctx.check_cancelled()
            planned.append(item)
        ctx.log(f"Processing {len(planned)} template files/directories")
        written = kept = 0
        for entry, local, data in planned:
            if not settings.replace and output.exists(local):
                kept += 1
            elif entry.is_dir:
                output.mkdir(local)
            elif entry.link is not None:
                output.symlink(local, entry.link)
                written += 1
            else:
                mode = entry.path.lstat().st_mode
                if data is None:
                    output.copy_file(local, entry.path, mode)
                else:
                    output.write_bytes(local, data, mode)
                written += 1
    if kept:
        ctx.log(f"Kept {kept} existing files and folders (replace is false)")
    ctx.log(f"Template result written to {target_path} ({written} files)")


def _template_file(ctx: ActionContext) -> None:
    target = _file_target(ctx)
    if target.exists() and not ctx.input.get("replace"):
        ctx.log(f"File {ctx.input['targetPath']} already exists in workspace, not replacing")
        return
    url = ctx.input["url"]
    ctx.log(f"Fetching template file from {url}")
    data, mode = read_file(ctx, url)
    if not _is_binary(data):
        settings = _Settings(ctx)
        text = _Renderer(_templater(ctx), settings).text(data.decode("utf-8"), str(url))
        data = text.encode("utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    SafeWriter(target.parent).write_bytes(target.name, data, mode)
    ctx.log(f"Template file has been written to {ctx.input['targetPath']}")


# ---------------------------------------------------------------- schemas
def _string(title: str, description: str) -> dict[str, Any]:
    return {"title": title, "type": "string", "description": description}


def _boolean(title: str, description: str) -> dict[str, Any]:
    return {"title": title, "type": "boolean", "description": description}


_TOKEN = _string(
    "Token",
    "Accepted for compatibility with Backstage templates and not used: goldpath reads "
    "locations with its own configured access.",
)
_TREE_URL = _string(
    "Fetch URL",
    "Path relative to the template (./skeleton) or absolute URL of the folder to fetch.",
)
_FILE_URL = _string(
    "Fetch URL",
    "Path relative to the template (./files/README.md) or absolute URL of the single file "
    "to fetch.",
)
_FILE_TARGET = _string("Target Path", "Path of the file to write, relative to the workspace.")
_VALUES = {
    "title": "Template Values",
    "type": "object",
    "description": "Values the files are rendered with, available as values.<name>.",
}
_COOKIECUTTER = _boolean(
    "Cookiecutter compatibility mode",
    "Render {{ }} instead of ${{ }} and name the values cookiecutter as well, so templates "
    "written for fetch:cookiecutter render unchanged.",
)
_TRIM = _boolean(
    "Trim Blocks",
    "Remove the first newline after a block tag ({% %}), as Nunjucks' trimBlocks does.",
)
_LSTRIP = _boolean(
    "Lstrip Blocks",
    "Strip spaces and tabs from the start of a line up to a block tag, as Nunjucks' "
    "lstripBlocks does.",
)
_NO_OUTPUT: dict[str, Any] = {
    "type": "object",
    "description": "This action sets no outputs; it writes into the workspace.",
    "properties": {},
}


def fetch_actions() -> list[Action]:
    return [
        Action(
            "fetch:plain",
            _plain,
            description="Downloads a folder (or a single file) and places it in the "
            "workspace as it is, or in a subfolder given by targetPath.",
            input_schema={
                "type": "object",
                "required": ["url"],
                "properties": {
                    "url": _TREE_URL,
                    "targetPath": _string(
                        "Target Path",
                        "Folder within the workspace to place the contents in. Defaults to "
                        "the workspace itself (./).",
                    ),
                    "token": _TOKEN,
                },
            },
            output_schema=_NO_OUTPUT,
            examples=[
                {
                    "description": "Copy the shared CI configuration next to the code",
                    "example": "steps:\n  - id: fetch-ci\n    name: Fetch CI files\n"
                    "    action: fetch:plain\n    input:\n      url: ./ci\n"
                    "      targetPath: ./.ci\n",
                }
            ],
            supports_dry_run=True,
        ),
        Action(
            "fetch:plain:file",
            _plain_file,
            description="Downloads a single file and places it in the workspace as it is.",
            input_schema={
                "type": "object",
                "required": ["url", "targetPath"],
                "properties": {"url": _FILE_URL, "targetPath": _FILE_TARGET, "token": _TOKEN},
            },
            output_schema=_NO_OUTPUT,
            examples=[
                {
                    "description": "Add a licence file",
                    "example": "steps:\n  - id: fetch-licence\n    name: Fetch licence\n"
                    "    action: fetch:plain:file\n    input:\n"
                    "      url: ./files/LICENSE\n      targetPath: LICENSE\n",
                }
            ],
            supports_dry_run=True,
        ),
        Action(
            "fetch:template",
            _template,
            description="Downloads a skeleton, renders values into its file and folder names "
            "and file contents, and places the result in the workspace (or in targetPath).",
            input_schema={
                "type": "object",
                "required": ["url"],
                "properties": {
                    "url": _TREE_URL,
                    "targetPath": _string(
                        "Target Path",
                        "Folder within the workspace to place the result in. Defaults to "
                        "the workspace itself (./).",
                    ),
                    "values": _VALUES,
                    "copyWithoutRender": {
                        "title": "[Deprecated] Copy Without Render",
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Glob patterns (relative to the skeleton). Matching "
                        "files and folders are copied as they are, contents and names. "
                        "Deprecated: use copyWithoutTemplating.",
                    },
                    "copyWithoutTemplating": {
                        "title": "Copy Without Templating",
                        "type": "array",
                        "items": {"type": "string"},
                        "description": "Glob patterns (relative to the skeleton, such as "
                        "assets/**). The contents of matching files are copied as they are; "
                        "their paths are still rendered.",
                    },
                    "cookiecutterCompat": _COOKIECUTTER,
                    "templateFileExtension": {
                        "title": "Template File Extension",
                        "type": ["string", "boolean"],
                        "description": "Render only the files with this extension, and drop "
                        "the extension from their names; true means .njk. Other files are "
                        "copied as they are (their paths are still rendered).",
                    },
                    "replace": _boolean(
                        "Replace files",
                        "Overwrite files that already exist in targetPath instead of keeping them.",
                    ),
                    "trimBlocks": _TRIM,
                    "lstripBlocks": _LSTRIP,
                    "token": _TOKEN,
                },
            },
            output_schema=_NO_OUTPUT,
            examples=[
                {
                    "description": "Render the skeleton next to this template with the "
                    "service's name and owner",
                    "example": "steps:\n  - id: fetch\n    name: Fetch skeleton\n"
                    "    action: fetch:template\n    input:\n      url: ./skeleton\n"
                    "      values:\n        name: ${{ parameters.name }}\n"
                    "        owner: ${{ parameters.owner }}\n"
                    "      copyWithoutTemplating:\n        - assets/**\n",
                }
            ],
            supports_dry_run=True,
        ),
        Action(
            "fetch:template:file",
            _template_file,
            description="Downloads a single file, renders values into it and places it in "
            "the workspace.",
            input_schema={
                "type": "object",
                "required": ["url", "targetPath"],
                "properties": {
                    "url": _FILE_URL,
                    "targetPath": _FILE_TARGET,
                    "values": _VALUES,
                    "cookiecutterCompat": _COOKIECUTTER,
                    "replace": _boolean(
                        "Replace file",
                        "Overwrite the file if it already exists instead of keeping it.",
                    ),
                    "trimBlocks": _TRIM,
                    "lstripBlocks": _LSTRIP,
                    "token": _TOKEN,
                },
            },
            output_schema=_NO_OUTPUT,
            examples=[
                {
                    "description": "Render a README for the new service",
                    "example": "steps:\n  - id: readme\n    name: Render README\n"
                    "    action: fetch:template:file\n    input:\n"
                    "      url: ./files/README.md\n      targetPath: README.md\n"
                    "      values:\n        name: ${{ parameters.name }}\n",
                }
            ],
            supports_dry_run=True,
        ),
    ]
