"""Git over HTTP: the smart protocol through ``git http-backend``, plus raw file reads.

``/git/<owner>/<name>.git/...`` is what stock ``git clone``/``git push`` talk to;
``/git/<owner>/<name>/blob/<ref>/<path>`` answers a file's bytes and ``.../tree/<ref>/<path>``
a folder's listing (the URLs ``publish:git`` hands to ``catalog:register``).

No authentication yet: anyone who reaches the server can clone and push (identity comes
with the identity feature).
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.types import Message, Receive, Scope, Send

from goldpath.core.errors import NotFoundError
from goldpath.core.logging import get_logger
from goldpath.git.plumbing import check_name, git_env
from goldpath.git.service import GitService

router = APIRouter(tags=["git"], include_in_schema=False)
log = get_logger("goldpath.git")

_CHUNK = 64 * 1024
_SERVICES = ("git-upload-pack", "git-receive-pack")
#: What may follow ``<name>.git/``, by method: the smart protocol, and ``HEAD``.
_ROUTES = {
    ("GET", "info/refs"),
    ("GET", "HEAD"),
    ("POST", "git-upload-pack"),
    ("POST", "git-receive-pack"),
}
_LOCK_POLL_SECONDS = 0.02
_STDERR_KEEP = 16 * 1024
# Served files come from anyone who can push: never let a browser run them as our origin.
_RAW_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
}


async def get_git(request: Request) -> GitService:
    service: GitService = request.app.state.platform.services["git"]
    return service


Git = Annotated[GitService, Depends(get_git)]


# --------------------------------------------------------------------- raw reads
@router.get("/git/{owner}/{name}/blob/{rest:path}")
def blob(owner: str, name: str, rest: str, git: Git) -> Response:
    ref, inner = git.split_ref(owner, name, rest)
    data = git.read_file(owner, name, ref, inner)
    return Response(data, media_type=_media_type(inner, data), headers=_RAW_HEADERS)


@router.get("/git/{owner}/{name}/tree/{rest:path}")
def tree(owner: str, name: str, rest: str, git: Git) -> JSONResponse:
    ref, inner = git.split_ref(owner, name, rest)
    return JSONResponse(
        {"ref": ref, "path": inner, "entries": git.list_tree(owner, name, ref, inner)}
    )


def _media_type(path: str, data: bytes) -> str:
    guessed = mimetypes.guess_type(path)[0]
    if guessed is None or guessed.startswith("text/") or guessed.endswith(("json", "yaml", "xml")):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return "application/octet-stream"
        # As GitHub's raw view: text is text, never HTML or script in our origin.
        return "text/plain; charset=utf-8"
    return guessed


# ------------------------------------------------------------------ smart HTTP
@router.api_route("/git/{owner}/{repo}.git/{rest:path}", methods=["GET", "POST"])
async def smart_http(owner: str, repo: str, rest: str, request: Request, git: Git) -> Response:
    if (request.method, rest) not in _ROUTES:
        raise NotFoundError(f"{rest} is not served here; hosted git speaks smart HTTP only")
    query = ""
    if rest == "info/refs":
        service = request.query_params.get("service", "")
        if service not in _SERVICES:
            raise NotFoundError("the dumb HTTP protocol is not served; use a git newer than 1.6.6")
        query = f"service={service}"
    owner, repo = check_name(owner, "owner"), check_name(repo, "name")
    await run_in_threadpool(git.existing, owner, repo)
    headers = request.headers
    env = git_env(
        GIT_PROJECT_ROOT=str(git.root),
        GIT_HTTP_EXPORT_ALL="1",
        PATH_INFO=f"/{owner}/{repo}.git/{rest}",
        REQUEST_METHOD=request.method,
        QUERY_STRING=query,
        CONTENT_TYPE=headers.get("content-type", ""),
        REMOTE_ADDR=request.client.host if request.client else "",
        REMOTE_USER="anonymous",
    )
    for header, variable in (
        ("content-encoding", "HTTP_CONTENT_ENCODING"),
        ("content-length", "CONTENT_LENGTH"),
        ("git-protocol", "GIT_PROTOCOL"),
    ):
        if header in headers:
            env[variable] = headers[header]
    return HttpBackendResponse(git, owner, repo, env, pushing=rest == "git-receive-pack")


class HttpBackendResponse(Response):
    """Runs ``git http-backend`` for one request, streaming both ways.

    All of the CGI's life happens inside ``__call__``, so one ``finally`` ends the process
    (and releases the repository) however the exchange ends. It does not use Starlette's
    ``StreamingResponse``: that reads ``receive`` to notice disconnects while the response
    streams, and would steal the pack a push is still uploading.
    """

    def __init__(
        self, git: GitService, owner: str, repo: str, env: dict[str, str], *, pushing: bool
    ) -> None:
        super().__init__(status_code=200)
        self.git = git
        self.owner = owner
        self.repo = repo
        self.env = env
        self.pushing = pushing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        git, owner, repo = self.git, self.owner, self.repo
        lock = git.lock(owner, repo) if self.pushing else None
        locked = False
        path = git.path(owner, repo)
        before: dict[str, str] | None = None
        process: asyncio.subprocess.Process | None = None
        tasks: list[asyncio.Task[None]] = []
        stderr = bytearray()
        try:
            if lock is not None:
                # Polled rather than waited for in a thread: a cancelled wait must not leave
                # the lock taken by a thread nobody will release it from.
                while not lock.acquire(blocking=False):
                    await asyncio.sleep(_LOCK_POLL_SECONDS)
                locked = True
                before = await run_in_threadpool(git.refs, path)
            process = await asyncio.create_subprocess_exec(
                "git",
                "http-backend",
                env=self.env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            assert process.stdin and process.stdout and process.stderr
            tasks.append(asyncio.create_task(_feed(receive, process.stdin)))
            tasks.append(asyncio.create_task(_drain(process.stderr, stderr)))
            status, headers, first = await _read_headers(process.stdout)
            await send({"type": "http.response.start", "status": status, "headers": headers})
            if first:
                await send({"type": "http.response.body", "body": first, "more_body": True})
            while chunk := await process.stdout.read(_CHUNK):
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await asyncio.gather(*tasks)
            code = await process.wait()
            if code != 0:
                log.warning(
                    "git http-backend failed",
                    repo=f"{owner}/{repo}",
                    code=code,
                    error=stderr.decode(errors="replace")[-2000:],
                )
            if before is not None:
                # Before the response ends: a client that sees its push finish sees its events.
                await self._record(path, before)
                before = None
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            for task in tasks:
                task.cancel()
            if process is not None and process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
            try:
                if before is not None and process is not None:
                    # The client went away mid-push; whatever refs did move still count.
                    await self._record(path, before)
            finally:
                if locked and lock is not None:
                    lock.release()

    async def _record(self, path: Path, before: dict[str, str]) -> None:
        git = self.git
        try:
            after = await run_in_threadpool(git.refs, path)
            pusher = self.env.get("REMOTE_ADDR") or None
            await run_in_threadpool(git.record_pushes, self.owner, self.repo, before, after, pusher)
        except Exception:
            # The refs have moved already; failing the response would only confuse the client.
            log.exception("could not record a push", repo=f"{self.owner}/{self.repo}")


async def _feed(receive: Receive, stdin: asyncio.StreamWriter) -> None:
    """The request body into the CGI's stdin, with back-pressure (a pack can be large)."""
    try:
        while True:
            message: Message = await receive()
            if message["type"] == "http.disconnect":
                return
            body = message.get("body", b"")
            if body:
                stdin.write(body)
                await stdin.drain()
            if not message.get("more_body", False):
                return
    except (BrokenPipeError, ConnectionResetError):
        return  # the backend stopped reading: it has answered, or it failed and will say so
    finally:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            stdin.close()


async def _drain(stream: asyncio.StreamReader, keep: bytearray) -> None:
    """Read stderr as it comes (a full pipe would stall the backend), keeping the tail."""
    while chunk := await stream.read(_CHUNK):
        keep.extend(chunk)
        del keep[:-_STDERR_KEEP]


async def _read_headers(
    stream: asyncio.StreamReader,
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The CGI response's header block: status, raw headers, and any body bytes read."""
    buffer = b""
    while b"\n\n" not in buffer and b"\r\n\r\n" not in buffer:
        chunk = await stream.read(_CHUNK)
        if not chunk:
            return 502, [(b"content-type", b"text/plain")], b"git http-backend failed\n"
        buffer += chunk
    crlf, lf = buffer.find(b"\r\n\r\n"), buffer.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        head, rest = buffer[:crlf], buffer[crlf + 4 :]
    else:
        head, rest = buffer[:lf], buffer[lf + 2 :]
    status = 200
    headers: list[tuple[bytes, bytes]] = []
    for line in head.decode("latin-1").splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key.lower() == "status":
            status = int(value.split()[0])
        elif key:
            headers.append((key.lower().encode("latin-1"), value.encode("latin-1")))
    return status, headers, rest
