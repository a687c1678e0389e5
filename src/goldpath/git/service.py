"""Hosted repositories: create, read, publish into, and notice pushes to them.

Repositories are plain bare git repositories under ``<data dir>/git/<owner>/<name>.git``,
driven by the real ``git`` binary, so anything git can do with them works (clone, push,
``git http-backend`` for smart HTTP). Every ref update made through goldpath (a push over
HTTP, a publish from the scaffolder) becomes a ``git.push`` event.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from goldpath.core.errors import ConflictError, InputError, NotAllowedError, NotFoundError
from goldpath.core.logging import get_logger
from goldpath.git.model import Branch, Repository

if TYPE_CHECKING:
    from goldpath.core.platform import Platform

log = get_logger("goldpath.git")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
ZERO = "0" * 40
GIT_TIMEOUT = 120


def git_env(**extra: str) -> dict[str, str]:
    """No prompts, no system or global config, only plain transports."""
    return {
        **os.environ,
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_ALLOW_PROTOCOL": "http:https:file",
        **extra,
    }


def run_git(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    data: bytes | None = None,
) -> bytes:
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env or git_env(),
            input=data,
            capture_output=True,
            timeout=GIT_TIMEOUT,
            check=True,
        )
    except subprocess.CalledProcessError as exc:
        message = exc.stderr.decode(errors="replace").strip().splitlines()
        raise GitCommandError(message[-1] if message else f"git {args[0]} failed") from exc
    return result.stdout


class GitCommandError(InputError):
    title = "git failed"


def check_name(value: str, what: str) -> str:
    text = str(value or "")
    if text.endswith(".git"):
        text = text[:-4]
    if not _NAME.match(text) or ".." in text:
        raise InputError(
            f"invalid {what} {value!r}: letters, digits, '.', '_' and '-', starting with a "
            "letter or digit, at most 100 characters",
            where=what,
        )
    return text


class GitService:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.root = (platform.settings.data_dir / "git").resolve()

    # ----------------------------------------------------------------- paths
    def path(self, owner: str, name: str) -> Path:
        owner, name = check_name(owner, "owner"), check_name(name, "name")
        path = (self.root / owner / f"{name}.git").resolve()
        if not path.is_relative_to(self.root):
            raise NotAllowedError("repository path escapes the git root", where=f"{owner}/{name}")
        return path

    def existing(self, owner: str, name: str) -> Path:
        path = self.path(owner, name)
        if not (path / "HEAD").is_file():
            raise NotFoundError(f"no repository {owner}/{name}", where=f"{owner}/{name}")
        return path

    def base_url(self) -> str:
        return self.platform.settings.base_url()

    def clone_url(self, owner: str, name: str) -> str:
        return f"{self.base_url()}/git/{owner}/{name}.git"

    def contents_url(self, owner: str, name: str, branch: str) -> str:
        return f"{self.base_url()}/git/{owner}/{name}/blob/{branch}"

    # ----------------------------------------------------------- repositories
    def create_repository(
        self, owner: str, name: str, *, description: str = "", default_branch: str = "main"
    ) -> Repository:
        owner, name = check_name(owner, "owner"), check_name(name, "name")
        branch = self._check_branch(default_branch)
        path = self.path(owner, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir()  # atomic: of two concurrent creates, one wins
        except FileExistsError as exc:
            raise ConflictError(
                f"repository {owner}/{name} already exists", where=f"{owner}/{name}"
            ) from exc
        try:
            run_git("init", "--quiet", "--bare", f"--initial-branch={branch}", str(path))
            run_git("config", "http.receivepack", "true", cwd=path)
            (path / "description").write_text((description or "").strip() + "\n")
        except Exception:
            shutil.rmtree(path, ignore_errors=True)
            raise
        self.platform.events.append(
            "git.repository.created",
            subject=f"git:{owner}/{name}",
            data={"owner": owner, "name": name, "defaultBranch": branch},
        )
        return self.get_repository(owner, name)

    @staticmethod
    def _check_branch(branch: str) -> str:
        try:
            run_git("check-ref-format", "--branch", branch)
        except GitCommandError as exc:
            raise InputError(f"invalid branch name {branch!r}", where="defaultBranch") from exc
        return branch

    def get_repository(self, owner: str, name: str, *, branches: bool = False) -> Repository:
        path = self.existing(owner, name)
        owner, name = check_name(owner, "owner"), check_name(name, "name")
        head = (path / "HEAD").read_text().strip()
        default = head.removeprefix("ref: refs/heads/") if head.startswith("ref: ") else "main"
        description_file = path / "description"
        description = description_file.read_text().strip() if description_file.exists() else ""
        if description.startswith("Unnamed repository;"):
            description = ""
        return Repository(
            owner=owner,
            name=name,
            description=description,
            default_branch=default,
            clone_url=self.clone_url(owner, name),
            contents_url=self.contents_url(owner, name, default),
            branches=[
                Branch(name=ref.removeprefix("refs/heads/"), head=sha)
                for ref, sha in sorted(self.refs(path).items())
                if ref.startswith("refs/heads/")
            ]
            if branches
            else None,
        )

    def list_repositories(self) -> list[Repository]:
        if not self.root.is_dir():
            return []
        found = []
        for head in sorted(self.root.glob("*/*.git/HEAD")):
            repo = head.parent
            try:
                found.append(self.get_repository(repo.parent.name, repo.name[:-4]))
            except (InputError, NotFoundError):
                continue
        return found

    def delete_repository(self, owner: str, name: str) -> None:
        path = self.existing(owner, name)
        shutil.rmtree(path)
        self.platform.events.append(
            "git.repository.deleted",
            subject=f"git:{owner}/{name}",
            data={"owner": owner, "name": name},
        )

    # ------------------------------------------------------------------ refs
    @staticmethod
    def refs(path: Path) -> dict[str, str]:
        out = run_git("for-each-ref", "--format=%(refname) %(objectname)", cwd=path)
        refs = {}
        for line in out.decode().splitlines():
            ref, _, sha = line.partition(" ")
            refs[ref] = sha
        return refs

    def record_pushes(
        self, owner: str, name: str, before: dict[str, str], after: dict[str, str], pusher: str
    ) -> list[dict[str, Any]]:
        """One ``git.push`` event (and ``goldpath_git_pushed`` hook call) per changed ref."""
        pushes = []
        for ref in sorted(set(before) | set(after)):
            old, new = before.get(ref, ZERO), after.get(ref, ZERO)
            if old == new:
                continue
            push = {
                "owner": owner,
                "name": name,
                "ref": ref,
                "before": old,
                "after": new,
                "created": old == ZERO,
                "deleted": new == ZERO,
                "pusher": pusher,
            }
            self.platform.events.append("git.push", subject=f"git:{owner}/{name}", data=push)
            pushes.append(push)
        for push in pushes:
            try:
                self.platform.plugins.hook.goldpath_git_pushed(platform=self.platform, push=push)
            except Exception:
                log.exception("a git push hook failed", ref=push["ref"], repo=f"{owner}/{name}")
        return pushes

    def split_ref(self, owner: str, name: str, ref_and_path: str) -> tuple[str, str]:
        """``feature/x/docs/index.md`` → (``feature/x``, ``docs/index.md``): like GitHub, the
        longest branch or tag that prefixes the text wins; a commit sha works too."""
        path = self.existing(owner, name)
        text = ref_and_path.strip("/")
        names = sorted(
            (
                ref.removeprefix("refs/heads/").removeprefix("refs/tags/")
                for ref in self.refs(path)
                if ref.startswith(("refs/heads/", "refs/tags/"))
            ),
            key=len,
            reverse=True,
        )
        for candidate in names:
            if text == candidate or text.startswith(candidate + "/"):
                return candidate, text[len(candidate) :].strip("/")
        first, _, rest = text.partition("/")
        if re.fullmatch(r"[0-9a-fA-F]{7,40}", first):
            return first, rest
        raise NotFoundError(f"no branch, tag or commit {first!r} in {owner}/{name}")

    @staticmethod
    def _check_path(inner: str) -> str:
        pure = PurePosixPath(inner or "")
        if pure.is_absolute() or ".." in pure.parts:
            raise NotAllowedError(f"invalid path {inner!r}", where="path")
        return pure.as_posix() if inner else ""

    # ------------------------------------------------------------------ reads
    def read_file(self, owner: str, name: str, ref: str, inner: str) -> bytes:
        path = self.existing(owner, name)
        inner = self._check_path(inner)
        spec = f"{ref}:{inner}"
        try:
            kind = run_git("cat-file", "-t", spec, cwd=path).decode().strip()
        except GitCommandError as exc:
            raise NotFoundError(f"no {inner or '/'} at {ref} in {owner}/{name}") from exc
        if kind != "blob":
            raise InputError(f"{inner or '/'} is a folder, not a file", where=inner)
        return run_git("cat-file", "blob", spec, cwd=path)

    def list_tree(self, owner: str, name: str, ref: str, inner: str) -> list[dict[str, Any]]:
        path = self.existing(owner, name)
        inner = self._check_path(inner)
        spec = f"{ref}:{inner}" if inner else ref
        try:
            out = run_git("ls-tree", "-l", spec, cwd=path)
        except GitCommandError as exc:
            raise NotFoundError(f"no folder {inner or '/'} at {ref} in {owner}/{name}") from exc
        entries = []
        for line in out.decode().splitlines():
            meta, _, entry_name = line.partition("\t")
            _mode, kind, _sha, size = meta.split()
            entries.append(
                {
                    "path": f"{inner}/{entry_name}" if inner else entry_name,
                    "type": kind,
                    "size": int(size) if size.isdigit() else None,
                }
            )
        return entries

    def export_tree(self, owner: str, name: str, ref: str, inner: str, dest: Path) -> None:
        """Copy the folder (or file) at ``ref:inner`` into ``dest``."""
        path = self.existing(owner, name)
        inner = self._check_path(inner)
        args = ["archive", "--format=tar", ref]
        if inner:
            args.append(inner)
        try:
            data = run_git(*args, cwd=path)
        except GitCommandError as exc:
            raise NotFoundError(f"no {inner or '/'} at {ref} in {owner}/{name}") from exc
        dest = dest.resolve()
        prefix = inner.rstrip("/") + "/" if inner else ""
        single_file = False
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            members = archive.getmembers()
            if inner and len(members) == 1 and members[0].name == inner and members[0].isfile():
                single_file = True
            for member in members:
                if single_file:
                    relative = PurePosixPath(member.name).name
                elif prefix:
                    if not member.name.startswith(prefix):
                        continue
                    relative = member.name[len(prefix) :]
                else:
                    relative = member.name
                if not relative or member.name == "pax_global_header":
                    continue
                member.name = relative
                archive.extract(member, dest, filter="data")

    # ---------------------------------------------------------------- publish
    def publish_directory(
        self,
        owner: str,
        name: str,
        source: Path,
        *,
        branch: str,
        message: str,
        author_name: str,
        author_email: str,
        pusher: str = "goldpath",
    ) -> str:
        """Commit every file of ``source`` onto ``branch`` and push it; returns the commit.

        The commit is built in a temporary git dir, so ``source`` is left without a ``.git``.
        """
        target = self.existing(owner, name)
        branch = self._check_branch(branch)
        before = self.refs(target)
        with tempfile.TemporaryDirectory(prefix="goldpath-publish-") as tmp:
            env = git_env(
                GIT_DIR=tmp,
                GIT_WORK_TREE=str(source),
                GIT_AUTHOR_NAME=author_name,
                GIT_AUTHOR_EMAIL=author_email,
                GIT_COMMITTER_NAME=author_name,
                GIT_COMMITTER_EMAIL=author_email,
            )
            run_git("init", "--quiet", f"--initial-branch={branch}", env=env)
            existing = before.get(f"refs/heads/{branch}")
            if existing:
                run_git("fetch", "--quiet", str(target), branch, env=env)
                run_git("update-ref", f"refs/heads/{branch}", existing, env=env)
            run_git("add", "--all", ".", env=env, cwd=source)
            run_git("commit", "--quiet", "--allow-empty", "-m", message, env=env, cwd=source)
            sha = run_git("rev-parse", "HEAD", env=env).decode().strip()
            run_git("push", "--quiet", str(target), f"HEAD:refs/heads/{branch}", env=env)
        self.record_pushes(owner, name, before, self.refs(target), pusher)
        return sha
