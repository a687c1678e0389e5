"""Turn a workspace folder into a first commit and push it to a remote over HTTP(S).

The token travels in an ``http.extraHeader`` set through ``GIT_CONFIG_COUNT`` /
``GIT_CONFIG_KEY_n`` / ``GIT_CONFIG_VALUE_n``: never in argv (visible in ``ps``), a URL or a
config file. The commit is built in a temporary ``GIT_DIR``, so the folder is left without a
``.git``. Whatever git prints is scrubbed of the token before it reaches an error message.
"""

from __future__ import annotations

import base64
import os
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from goldpath.core.errors import GoldpathError
from goldpath.core.gitenv import git_env

PUSH_TIMEOUT = 300.0
#: What git prints when the server turned the credentials down.
_REFUSED = (
    "authentication failed",
    "could not read username",
    "could not read password",
    "returned error: 401",
    "returned error: 403",
)


class GitPushError(GoldpathError):
    status_code = 502
    title = "git push failed"


def basic_auth_header(username: str, token: str) -> str:
    """``Authorization: Basic base64(username:token)``: how Backstage's git client logs in."""
    encoded = base64.b64encode(f"{username}:{token}".encode()).decode("ascii")
    return f"Authorization: Basic {encoded}"


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every secret (longest first, so none is left half-replaced) masked."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def init_and_push(
    source: Path,
    remote_url: str,
    *,
    branch: str,
    message: str,
    author_name: str,
    author_email: str,
    username: str,
    token: str | None,
    timeout: float = PUSH_TIMEOUT,
) -> str:
    """Commit every file of ``source`` (``.gitignore`` respected) on ``branch``, push it to
    ``remote_url`` and return the commit sha. ``username`` is what the host expects beside a
    token: ``x-access-token`` for GitHub, ``oauth2`` for GitLab.
    """
    parts = urlsplit(remote_url)
    if parts.scheme not in ("http", "https") or "@" in parts.netloc:
        # Credentials in the URL would land in argv; the token goes in a header instead.
        raise GitPushError("the remote must be an http(s) URL without credentials in it")
    secrets: list[str] = []
    settings: list[tuple[str, str]] = [
        # With the global and system config ignored too (below), nothing of the user's or
        # the machine's git config applies: no url.insteadOf rewrite can carry the header
        # elsewhere, no credential helper can store the token, no hook runs, no signing
        # prompt hangs the push.
        ("credential.helper", ""),
        ("core.hooksPath", os.devnull),
        ("commit.gpgSign", "false"),
    ]
    if token:
        header = basic_auth_header(username, token)
        secrets = [token, header, header.split(" ")[-1]]
        # Scoped to the remote's origin so a redirect to another host never gets it.
        settings.append((f"http.{_origin(remote_url)}.extraHeader", header))

    with tempfile.TemporaryDirectory(prefix="goldpath-push-") as git_dir:
        env = git_env()
        for key in [k for k in env if k.startswith(("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_"))]:
            del env[key]
        env.update(
            {
                "GIT_DIR": git_dir,
                "GIT_WORK_TREE": str(source),
                "GIT_AUTHOR_NAME": author_name,
                "GIT_AUTHOR_EMAIL": author_email,
                "GIT_COMMITTER_NAME": author_name,
                "GIT_COMMITTER_EMAIL": author_email,
                "GIT_CONFIG_COUNT": str(len(settings)),
            }
        )
        for index, (key, value) in enumerate(settings):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value

        def git(*args: str) -> str:
            what = f"git {args[0]}" + (f" to {remote_url}" if args[0] == "push" else "")
            try:
                result = subprocess.run(
                    ["git", *args],
                    cwd=source,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=timeout,
                    check=True,
                )
            except subprocess.CalledProcessError as exc:
                output = scrub(f"{exc.stderr or ''}\n{exc.stdout or ''}", secrets)
                lines = [line.strip() for line in output.splitlines() if line.strip()]
                if args[0] == "push" and any(
                    marker in line.lower() for line in lines for marker in _REFUSED
                ):
                    raise GitPushError(
                        f"{what} failed: the server refused the credentials (check the "
                        "token and its permissions)"
                    ) from None
                detail = "; ".join(lines[-3:]) if lines else f"exit status {exc.returncode}"
                raise GitPushError(f"{what} failed: {detail}") from None
            except subprocess.TimeoutExpired:
                raise GitPushError(f"{what} took more than {timeout:g} seconds") from None
            return result.stdout

        git("init", "--quiet", "--template=", f"--initial-branch={branch}")
        git("add", "--all", ".")
        git("commit", "--quiet", "--allow-empty", "--no-verify", "-m", message)
        sha = git("rev-parse", "HEAD").strip()
        git("push", "--quiet", remote_url, f"HEAD:refs/heads/{branch}")
        return sha
