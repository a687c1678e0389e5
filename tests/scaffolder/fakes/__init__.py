"""HTTP fakes of GitHub and GitLab for the publish actions' tests.

Each fake is a real HTTP server on a free loopback port (a Starlette app under Uvicorn in a
thread) shaped after the host's public REST documentation, and it serves the repositories it
creates over git's smart HTTP protocol through ``git http-backend``, so a push really lands and
a test can clone the result. Only GitHub and GitLab are faked; goldpath's own code runs as is.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


@dataclass
class Recorded:
    """One request the fake answered."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int
    headers: dict[str, str] = field(default_factory=dict)


class FakeHost:
    """Shared plumbing: the server thread, request log, bare repositories and git over HTTP."""

    realm = "fake"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.git_root = root / "git"
        self.git_root.mkdir(parents=True, exist_ok=True)
        self.requests: list[Recorded] = []
        self.lock = threading.RLock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0

    # ------------------------------------------------------------------ server
    def app(self) -> Starlette:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            assert not self._thread.is_alive(), "fake server did not stop"
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeHost:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---------------------------------------------------------------- requests
    async def record(self, request: Request, status: int, body: Any = None) -> None:
        with self.lock:
            self.requests.append(
                Recorded(
                    method=request.method,
                    path=request.url.path,
                    query=dict(request.query_params),
                    body=body,
                    status=status,
                    headers=dict(request.headers),
                )
            )

    def calls(self, method: str, path_prefix: str = "") -> list[Recorded]:
        with self.lock:
            return [
                r for r in self.requests if r.method == method and r.path.startswith(path_prefix)
            ]

    @staticmethod
    async def json_body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    @staticmethod
    def basic_password(request: Request) -> tuple[str, str] | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return None
        return user, password

    # --------------------------------------------------------------------- git
    def bare_repo(self, full_path: str) -> Path:
        return self.git_root / f"{full_path}.git"

    def init_bare(self, full_path: str, head: str = "main") -> Path:
        path = self.bare_repo(full_path)
        path.parent.mkdir(parents=True, exist_ok=True)
        run_git("init", "--quiet", "--bare", f"--initial-branch={head}", str(path))
        return path

    def branches(self, full_path: str) -> list[str]:
        out = run_git(
            "for-each-ref",
            "--format=%(refname:short)",
            "refs/heads/",
            cwd=self.bare_repo(full_path),
        )
        return [line for line in out.splitlines() if line]

    def on_pushed(self, full_path: str) -> None:
        """After a push: a new repository's default branch is the first one pushed."""
        path = self.bare_repo(full_path)
        branches = self.branches(full_path)
        head = run_git("symbolic-ref", "HEAD", cwd=path).strip().removeprefix("refs/heads/")
        if branches and head not in branches:
            run_git("symbolic-ref", "HEAD", f"refs/heads/{branches[0]}", cwd=path)

    async def git_http(self, request: Request, full_path: str, rest: str, user: str) -> Response:
        """One smart-HTTP exchange through ``git http-backend`` (CGI)."""
        body = await request.body()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_PROJECT_ROOT": str(self.git_root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": f"/{full_path}.git/{rest}",
            "REQUEST_METHOD": request.method,
            "QUERY_STRING": request.url.query,
            "CONTENT_TYPE": request.headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": user,
            "REMOTE_ADDR": "127.0.0.1",
        }
        if "content-encoding" in request.headers:
            env["HTTP_CONTENT_ENCODING"] = request.headers["content-encoding"]
        if "git-protocol" in request.headers:
            env["GIT_PROTOCOL"] = request.headers["git-protocol"]
        result = await asyncio.to_thread(
            subprocess.run,
            ["git", "http-backend"],
            input=body,
            env=env,
            capture_output=True,
            timeout=60,
        )
        head, _, payload = result.stdout.partition(b"\r\n\r\n")
        status = 200
        headers: dict[str, str] = {}
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.strip().split(" ")[0])
            elif name:
                headers[name.strip()] = value.strip()
        if rest == "git-receive-pack" and status == 200:
            self.on_pushed(full_path)
        await self.record(request, status)
        return Response(payload, status_code=status, headers=headers)

    async def git_unauthorized(self, request: Request) -> Response:
        await self.record(request, 401)
        return Response(
            "HTTP Basic: Access denied\n",
            status_code=401,
            headers={"WWW-Authenticate": f'Basic realm="{self.realm}"'},
        )

    # ------------------------------------------------------------------- tests
    def clone(self, url: str, dest: Path, *, username: str, token: str) -> Path:
        """``git clone`` with the same Basic header the action sends."""
        header = base64.b64encode(f"{username}:{token}".encode()).decode()
        run_git(
            "-c",
            f"http.extraHeader=Authorization: Basic {header}",
            "clone",
            "--quiet",
            url,
            str(dest),
        )
        return dest


def error(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status)


def run_git(*args: str, cwd: Path | None = None) -> str:
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
    }
    result = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )
    if result.returncode != 0:
        raise RuntimeError(f"git {args[0]} failed: {result.stderr.strip()}")
    return result.stdout
