"""Reading location targets: files under configured roots, allow-listed URLs, git repositories.

Every target is a ``Source``: where a document came from, so that relative references inside
it (nested ``Location`` targets, ``$text`` placeholders) resolve against it.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import urljoin, urlsplit

import httpx

from goldpath.core.config import Settings
from goldpath.core.errors import InputError, NotAllowedError, NotFoundError
from goldpath.core.gitenv import clone_env
from goldpath.core.urlreaders import UrlReader

LOCATION_TYPES = ("file", "url", "git")
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class Source:
    """A single readable document: ``type`` file|url|git and its canonical ``target``."""

    type: str
    target: str

    def __str__(self) -> str:
        return f"{self.type}:{self.target}"


@dataclass(frozen=True)
class GitTarget:
    """``REPO[//PATH][?ref=REF]``: the repository, a path (or glob) inside it, a ref."""

    repo: str
    path: str = "catalog-info.yaml"
    ref: str | None = None

    @classmethod
    def parse(cls, target: str) -> GitTarget:
        rest, ref = target, None
        if "?ref=" in rest:
            rest, ref = rest.rsplit("?ref=", 1)
        scheme_end = rest.find("://")
        search_from = scheme_end + 3 if scheme_end >= 0 else 0
        split = rest.find("//", search_from)
        repo, path = (rest[:split], rest[split + 2 :]) if split >= 0 else (rest, "")
        if not repo:
            raise InputError("git target has no repository", where=target)
        path = path.strip("/") or "catalog-info.yaml"
        if ".." in PurePosixPath(path).parts:
            raise InputError("git path may not contain '..'", where=target)
        return cls(repo=repo, path=path, ref=ref or None)

    def format(self) -> str:
        text = f"{self.repo}//{self.path}"
        return f"{text}?ref={self.ref}" if self.ref else text

    def with_path(self, path: str) -> GitTarget:
        return GitTarget(repo=self.repo, path=path, ref=self.ref)


def host_allowed(url: str, allowlist: list[str]) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    host = parts.hostname.lower()
    netloc = f"{host}:{parts.port}" if parts.port else host
    for pattern in allowlist:
        pattern = pattern.lower().strip()
        if not pattern:
            continue
        # A pattern without a port allows every port on that host.
        candidate = netloc if ":" in pattern else host
        if fnmatch.fnmatchcase(candidate, pattern):
            return True
    return False


def _is_under(path: Path, roots: list[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


@dataclass
class Reader:
    """Reads sources for one processing run; git checkouts are cached for the run."""

    settings: Settings
    #: Readers for URLs goldpath serves itself (hosted git): asked first, need no allowlist.
    url_readers: list[UrlReader] = field(default_factory=list)
    _checkouts: dict[tuple[str, str | None], Path] = field(default_factory=dict)
    _tmp: list[str] = field(default_factory=list)

    # ----------------------------------------------------------------- checks
    def check_file(self, path_text: str) -> Path:
        """Resolve a path (following symlinks) and require it under a configured root."""
        path = Path(path_text).expanduser()
        resolved = path.resolve()
        roots = self.settings.catalog_file_roots()
        if not _is_under(resolved, roots):
            raise NotAllowedError(
                f"{resolved} is outside the catalog file roots "
                f"({os.pathsep.join(str(r) for r in roots)}); "
                "add its folder to catalog.file_roots / GOLDPATH_CATALOG_FILE_ROOTS",
                where=path_text,
            )
        return resolved

    def _url_reader(self, url: str) -> UrlReader | None:
        return next((r for r in self.url_readers if r.handles(url)), None)

    def check_url(self, url: str) -> None:
        if self._url_reader(url) is not None:
            return
        if urlsplit(url).scheme not in ("http", "https"):
            raise InputError("only http and https URLs can be read", where=url)
        if not host_allowed(url, self.settings.catalog.url_allowlist):
            host = urlsplit(url).netloc
            raise NotAllowedError(
                f"host {host} is not in catalog.url_allowlist, so goldpath will not fetch it",
                where=url,
            )

    def check_target(self, type_: str, target: str) -> None:
        """Raise if the target may not be read at all (before registering it)."""
        if type_ not in LOCATION_TYPES:
            raise InputError(
                f"unknown location type {type_!r}; expected one of {', '.join(LOCATION_TYPES)}"
            )
        if type_ == "file":
            self.check_file(target)
        elif type_ == "url":
            self.check_url(target)
        else:
            self._check_repo(GitTarget.parse(target).repo)

    def _check_repo(self, repo: str) -> None:
        scheme = urlsplit(repo).scheme
        if scheme in ("http", "https"):
            self.check_url(repo)
        elif scheme in ("", "file"):
            self.check_file(repo[len("file://") :] if scheme == "file" else repo)
        else:
            raise InputError(f"git repositories are read over http(s) or from a path, not {scheme}")

    # ----------------------------------------------------------------- expand
    def expand(self, type_: str, target: str) -> list[Source]:
        """The documents a target names: a glob expands to every matching file."""
        if type_ == "file":
            if _GLOB_CHARS & set(target):
                matches = sorted(glob.glob(str(Path(target).expanduser()), recursive=True))
                files = [m for m in matches if Path(m).is_file()]
                return [Source("file", str(self.check_file(m))) for m in files]
            path = self.check_file(target)
            if not path.is_file():
                raise NotFoundError(f"no file at {path}", where=target)
            return [Source("file", str(path))]
        if type_ == "url":
            self.check_url(target)
            return [Source("url", target)]
        if type_ == "git":
            git = GitTarget.parse(target)
            checkout = self._checkout(git)
            if _GLOB_CHARS & set(git.path):
                found = sorted(
                    p.relative_to(checkout).as_posix()
                    for p in checkout.glob(git.path)
                    if p.is_file() and ".git" not in p.relative_to(checkout).parts
                )
                return [Source("git", git.with_path(p).format()) for p in found]
            return [Source("git", git.format())]
        raise InputError(f"unknown location type {type_!r}")

    # ----------------------------------------------------------------- read
    def read(self, source: Source) -> bytes:
        if source.type == "file":
            path = self.check_file(source.target)
            try:
                return path.read_bytes()
            except FileNotFoundError as exc:
                raise NotFoundError(f"no file at {path}", where=str(source)) from exc
            except IsADirectoryError as exc:
                raise InputError(f"{path} is a folder, not a file", where=str(source)) from exc
        if source.type == "url":
            return self._fetch(source.target)
        if source.type == "git":
            git = GitTarget.parse(source.target)
            checkout = self._checkout(git)
            path = (checkout / git.path).resolve()
            if not path.is_relative_to(checkout.resolve()):
                raise NotAllowedError("path escapes the repository", where=str(source))
            if not path.is_file():
                raise NotFoundError(
                    f"no file {git.path} in {git.repo} at {git.ref or 'the default branch'}",
                    where=str(source),
                )
            return path.read_bytes()
        raise InputError(f"unknown location type {source.type!r}")

    def _fetch(self, url: str) -> bytes:
        own = self._url_reader(url)
        if own is not None:
            return own.read(url)
        self.check_url(url)
        timeout = self.settings.catalog.fetch_timeout_seconds
        try:
            with httpx.Client(timeout=timeout, follow_redirects=False) as client:
                current = url
                for _ in range(5):
                    response = client.get(current)
                    if response.is_redirect and "location" in response.headers:
                        current = urljoin(current, response.headers["location"])
                        self.check_url(current)  # a redirect may not leave the allowlist
                        continue
                    break
        except httpx.HTTPError as exc:
            raise NotFoundError(f"could not fetch {url}: {exc}", where=url) from exc
        if response.status_code == 404:
            raise NotFoundError(f"{url} answered 404 Not Found", where=url)
        if response.status_code >= 400:
            raise InputError(f"{url} answered HTTP {response.status_code}", where=url)
        return response.content

    def checkout(self, git: GitTarget) -> Path:
        """A shallow clone of the target's repository at its ref (cached for this reader)."""
        return self._checkout(git)

    def _checkout(self, git: GitTarget) -> Path:
        key = (git.repo, git.ref)
        if key in self._checkouts:
            return self._checkouts[key]
        self._check_repo(git.repo)
        tmp = tempfile.mkdtemp(prefix="goldpath-git-")
        self._tmp.append(tmp)
        dest = Path(tmp) / "repo"
        cmd = ["git", "clone", "--quiet", "--depth", "1"]
        if git.ref:
            cmd += ["--branch", git.ref]
        cmd += ["--", git.repo, str(dest)]
        env = clone_env()
        try:
            subprocess.run(
                cmd,
                check=True,
                capture_output=True,
                env=env,
                timeout=self.settings.catalog.fetch_timeout_seconds * 3,
            )
        except subprocess.CalledProcessError as exc:
            message = exc.stderr.decode(errors="replace").strip().splitlines()
            raise NotFoundError(
                f"git clone of {git.repo} failed: {message[-1] if message else exc}",
                where=git.format(),
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise NotFoundError(f"git clone of {git.repo} timed out", where=git.format()) from exc
        self._checkouts[key] = dest
        return dest

    # ----------------------------------------------------------------- relative
    def resolve_relative(self, base: Source, ref: str, *, type_hint: str | None = None) -> Source:
        """Resolve ``ref`` (as written in a document from ``base``) to a source."""
        scheme = urlsplit(ref).scheme
        if scheme in ("http", "https"):
            return Source(type_hint if type_hint in ("url", "git") else "url", ref)
        if base.type == "file":
            if os.path.isabs(ref):
                return Source("file", ref)
            return Source("file", os.path.normpath(os.path.join(os.path.dirname(base.target), ref)))
        if base.type == "url":
            return Source("url", urljoin(base.target, ref))
        if base.type == "git":
            git = GitTarget.parse(base.target)
            joined = os.path.normpath(
                os.path.join(
                    os.path.dirname(git.path), ref.lstrip("/") if ref.startswith("/") else ref
                )
            )
            if joined.startswith(".."):
                raise NotAllowedError(f"{ref} points outside the repository", where=str(base))
            return Source("git", git.with_path(joined).format())
        raise InputError(f"cannot resolve {ref} relative to {base}")

    def close(self) -> None:
        for tmp in self._tmp:
            shutil.rmtree(tmp, ignore_errors=True)
        self._tmp.clear()
        self._checkouts.clear()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
