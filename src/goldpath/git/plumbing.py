"""Running ``git`` and checking the names that reach it.

Every name that ends up in a path or on a git command line passes one of the ``check_*``
functions first: nothing a caller sends can become an option (``-x``), leave the git root
(``..``, ``/``) or mean something else to git (``a..b``, ``ref:path``).
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path, PurePosixPath

from goldpath.core.errors import GoldpathError, InputError, NotAllowedError
from goldpath.core.gitenv import git_env

#: The old or new value of a ref that does not exist (git's own convention).
ZERO = "0" * 40
GIT_TIMEOUT = 300

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# What git forbids anywhere in a ref name (``git help check-ref-format``), ``:`` included:
# that also keeps a ref from splitting a ``<ref>:<path>`` object name in two.
_REF_FORBIDDEN = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")
_SHA = re.compile(r"[0-9a-fA-F]{7,40}")


class GitCommandError(GoldpathError):
    """A git command failed in a way the caller did not anticipate."""

    title = "git failed"


def run_git(
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    data: bytes | None = None,
) -> bytes:
    """``git <args>``'s standard output; ``GitCommandError`` with git's last line on failure."""
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
        lines = exc.stderr.decode(errors="replace").strip().splitlines()
        raise GitCommandError(lines[-1] if lines else f"git {args[0]} failed") from exc
    except subprocess.TimeoutExpired as exc:
        raise GitCommandError(f"git {args[0]} took longer than {GIT_TIMEOUT}s") from exc
    return result.stdout


def check_name(value: str, what: str) -> str:
    """An owner or repository name, without a trailing ``.git``."""
    text = str(value or "")
    if text.endswith(".git"):
        text = text[:-4]
    if not _NAME.fullmatch(text) or ".." in text:
        raise InputError(
            f"invalid {what} {value!r}: letters, digits, '.', '_' and '-', starting with a "
            "letter or digit, at most 100 characters",
            where=what,
        )
    return text


def check_branch(branch: str, *, where: str = "branch") -> str:
    """A branch name git accepts (the rules of ``git check-ref-format --branch``).

    Checked here rather than by running git: it is on the scaffolder's hot path.
    """
    text = str(branch or "")
    parts = text.split("/")
    if (
        not text
        or len(text) > 255
        or text in ("@", "HEAD")
        or text.startswith(("-", "/"))
        or text.endswith(("/", "."))
        or _REF_FORBIDDEN.search(text)
        or any(not p or p.startswith(".") or p.endswith(".lock") for p in parts)
    ):
        raise InputError(f"invalid branch name {branch!r}", where=where)
    return text


def check_rev(rev: str) -> str:
    """A branch, tag or commit to read at: never an option, a range or ``<ref>:<path>``."""
    text = str(rev or "")
    if not text or text.startswith("-") or _REF_FORBIDDEN.search(text):
        raise InputError(f"invalid ref {rev!r}", where="ref")
    return text


def looks_like_sha(text: str) -> bool:
    return bool(_SHA.fullmatch(text))


def check_inner_path(inner: str) -> str:
    """A path inside a repository: relative, no ``..``; ``""`` is the root."""
    text = str(inner or "").rstrip("/")
    if any(c in text for c in "\x00\n\r"):
        raise InputError(f"invalid path {inner!r}", where="path")
    pure = PurePosixPath(text)
    if pure.is_absolute() or ".." in pure.parts:
        raise NotAllowedError(f"path {inner!r} leaves the repository", where="path")
    return "" if text in ("", ".") else pure.as_posix()
