"""From an entity's ``backstage.io/techdocs-ref`` to a docs source tree.

``dir:<path>`` is relative to the entity's source location (``backstage.io/source-location``,
else ``backstage.io/managed-by-location``), as in Backstage:

- a ``file`` location: ``<path>`` inside the folder of the catalog file (not above it);
- goldpath's own hosted git (``url:<base>/git/<owner>/<repo>/blob|tree/<ref>/<path>``): the
  folder read straight from the bare repository (``git archive``), never over HTTP;
- another ``url`` or ``git`` location: the repository cloned (shallow) through the catalog's
  allowlist, and the folder taken from it; never above the repository's root.

``url:<location>`` names such a folder directly. Each source has a cheap *fingerprint*:
what a rebuild would change, compared with the last build's to decide whether to build.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import yaml

from goldpath.catalog.readers import GitTarget
from goldpath.catalog.service import get_catalog
from goldpath.core.errors import GoldpathError, InputError, NotAllowedError, NotFoundError
from goldpath.core.platform import Platform
from goldpath.core.urlreaders import find_url_reader
from goldpath.docs.model import (
    ANNOTATION_LOCATION,
    ANNOTATION_SOURCE_LOCATION,
    ANNOTATION_TECHDOCS_REF,
)
from goldpath.git.service import GitService, git_env

#: Bump when the way goldpath builds sites changes: every site is rebuilt once.
BUILD_RECIPE = "goldpath-techdocs-1"
CONFIG_NAMES = ("mkdocs.yml", "mkdocs.yaml")
#: Never copied into a build: version control, dependencies, caches, old builds.
SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox"}
    | {".mypy_cache", ".pytest_cache", ".ruff_cache"}
)
_HOSTED_PATH = re.compile(r"/git/([^/]+)/([^/]+)/(blob|tree)/(.+)")
_TREE_URL = re.compile(r"^(?P<repo>.+?)(?:/-)?/(?P<kind>blob|tree)/(?P<ref>[^/]+)/?(?P<path>.*)$")

Kind = Literal["file", "hosted", "git", "reader"]


@dataclass(frozen=True)
class DocsSource:
    """Where one entity's docs are; ``describe()`` says it for people."""

    kind: Kind
    ref_annotation: str
    path: Path | None = None  # file
    owner: str = ""  # hosted
    name: str = ""
    rev: str | None = None  # hosted and git
    inner: str = ""  # hosted and git: the folder inside the repository
    repo: str = ""  # git: what to clone
    url: str = ""  # reader, and hosted/git for Backstage's location metadata

    def describe(self) -> str:
        if self.kind == "file":
            return f"file:{self.path}"
        if self.kind == "hosted":
            return f"git:{self.owner}/{self.name}@{self.rev}:{self.inner or '/'}"
        if self.kind == "git":
            return f"git:{self.repo}@{self.rev or 'default branch'}:{self.inner or '/'}"
        return f"url:{self.url}"

    def location_metadata(self) -> dict[str, str]:
        """Backstage's ``locationMetadata``: ``{type: dir|url, target}``."""
        if self.kind == "file":
            return {"type": "dir", "target": str(self.path)}
        return {"type": "url", "target": self.url}


def _parse_ref(value: str, what: str) -> tuple[str, str]:
    kind, sep, target = value.partition(":")
    if not sep or not target:
        raise InputError(f"{what} {value!r} is not <type>:<target>")
    return kind, target


def _join_inside(base: str, relative: str, where: str) -> str:
    """``base``/``relative`` inside a repository; refused when it climbs above the root."""
    if relative.startswith("/"):
        raise NotAllowedError(f"{where}: {relative} must be a relative path")
    joined = posixpath.normpath(posixpath.join(base or ".", relative or "."))
    if joined == ".." or joined.startswith("../"):
        raise NotAllowedError(f"{where} leaves the repository")
    return "" if joined == "." else joined


def docs_dir_of(config_text: bytes | str) -> str:
    """``docs_dir`` from mkdocs.yml (``docs`` when unset or unreadable)."""
    from goldpath.docs.mkdocs_runner import _RawLoader

    try:
        data = yaml.load(config_text, Loader=_RawLoader)  # noqa: S506 - _RawLoader is a SafeLoader
    except yaml.YAMLError:
        return "docs"
    value = data.get("docs_dir") if isinstance(data, dict) else None
    return value if isinstance(value, str) and value else "docs"


class SourceResolver:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    @property
    def git(self) -> GitService:
        return self.platform.service("git", GitService)

    # ---------------------------------------------------------------- resolve
    def resolve(self, entity: dict[str, Any]) -> DocsSource:
        annotations = (entity.get("metadata") or {}).get("annotations") or {}
        value = annotations.get(ANNOTATION_TECHDOCS_REF)
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"the entity has no {ANNOTATION_TECHDOCS_REF} annotation")
        value = value.strip()
        kind, target = _parse_ref(value, ANNOTATION_TECHDOCS_REF)
        if kind == "url":
            return self._from_url(target, value, folder=True)
        if kind != "dir":
            raise InputError(
                f"{ANNOTATION_TECHDOCS_REF} type {kind!r} is not supported; use dir:<path> "
                "or url:<location>",
            )
        base = annotations.get(ANNOTATION_SOURCE_LOCATION) or annotations.get(ANNOTATION_LOCATION)
        if not isinstance(base, str) or not base:
            raise InputError(
                "dir: needs the entity's location, and this entity has none",
            )
        base_kind, base_target = _parse_ref(base, "location")
        if base_kind == "file":
            return self._from_file(base_target, target, value)
        if base_kind == "url":
            return self._from_url(base_target, value, relative=target)
        if base_kind == "git":
            git = GitTarget.parse(base_target)
            inner = _join_inside(posixpath.dirname(git.path), target, value)
            return self._from_repo(git.repo, git.ref, inner, value)
        raise InputError(
            f"dir: cannot be resolved against a {base_kind!r} location; use url:<location>",
        )

    def _from_file(self, catalog_file: str, relative: str, value: str) -> DocsSource:
        folder = Path(catalog_file).parent.resolve()
        docs = (folder / relative).resolve()
        # Backstage's rule: only targets in the folder of the catalog file (or below it).
        if docs != folder and not docs.is_relative_to(folder):
            raise NotAllowedError(f"dir:{relative} leaves the folder of {catalog_file}")
        get_catalog(self.platform).processor.reader().check_file(str(docs))
        return DocsSource(kind="file", ref_annotation=value, path=docs, url=str(docs))

    def _hosted(self, url: str) -> tuple[str, str, str, str] | None:
        """(owner, name, kind, ``<ref>/<path>``) when ``url`` is this server's hosted git."""
        if find_url_reader(self.platform, url) is None:
            return None
        prefix = urlsplit(self.platform.settings.base_url()).path.rstrip("/")
        path = unquote(urlsplit(url).path)
        if prefix and path.startswith(prefix):
            path = path[len(prefix) :]
        match = _HOSTED_PATH.fullmatch(path)
        if match is None:
            return None
        owner, name, kind, rest = match.groups()
        return owner, name.removesuffix(".git"), kind, rest

    def _from_url(
        self, url: str, value: str, *, relative: str | None = None, folder: bool = False
    ) -> DocsSource:
        if urlsplit(url).scheme not in ("http", "https"):
            raise InputError(f"{url} is not an http(s) URL")
        hosted = self._hosted(url)
        if hosted is not None:
            owner, name, kind, rest = hosted
            ref, inner = self.git.split_ref(owner, name, rest)
            inner = _join_inside("", inner, value)
            is_folder = folder or kind == "tree" or url.endswith("/")
            base = inner if is_folder else posixpath.dirname(inner)
            inner = _join_inside(base, relative, value) if relative is not None else base
            tree_url = f"{self.platform.settings.base_url()}/git/{owner}/{name}/tree/{ref}"
            return DocsSource(
                kind="hosted",
                ref_annotation=value,
                owner=owner,
                name=name,
                rev=ref,
                inner=inner,
                url=f"{tree_url}/{inner}" if inner else tree_url,
            )
        if find_url_reader(self.platform, url) is not None:
            if relative is not None:
                url = url if url.endswith("/") else url.rsplit("/", 1)[0] + "/"
                url = f"{url}{relative}"
            return DocsSource(kind="reader", ref_annotation=value, url=url)
        match = _TREE_URL.match(url)
        if match is None:
            repo, rev, inner = url.rstrip("/"), None, ""
        else:
            repo, rev = match["repo"], match["ref"]
            inner = _join_inside("", match["path"].strip("/"), value)
            if match["kind"] == "blob" and not folder and not url.endswith("/"):
                inner = posixpath.dirname(inner)
        if relative is not None:
            inner = _join_inside(inner, relative, value)
        return self._from_repo(repo, rev, inner, value)

    def _from_repo(self, repo: str, rev: str | None, inner: str, value: str) -> DocsSource:
        # Our own clone URL: read the bare repository instead of cloning from ourselves.
        own = f"{repo.removesuffix('.git')}/tree/{rev or 'HEAD'}/"
        if urlsplit(repo).scheme in ("http", "https") and self._hosted(own) is not None:
            return self._from_url(own + inner, value, folder=True)
        shown = repo if not rev else f"{repo} ({rev})"
        return DocsSource(
            kind="git", ref_annotation=value, repo=repo, rev=rev, inner=inner, url=shown
        )

    # ------------------------------------------------------------ fingerprint
    def fingerprint(self, source: DocsSource, entity: dict[str, Any]) -> str:
        """Changes exactly when mkdocs.yml or its docs folder does (for sources read in
        place); for remote repositories, when the catalog entity does (its etag)."""
        digest = hashlib.blake2b(digest_size=20)
        for part in (BUILD_RECIPE, source.ref_annotation, source.describe()):
            digest.update(part.encode() + b"\0")
        if source.kind == "file":
            assert source.path is not None
            _hash_folder(digest, source.path)
        elif source.kind == "hosted":
            self._hash_hosted(digest, source)
        else:
            etag = (entity.get("metadata") or {}).get("etag") or ""
            digest.update(f"etag:{etag}".encode())
        return digest.hexdigest()

    def _hash_hosted(self, digest: Any, source: DocsSource) -> None:
        assert source.rev is not None
        for config_name in CONFIG_NAMES:
            path = posixpath.join(source.inner, config_name) if source.inner else config_name
            try:
                text = self.git.read_file(source.owner, source.name, source.rev, path)
            except (NotFoundError, InputError):
                continue
            digest.update(config_name.encode() + b"\0" + text + b"\0")
            try:
                docs = _join_inside(source.inner, docs_dir_of(text), "docs_dir")
            except NotAllowedError:
                return
            repo = self.git.existing(source.owner, source.name)
            found = subprocess.run(
                ["git", "rev-parse", "--verify", "--quiet", f"{source.rev}:{docs}"],
                cwd=repo,
                env=git_env(),
                capture_output=True,
                timeout=60,
            )
            digest.update(b"docs:" + found.stdout.strip())
            return
        digest.update(b"no mkdocs.yml")

    # ------------------------------------------------------------ materialise
    def materialize(self, source: DocsSource, dest: Path, *, max_bytes: int) -> list[str]:
        """Copy the docs source into the empty folder ``dest``; returns notes for the log."""
        dest.mkdir(parents=True, exist_ok=True)
        if source.kind == "file":
            assert source.path is not None
            if not source.path.is_dir():
                raise NotFoundError(f"the docs folder {source.path} does not exist")
            return copy_tree(source.path, dest, max_bytes=max_bytes)
        if source.kind == "hosted":
            assert source.rev is not None
            self.git.export_tree(source.owner, source.name, source.rev, source.inner, dest)
            return []
        if source.kind == "reader":
            own = find_url_reader(self.platform, source.url)
            if own is None:
                raise NotFoundError(f"nothing reads {source.url} any more")
            own.read_tree(source.url, dest)
            return []
        with get_catalog(self.platform).processor.reader() as reader:
            checkout = reader.checkout(GitTarget(repo=source.repo, ref=source.rev))
            folder = (checkout / source.inner).resolve()
            if folder != checkout.resolve() and not folder.is_relative_to(checkout.resolve()):
                raise NotAllowedError("the docs folder leaves the repository")
            if not folder.is_dir():
                raise NotFoundError(f"no folder {source.inner or '/'} in {source.repo}")
            return copy_tree(folder, dest, max_bytes=max_bytes)


def _hash_folder(digest: Any, folder: Path) -> None:
    config = next((folder / n for n in CONFIG_NAMES if (folder / n).is_file()), None)
    if config is None:
        digest.update(b"no mkdocs.yml")
        return
    text = config.read_bytes()
    digest.update(config.name.encode() + b"\0" + text + b"\0")
    docs = (folder / docs_dir_of(text)).resolve()
    if not docs.is_dir() or not (docs == folder or docs.is_relative_to(folder.resolve())):
        return
    for path in sorted(_files(docs)):
        digest.update(path.relative_to(docs).as_posix().encode() + b"\0")
        digest.update(hashlib.blake2b(path.read_bytes(), digest_size=20).digest())


def _files(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        found.extend(Path(folder) / n for n in names if (Path(folder) / n).is_file())
    return found


def copy_tree(src: Path, dest: Path, *, max_bytes: int) -> list[str]:
    """Copy ``src`` into ``dest`` without what a build needs no copy of (``SKIP_DIRS``).

    Symbolic links are followed only to files inside ``src`` (copied as plain files); a link
    pointing anywhere else is left out and noted.
    """
    root = src.resolve()
    notes: list[str] = []
    total = 0
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        rel = here.relative_to(root)
        dirs[:] = [
            d
            for d in dirs
            if d not in SKIP_DIRS
            and not (rel == Path(".") and d == "site")
            and not (here / d).is_symlink()
        ]
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for name in names:
            path = here / name
            target = path.resolve() if path.is_symlink() else path
            if path.is_symlink() and not target.is_relative_to(root):
                notes.append(f"left out {(rel / name).as_posix()}: it links outside the source")
                continue
            if not target.is_file():
                continue
            total += target.stat().st_size
            if total > max_bytes:
                raise GoldpathError(
                    f"the docs source is larger than {max_bytes // 1_000_000} MB "
                    "(plugins.techdocs.max_source_mb)"
                )
            shutil.copyfile(target, dest / rel / name)
    return notes
