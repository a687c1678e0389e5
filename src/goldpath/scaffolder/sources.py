"""Where fetch actions read from, and how they write what they read.

A fetch ``url`` is relative (``./skeleton``, ``../shared/ci.yaml``) or an absolute http(s)
URL. A relative one resolves against the template's own location as the catalog recorded it
(``file:``, ``url:`` or ``git:``), or against a dry run's uploaded files. Reading obeys the
catalog's rules: files only under ``catalog.file_roots``, URLs through a url reader (goldpath's
hosted git) or, over plain http(s), only allow-listed hosts and only single files (plain
http has no folder listing). A git location is cloned once per task.

A fetched tree's symlinks are never followed: one that points outside the tree (or anywhere
by an absolute path) refuses the whole fetch. Writing goes through :class:`SafeWriter`, which
resolves parents inside its root and never writes through a symlink.
"""

from __future__ import annotations

import atexit
import os
import posixpath
import re
import shutil
import stat
import tarfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from goldpath.catalog.readers import GitTarget, Reader, Source
from goldpath.core.errors import InputError, NotAllowedError, NotFoundError
from goldpath.core.urlreaders import find_url_reader, url_readers
from goldpath.scaffolder.actions.base import ActionContext, safe_join

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
#: Clones are kept this long after their last use, and at most this many at once.
_CHECKOUT_IDLE_SECONDS = 600.0
_CHECKOUT_MAX = 32


# ------------------------------------------------------------------ where
@dataclass(frozen=True)
class _Location:
    kind: str  # "local" (already confined), "file" (check the roots), "url" or "git"
    path: Path | None = None
    url: str | None = None
    git: GitTarget | None = None


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def _locate(ctx: ActionContext, url: str) -> _Location:
    if not isinstance(url, str) or not url.strip():
        raise InputError("url is required", where="url")
    if "\x00" in url:
        raise InputError("url contains a NUL byte", where="url")
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        return _Location("url", url=url)
    if _SCHEME.match(url):
        raise InputError(
            f"cannot fetch {url}: a fetch url is a path relative to the template or an http(s) URL",
            where="url",
        )
    if url.startswith(("/", "\\")):
        raise NotAllowedError(
            f"{url} is an absolute path; use a path relative to the template", where="url"
        )
    base = ctx.template.base_url
    if base is None:
        root = ctx.template.dry_run_dir
        if root is None:
            raise InputError(
                f"cannot fetch {url}: the template's location is unknown and the url is relative",
                where="url",
            )
        root = root.resolve()
        target = (root / url).resolve()
        if not _inside(target, root):
            raise NotAllowedError(f"{url} points outside the template's files", where="url")
        return _Location("local", path=target)
    kind, _, location = base.partition(":")
    if kind in ("http", "https"):
        kind, location = "url", base
    if kind == "file":
        # ``file:/abs/t.yaml`` as the catalog writes it, ``file:///abs/t.yaml`` as URLs do.
        base_path = location[2:] if location.startswith("//") else location
        joined = os.path.normpath(os.path.join(os.path.dirname(base_path), url))
        return _Location("file", path=Path(joined))
    if kind == "url":
        joined = urljoin(location, url)
        if urlsplit(joined).scheme.lower() not in ("http", "https"):
            raise InputError(f"cannot resolve {url} against {base}", where="url")
        return _Location("url", url=joined)
    if kind == "git":
        git = GitTarget.parse(location)
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(git.path), url))
        if joined == ".." or joined.startswith("../"):
            raise NotAllowedError(f"{url} points outside the template's repository", where="url")
        return _Location("git", git=GitTarget(git.repo, "" if joined == "." else joined, git.ref))
    raise InputError(f"cannot resolve {url}: unknown template location {base}", where="url")


def _reader(ctx: ActionContext) -> Reader:
    return Reader(ctx.platform.settings, url_readers=url_readers(ctx.platform))


class _Checkouts:
    """Git clones kept per task, so all fetch steps of a task read one clone."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, str, str | None], tuple[Reader, Path, float]] = (
            OrderedDict()
        )

    def get(self, ctx: ActionContext, git: GitTarget) -> Path:
        key = (ctx.task_id, git.repo, git.ref)
        with self._lock:
            stale = self._expire()
            found = self._entries.get(key)
            if found is not None:
                self._entries[key] = (found[0], found[1], time.monotonic())
                self._entries.move_to_end(key)
        self._close(stale)
        if found is not None:
            return found[1]
        reader = _reader(ctx)
        try:
            path = reader.checkout(GitTarget(git.repo, "", git.ref))
        except BaseException:
            reader.close()
            raise
        with self._lock:
            existing = self._entries.get(key)
            if existing is None:
                self._entries[key] = (reader, path, time.monotonic())
                stale = self._expire()
            else:
                stale = [reader]
                path = existing[1]
        self._close(stale)
        return path

    def _expire(self) -> list[Reader]:
        now = time.monotonic()
        stale = []
        for key, (reader, _path, used) in list(self._entries.items()):
            if now - used > _CHECKOUT_IDLE_SECONDS or len(self._entries) > _CHECKOUT_MAX:
                stale.append(reader)
                del self._entries[key]
        return stale

    @staticmethod
    def _close(readers: list[Reader]) -> None:
        for reader in readers:
            reader.close()

    def release(self, task_id: str) -> None:
        with self._lock:
            keys = [key for key in self._entries if key[0] == task_id]
            readers = [self._entries.pop(key)[0] for key in keys]
        self._close(readers)

    def close_all(self) -> None:
        with self._lock:
            readers = [reader for reader, _path, _used in self._entries.values()]
            self._entries.clear()
        self._close(readers)


_checkouts = _Checkouts()
atexit.register(_checkouts.close_all)


def release_checkouts(task_id: str) -> None:
    """Drop the git clones a task's fetch steps made (else they go after 10 idle minutes)."""
    _checkouts.release(task_id)


# ------------------------------------------------------------------ trees
@dataclass(frozen=True)
class TreeEntry:
    """One entry of a fetched tree: a folder, a file, or a symlink (``link`` as written)."""

    relative: str
    path: Path
    is_dir: bool = False
    link: str | None = None


@dataclass(frozen=True)
class Tree:
    """A fetched folder to read from; ``hidden`` top-level names are left out (``.git``)."""

    root: Path
    hidden: frozenset[str] = frozenset()

    def entries(self) -> Iterator[TreeEntry]:
        """Every entry, parents before children, names sorted; symlinks checked, not followed."""
        return _walk(self.root, self.root, "", self.hidden)


def _walk(root: Path, folder: Path, prefix: str, hidden: frozenset[str]) -> Iterator[TreeEntry]:
    with os.scandir(folder) as scan:
        items = sorted(scan, key=lambda e: e.name)
    for item in items:
        if not prefix and item.name in hidden:
            continue
        relative = prefix + item.name
        path = Path(item.path)
        if item.is_symlink():
            link = os.readlink(item.path)
            _check_link(root, path, link, relative)
            yield TreeEntry(relative, path, link=link)
        elif item.is_dir(follow_symlinks=False):
            yield TreeEntry(relative, path, is_dir=True)
            yield from _walk(root, path, relative + "/", hidden)
        elif item.is_file(follow_symlinks=False):
            yield TreeEntry(relative, path)
        else:
            raise InputError(
                f"{relative} is not a file, folder or symlink; it cannot be fetched",
                where=relative,
            )


def _check_link(root: Path, path: Path, link: str, relative: str) -> None:
    if os.path.isabs(link) or not _inside((path.parent / link).resolve(), root):
        raise NotAllowedError(
            f"{relative} is a symlink to {link}, outside the fetched folder; such symlinks "
            "are refused (they are never followed)",
            where=relative,
        )


@contextmanager
def open_tree(ctx: ActionContext, url: str) -> Iterator[Tree]:
    """The folder ``url`` names, to read from while the context is open (a single file is
    presented as a folder holding it)."""
    where = _locate(ctx, url)
    if where.kind in ("local", "file"):
        assert where.path is not None
        path = _reader(ctx).check_file(str(where.path)) if where.kind == "file" else where.path
        yield _local_tree(ctx, path, url)
        return
    if where.kind == "git":
        assert where.git is not None
        checkout = _checkouts.get(ctx, where.git).resolve()
        inside = (checkout / where.git.path).resolve() if where.git.path else checkout
        if not _inside(inside, checkout) or ".git" in inside.relative_to(checkout).parts:
            raise NotAllowedError(f"{url} points outside the template's repository", where="url")
        if inside == checkout:
            yield Tree(checkout, hidden=frozenset({".git"}))
        else:
            yield _local_tree(ctx, inside, url)
        return
    assert where.url is not None
    own = find_url_reader(ctx.platform, where.url)
    if own is None:
        _reader(ctx).check_url(where.url)
        raise InputError(
            f"cannot fetch the folder {where.url}: over plain http(s) only single files can be "
            "fetched (fetch:plain:file, fetch:template:file); put folders in a git location or "
            "goldpath's hosted git",
            where="url",
        )
    staging = ctx.create_temp_dir()
    try:
        own.read_tree(where.url, staging)
    except tarfile.TarError as exc:
        raise NotAllowedError(f"cannot fetch {where.url}: {exc}", where="url") from exc
    yield Tree(staging.resolve())


def _local_tree(ctx: ActionContext, path: Path, url: str) -> Tree:
    if path.is_dir():
        return Tree(path)
    if path.is_file():
        staging = ctx.create_temp_dir().resolve()
        shutil.copy2(path, staging / path.name)
        return Tree(staging)
    raise NotFoundError(f"nothing to fetch at {url} ({path})", where="url")


# ------------------------------------------------------------------ write
class SafeWriter:
    """Writes inside ``root``: a path that leaves it (``..``, absolute, a symlinked parent
    pointing out) is refused with ``NotAllowedError``, and the final name is never followed
    (an existing symlink there is replaced, not written through)."""

    def __init__(self, root: Path) -> None:
        if root.exists() and not root.is_dir():
            raise InputError(f"{root.name} is a file, not a folder", where="targetPath")
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()
        self._parents: dict[str, Path] = {"": self.root}
        self._made: set[Path] = {self.root}

    def target(self, relative: str, *, what: str = "path") -> Path:
        """Where ``relative`` is written: parent resolved and checked, name as given."""
        if relative.startswith("/") or "\x00" in relative:
            safe_join(self.root, relative, what=what)  # raises with the shared wording
        norm = posixpath.normpath(relative.replace("\\", "/"))
        if norm == ".":
            return self.root
        parent, name = posixpath.split(norm)
        if name == ".." or norm.startswith("../"):
            safe_join(self.root, norm, what=what)
        real_parent = self._parents.get(parent)
        if real_parent is None:
            real_parent = safe_join(self.root, parent, what=what)
            self._parents[parent] = real_parent
        return real_parent / name

    def exists(self, relative: str) -> bool:
        return os.path.lexists(self.target(relative))

    def mkdir(self, relative: str) -> Path:
        path = self.target(relative)
        if path.is_symlink():
            # A folder symlinked inside the root is fine to write into; safe_join checks it.
            safe_join(self.root, relative)
            return path
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _prepare(self, relative: str) -> Path:
        path = self.target(relative)
        if path.parent not in self._made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(path.parent)
        if path.is_symlink():
            path.unlink()
        elif path.is_dir():
            raise InputError(f"cannot write the file {relative}: a folder is there", where=relative)
        return path

    def write_bytes(self, relative: str, data: bytes, mode: int | None = None) -> Path:
        path = self._prepare(relative)
        path.write_bytes(data)
        if mode is not None:
            os.chmod(path, stat.S_IMODE(mode))
        return path

    def copy_file(self, relative: str, source: Path, mode: int | None = None) -> Path:
        path = self._prepare(relative)
        shutil.copyfile(source, path, follow_symlinks=False)
        if mode is not None:
            os.chmod(path, stat.S_IMODE(mode))
        return path

    def symlink(self, relative: str, link: str) -> Path:
        path = self.target(relative)
        if os.path.isabs(link) or not _inside((path.parent / link).resolve(), self.root):
            raise NotAllowedError(
                f"{relative} would be a symlink to {link}, outside {self.root.name or '/'}",
                where=relative,
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink() or path.is_file():
            path.unlink()
        elif path.is_dir():
            raise InputError(f"cannot place the symlink {relative}: a folder is there")
        path.symlink_to(link)
        return path


# ---------------------------------------------------------------- public
def fetch_contents(ctx: ActionContext, url: str, dest: Path) -> None:
    """Copy the folder ``url`` names (its contents) into ``dest``, or the single file it
    names into ``dest/<name>``. Existing files are overwritten."""
    writer = SafeWriter(dest)
    with open_tree(ctx, url) as tree:
        # Listed in full first: a refused symlink stops the fetch before anything is written.
        for index, entry in enumerate(list(tree.entries())):
            if index % 64 == 0:
                ctx.check_cancelled()
            if entry.is_dir:
                writer.mkdir(entry.relative)
            elif entry.link is not None:
                writer.symlink(entry.relative, entry.link)
            else:
                writer.copy_file(entry.relative, entry.path, entry.path.lstat().st_mode)


def read_file(ctx: ActionContext, url: str) -> tuple[bytes, int | None]:
    """The bytes of the single file ``url`` names, and its mode where the source has one."""
    where = _locate(ctx, url)
    if where.kind in ("local", "file"):
        assert where.path is not None
        path = _reader(ctx).check_file(str(where.path)) if where.kind == "file" else where.path
        return _read_local(path, url)
    if where.kind == "git":
        assert where.git is not None
        checkout = _checkouts.get(ctx, where.git).resolve()
        path = (checkout / where.git.path).resolve()
        if not _inside(path, checkout) or ".git" in path.relative_to(checkout).parts:
            raise NotAllowedError(f"{url} points outside the template's repository", where="url")
        return _read_local(path, url)
    assert where.url is not None
    own = find_url_reader(ctx.platform, where.url)
    if own is not None:
        return own.read(where.url), None
    return _reader(ctx).read(Source("url", where.url)), None


def _read_local(path: Path, url: str) -> tuple[bytes, int | None]:
    if path.is_dir():
        raise InputError(f"{url} is a folder; a single file was expected", where="url")
    if not path.is_file():
        raise NotFoundError(f"no file at {url} ({path})", where="url")
    return path.read_bytes(), path.stat().st_mode


def fetch_file(ctx: ActionContext, url: str, dest_file: Path) -> None:
    """Write the single file ``url`` names to ``dest_file`` (its mode kept where known)."""
    data, mode = read_file(ctx, url)
    if dest_file.is_dir() and not dest_file.is_symlink():
        raise InputError(f"cannot write {dest_file.name}: a folder is there", where="targetPath")
    dest_file.parent.mkdir(parents=True, exist_ok=True)
    if dest_file.is_symlink():
        dest_file.unlink()
    dest_file.write_bytes(data)
    if mode is not None:
        os.chmod(dest_file, stat.S_IMODE(mode))
