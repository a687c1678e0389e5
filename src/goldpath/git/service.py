"""Hosted repositories: create, read, publish into, and notice pushes to them.

Repositories are plain bare git repositories under ``<data dir>/git/<owner>/<name>.git``,
driven by the real ``git`` binary, so anything git can do with them works (clone, push,
``git http-backend`` for smart HTTP). Every ref update made through goldpath (a push over
HTTP, a publish from the scaffolder) becomes a ``git.push`` event and a
``goldpath_git_pushed`` hook call.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from goldpath.core.errors import ConflictError, InputError, NotAllowedError, NotFoundError
from goldpath.core.logging import get_logger
from goldpath.git.model import Branch, Repository
from goldpath.git.plumbing import (
    ZERO,
    GitCommandError,
    check_branch,
    check_inner_path,
    check_name,
    check_rev,
    git_env,
    looks_like_sha,
    run_git,
)

if TYPE_CHECKING:
    from goldpath.core.platform import Platform

__all__ = ["ZERO", "GitService", "check_name", "git_env"]

log = get_logger("goldpath.git")

_CREATED = re.compile(r"^\[goldpath\][^\[]*?^\s*created\s*=\s*(\S+)", re.MULTILINE)
_GIT_DEFAULT_DESCRIPTION = "Unnamed repository;"


class GitService:
    """The public face of hosted git; ``platform.services["git"]``."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.root = (platform.settings.data_dir / "git").resolve()
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    # ----------------------------------------------------------------- paths
    def path(self, owner: str, name: str) -> Path:
        """Where ``owner/name`` lives (whether or not it exists); never outside the root."""
        owner, name = check_name(owner, "owner"), check_name(name, "name")
        path = (self.root / owner / f"{name}.git").resolve()
        if path.parent.parent != self.root:
            # Only a symlink planted under the root could get here.
            raise NotAllowedError("repository path leaves the git root", where=f"{owner}/{name}")
        return path

    def existing(self, owner: str, name: str) -> Path:
        path = self.path(owner, name)
        if not (path / "HEAD").is_file():
            raise NotFoundError(
                f"no repository {check_name(owner, 'owner')}/{check_name(name, 'name')}",
                where=f"{owner}/{name}",
            )
        return path

    def lock(self, owner: str, name: str) -> threading.Lock:
        """Held while goldpath changes a repository's refs, so that before/after snapshots
        taken around one change never include another's (within this process)."""
        key = f"{owner}/{name}"
        with self._locks_guard:
            return self._locks.setdefault(key, threading.Lock())

    # ------------------------------------------------------------------ URLs
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
        branch = check_branch(default_branch, where="defaultBranch")
        path = self.path(owner, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir()  # atomic: of two concurrent creates, exactly one wins
        except FileExistsError as exc:
            raise ConflictError(
                f"repository {owner}/{name} already exists", where=f"{owner}/{name}"
            ) from exc
        created = datetime.now(UTC).replace(microsecond=0)
        try:
            # An empty template: no sample hooks to copy, and nothing that could run.
            run_git(
                "init", "--quiet", "--bare", "--template=", f"--initial-branch={branch}", str(path)
            )
            with (path / "config").open("a", encoding="utf-8") as config:
                # Written directly rather than by two more ``git config`` processes.
                config.write(
                    "[http]\n\treceivepack = true\n"
                    f"[goldpath]\n\tcreated = {created.isoformat().replace('+00:00', 'Z')}\n"
                )
            (path / "description").write_text(description.strip() + "\n", encoding="utf-8")
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        self.platform.events.append(
            "git.repository.created",
            subject=f"git:{owner}/{name}",
            data={"owner": owner, "name": name, "defaultBranch": branch},
        )
        return self._repository(owner, name, path)

    def get_repository(self, owner: str, name: str, *, branches: bool = False) -> Repository:
        path = self.existing(owner, name)
        return self._repository(
            check_name(owner, "owner"), check_name(name, "name"), path, branches=branches
        )

    def _repository(
        self, owner: str, name: str, path: Path, *, branches: bool = False
    ) -> Repository:
        head = (path / "HEAD").read_text().strip()
        default = head.removeprefix("ref: refs/heads/") if head.startswith("ref: ") else "main"
        description = _read_text(path / "description")
        if description.startswith(_GIT_DEFAULT_DESCRIPTION):
            description = ""
        created_at = None
        match = _CREATED.search(_read_text(path / "config"))
        if match:
            try:
                created_at = datetime.fromisoformat(match.group(1))
            except ValueError:
                created_at = None
        return Repository(
            owner=owner,
            name=name,
            description=description,
            default_branch=default,
            clone_url=self.clone_url(owner, name),
            contents_url=self.contents_url(owner, name, default),
            created_at=created_at,
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
            except (InputError, NotFoundError, NotAllowedError):
                continue  # a folder someone put there by hand, not one of ours
        return found

    def delete_repository(self, owner: str, name: str) -> None:
        path = self.existing(owner, name)
        owner, name = check_name(owner, "owner"), check_name(name, "name")
        with self.lock(owner, name):
            # Renamed first so that a half-finished delete never looks like a repository.
            doomed = path.with_name(f".deleting-{name}-{threading.get_ident()}")
            path.rename(doomed)
            shutil.rmtree(doomed, ignore_errors=True)
        self.platform.events.append(
            "git.repository.deleted",
            subject=f"git:{owner}/{name}",
            data={"owner": owner, "name": name},
        )

    # ------------------------------------------------------------------ refs
    @staticmethod
    def refs(path: Path) -> dict[str, str]:
        """Every ref of the repository at ``path`` and the object it points at."""
        out = run_git("for-each-ref", "--format=%(refname) %(objectname)", cwd=path)
        refs = {}
        for line in out.decode().splitlines():
            ref, _, sha = line.partition(" ")
            refs[ref] = sha
        return refs

    def record_pushes(
        self,
        owner: str,
        name: str,
        before: dict[str, str],
        after: dict[str, str],
        pusher: str | None = None,
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
            self.platform.events.append(
                "git.push", subject=f"git:{owner}/{name}", data=push, actor=pusher
            )
            pushes.append(push)
        for push in pushes:
            try:
                self.platform.plugins.hook.goldpath_git_pushed(platform=self.platform, push=push)
            except Exception:
                # The push has happened whatever a plugin makes of it.
                log.exception("a git push hook failed", ref=push["ref"], repo=f"{owner}/{name}")
        return pushes

    def split_ref(self, owner: str, name: str, ref_and_path: str) -> tuple[str, str]:
        """``feature/x/docs/index.md`` → (``feature/x``, ``docs/index.md``).

        Like GitHub: the longest branch or tag that prefixes the text wins; else a commit
        sha (or ``HEAD``) as the first segment.
        """
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
        if looks_like_sha(first) or first == "HEAD":
            return first, rest
        raise NotFoundError(f"no branch, tag or commit {first!r} in {owner}/{name}")

    # ------------------------------------------------------------------ reads
    def _object(self, path: Path, ref: str, inner: str) -> tuple[str, bytes] | None:
        """(type, content) of ``ref:inner`` in one ``git cat-file``; ``None`` if missing."""
        spec = f"{check_rev(ref)}:{inner}" if inner else f"{check_rev(ref)}^{{tree}}"
        out = run_git("cat-file", "--batch", cwd=path, data=spec.encode() + b"\n")
        header, _, rest = out.partition(b"\n")
        fields = header.split()
        if len(fields) != 3 or fields[1] == b"missing":
            return None
        size = int(fields[2])
        return fields[1].decode(), rest[:size]

    def read_file(self, owner: str, name: str, ref: str, inner: str) -> bytes:
        """The file ``inner`` at ``ref``; ``NotFoundError`` when there is none."""
        path = self.existing(owner, name)
        inner = check_inner_path(inner)
        found = self._object(path, ref, inner)
        if found is None:
            raise NotFoundError(f"no {inner or '/'} at {ref} in {owner}/{name}", where=inner)
        kind, data = found
        if kind != "blob":
            raise InputError(f"{inner or '/'} is a folder, not a file", where=inner)
        return data

    def list_tree(self, owner: str, name: str, ref: str, inner: str) -> list[dict[str, Any]]:
        """The folder ``inner`` at ``ref``: ``[{path, type: blob|tree|commit, size}]``."""
        path = self.existing(owner, name)
        inner = check_inner_path(inner)
        spec = f"{check_rev(ref)}:{inner}" if inner else check_rev(ref)
        try:
            out = run_git("ls-tree", "-l", "-z", spec, "--", cwd=path)
        except GitCommandError as exc:
            raise NotFoundError(f"no folder {inner or '/'} at {ref} in {owner}/{name}") from exc
        entries = []
        for record in out.decode(errors="surrogateescape").split("\0"):
            if not record:
                continue
            meta, _, entry_name = record.partition("\t")
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
        """Copy the folder (its contents) or the file at ``ref:inner`` into folder ``dest``."""
        path = self.existing(owner, name)
        inner = check_inner_path(inner)
        found = self._object(path, ref, inner)
        if found is None or found[0] not in ("blob", "tree"):
            raise NotFoundError(f"no {inner or '/'} at {ref} in {owner}/{name}", where=inner)
        dest.mkdir(parents=True, exist_ok=True)
        kind, data = found
        if kind == "blob":
            (dest / PurePosixPath(inner).name).write_bytes(data)
            return
        spec = f"{ref}:{inner}" if inner else f"{ref}^{{tree}}"
        # Streamed, not buffered: a tree can be far larger than one file.
        with subprocess.Popen(
            ["git", "archive", "--format=tar", spec],
            cwd=path,
            env=git_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        ) as process:
            assert process.stdout is not None
            try:
                with tarfile.open(fileobj=process.stdout, mode="r|") as archive:
                    for member in archive:
                        # The "data" filter refuses absolute names, ``..`` and links that
                        # point out of ``dest``: a pushed tree is untrusted input.
                        archive.extract(member, dest, filter="data")
            except tarfile.TarError as exc:
                process.kill()
                raise NotAllowedError(
                    f"{inner or '/'} at {ref} in {owner}/{name} cannot be copied: {exc}",
                    where=inner,
                ) from exc
        if process.returncode != 0:
            raise GitCommandError(f"git archive of {spec} in {owner}/{name} failed")

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
        pusher: str | None = None,
    ) -> str:
        """Commit every file of ``source`` onto ``branch``; returns the new commit's sha.

        The first commit of a new branch, else a commit on top of it. ``.gitignore`` files in
        ``source`` are honoured. The index lives in a temporary folder and objects go straight
        into the bare repository, so ``source`` is left without a ``.git`` and nothing is
        cloned or pushed: four short git processes in all.
        """
        target = self.existing(owner, name)
        owner, name = check_name(owner, "owner"), check_name(name, "name")
        branch = check_branch(branch)
        source = Path(source).resolve()
        if not source.is_dir():
            raise InputError(f"{source} is not a folder", where="source")
        ref = f"refs/heads/{branch}"
        identity = {
            "GIT_AUTHOR_NAME": author_name or "goldpath",
            "GIT_AUTHOR_EMAIL": author_email or "goldpath@localhost",
            "GIT_COMMITTER_NAME": author_name or "goldpath",
            "GIT_COMMITTER_EMAIL": author_email or "goldpath@localhost",
        }
        with (
            self.lock(owner, name),
            tempfile.TemporaryDirectory(prefix="goldpath-publish-") as tmp,
        ):
            env = git_env(GIT_DIR=str(target), GIT_INDEX_FILE=str(Path(tmp) / "index"), **identity)
            old = self.refs(target).get(ref)
            run_git("--work-tree", str(source), "add", "--all", "--", ".", cwd=source, env=env)
            tree = run_git("write-tree", env=env).decode().strip()
            parents = ["-p", old] if old else []
            sha = (
                run_git("commit-tree", tree, *parents, "-F", "-", env=env, data=message.encode())
                .decode()
                .strip()
            )
            try:
                # Compare-and-swap: a push that moved the branch meanwhile is not overwritten.
                run_git("update-ref", ref, sha, old or ZERO, env=env)
            except GitCommandError as exc:
                raise ConflictError(
                    f"branch {branch} of {owner}/{name} changed while publishing; try again",
                    where=f"{owner}/{name}",
                ) from exc
        self.record_pushes(owner, name, {ref: old} if old else {}, {ref: sha}, pusher)
        return sha


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return ""
