"""Where fetch actions read from: a skeleton beside the template, or an absolute URL.

A relative ``url`` resolves against the template's own location (``file:``, ``url:`` or
``git:``, as the catalog recorded it), or against a dry run's uploaded files. Reading obeys
the catalog's rules: files only under the configured roots, URLs only through a url reader
(goldpath's hosted git) or the allowlist. A skeleton's symlinks may point only inside it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath
from urllib.parse import urljoin, urlsplit

from goldpath.catalog.readers import GitTarget, Reader, Source
from goldpath.core.errors import InputError, NotAllowedError, NotFoundError
from goldpath.core.urlreaders import find_url_reader
from goldpath.scaffolder.actions.base import ActionContext


def _reader(ctx: ActionContext) -> Reader:
    from goldpath.core.urlreaders import url_readers

    return Reader(ctx.platform.settings, url_readers=url_readers(ctx.platform))


def _local_base(ctx: ActionContext) -> Path | None:
    if ctx.template.base_url is None:
        return ctx.template.dry_run_dir
    return None


def resolve(ctx: ActionContext, url: str) -> Source:
    """The source a fetch ``url`` names (``file``, ``url`` or ``git``)."""
    if not isinstance(url, str) or not url:
        raise InputError("url is required", where="url")
    if urlsplit(url).scheme in ("http", "https"):
        return Source("url", url)
    if urlsplit(url).scheme:
        raise InputError(f"cannot fetch {url}: only relative paths and http(s) URLs", where="url")
    local = _local_base(ctx)
    if local is not None:
        target = (local / url).resolve()
        if target != local.resolve() and not target.is_relative_to(local.resolve()):
            raise NotAllowedError(f"{url} points outside the template's files", where="url")
        return Source("dry-run", str(target))
    base = ctx.template.base_url
    if not base:
        raise InputError(f"cannot resolve {url}: the template has no source location", where="url")
    kind, _, location = base.partition(":")
    if kind == "file":
        return Source("file", os.path.normpath(os.path.join(os.path.dirname(location), url)))
    if kind == "url":
        return Source("url", urljoin(location, url))
    if kind == "git":
        git = GitTarget.parse(location)
        joined = os.path.normpath(os.path.join(os.path.dirname(git.path), url))
        if joined == ".." or joined.startswith("../"):
            raise NotAllowedError(f"{url} points outside the repository", where="url")
        return Source("git", git.with_path("" if joined == "." else joined).format())
    raise InputError(f"cannot resolve {url} against {base}", where="url")


def _check_links(source: Path) -> None:
    """Refuse a folder holding symlinks that lead out of it."""
    root = source.resolve()
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        for name in [*dirnames, *filenames]:
            path = Path(folder) / name
            if path.is_symlink():
                target = path.resolve()
                if target != root and not target.is_relative_to(root):
                    relative = path.relative_to(root).as_posix()
                    raise NotAllowedError(
                        f"{relative} is a symlink to {os.readlink(path)}, outside the skeleton",
                        where=relative,
                    )


def open_tree(ctx: ActionContext, url: str) -> Path:
    """A folder holding what ``url`` names, to read (never write): a local skeleton is used
    where it lies (after its symlinks are checked); anything else is fetched into a
    temporary folder first."""
    source = resolve(ctx, url)
    if source.type in ("dry-run", "file"):
        path = Path(source.target)
        if source.type == "file":
            _reader(ctx).check_file(str(path))
        if path.is_dir() and not path.is_symlink():
            _check_links(path)
            return path.resolve()
    staging = ctx.create_temp_dir()
    fetch_contents(ctx, url, staging)
    return staging


def _copy_tree(source: Path, dest: Path) -> None:
    """Copy a folder, refusing symlinks that lead out of it (they are never followed)."""
    root = source.resolve()
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(folder)
        relative = here.relative_to(root)
        (dest / relative).mkdir(parents=True, exist_ok=True)
        for name in [*dirnames, *filenames]:
            path = here / name
            if path.is_symlink():
                target = path.resolve()
                if target != root and not target.is_relative_to(root):
                    raise NotAllowedError(
                        f"{(relative / name).as_posix()} is a symlink to {os.readlink(path)}, "
                        "outside the skeleton",
                        where=str(relative / name),
                    )
                link = dest / relative / name
                link.symlink_to(os.readlink(path))
                if name in dirnames:
                    dirnames.remove(name)
            elif name in filenames:
                shutil.copy2(path, dest / relative / name)


def _copy_local(path: Path, dest: Path) -> None:
    if path.is_symlink() and path.is_file():
        raise NotAllowedError(f"{path.name} is a symlink; fetch the file itself", where="url")
    if path.is_dir():
        _copy_tree(path, dest)
    elif path.is_file():
        shutil.copy2(path, dest / path.name)
    else:
        raise NotFoundError(f"nothing to fetch at {path}", where="url")


def fetch_contents(ctx: ActionContext, url: str, dest: Path) -> None:
    """Copy the folder (its contents) or the single file ``url`` names into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    source = resolve(ctx, url)
    if source.type == "dry-run":
        _copy_local(Path(source.target), dest)
        return
    if source.type == "file":
        path = Path(source.target)
        _reader(ctx).check_file(str(path.parent) if not path.exists() else str(path))
        _copy_local(path, dest)
        return
    if source.type == "git":
        git = GitTarget.parse(source.target)
        with _reader(ctx) as reader:
            checkout = reader.checkout(git).resolve()
            inside = (checkout / git.path).resolve() if git.path else checkout
            if inside != checkout and not inside.is_relative_to(checkout):
                raise NotAllowedError("path escapes the repository", where="url")
            if git.path and not inside.exists():
                raise NotFoundError(f"no {git.path} in {git.repo}", where="url")
            if inside.is_dir():
                staging = ctx.create_temp_dir()
                _copy_tree(inside, staging)
                shutil.rmtree(staging / ".git", ignore_errors=True)
                shutil.copytree(staging, dest, symlinks=True, dirs_exist_ok=True)
            else:
                _copy_local(inside, dest)
        return
    own = find_url_reader(ctx.platform, source.target)
    if own is not None:
        staging = ctx.create_temp_dir()
        own.read_tree(source.target, staging)
        _copy_tree(staging, dest)
        return
    name = PurePosixPath(urlsplit(source.target).path).name
    if not name:
        raise InputError(
            f"{source.target} looks like a folder; over plain http(s) only single files can be "
            "fetched (use a git location or goldpath's hosted git for folders)",
            where="url",
        )
    fetch_file(ctx, source.target, dest / name)


def fetch_file(ctx: ActionContext, url: str, dest_file: Path) -> None:
    """Write the single file ``url`` names to ``dest_file``."""
    source = resolve(ctx, url)
    dest_file.parent.mkdir(parents=True, exist_ok=True)
    if source.type in ("dry-run", "file"):
        path = Path(source.target)
        if source.type == "file":
            _reader(ctx).check_file(str(path))
        if path.is_symlink():
            raise NotAllowedError(f"{path.name} is a symlink; fetch the file itself", where="url")
        if not path.is_file():
            raise NotFoundError(f"no file at {url}", where="url")
        shutil.copy2(path, dest_file)
        return
    reader = find_url_reader(ctx.platform, source.target) if source.type == "url" else None
    data = reader.read(source.target) if reader is not None else _reader(ctx).read(source)
    dest_file.write_bytes(data)
