"""Git over HTTP: the smart protocol through ``git http-backend``, plus raw file reads.

``/git/<owner>/<name>.git/...`` is what stock ``git clone``/``git push`` talk to;
``/git/<owner>/<name>/blob/<ref>/<path>`` answers a file's bytes and ``.../tree/<ref>/<path>``
a folder's listing (the URLs ``publish:git`` hands to ``catalog:register``).
"""

from __future__ import annotations

import asyncio
import mimetypes
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from goldpath.core.errors import NotFoundError
from goldpath.core.logging import get_logger
from goldpath.git.service import GitService, check_name, git_env

router = APIRouter(tags=["git"], include_in_schema=False)
log = get_logger("goldpath.git")

#: The only paths below ``<name>.git/`` served: the smart protocol's three.
_SMART = {"info/refs", "git-upload-pack", "git-receive-pack"}
_CHUNK = 64 * 1024


async def get_git(request: Request) -> GitService:
    service: GitService = request.app.state.platform.services["git"]
    return service


Git = Annotated[GitService, Depends(get_git)]


@router.get("/git/{owner}/{name}/blob/{rest:path}")
def blob(owner: str, name: str, rest: str, git: Git) -> Response:
    ref, inner = git.split_ref(owner, name, rest)
    data = git.read_file(owner, name, ref, inner)
    media = mimetypes.guess_type(inner)[0]
    if media is None or media.startswith("text/") or inner.endswith((".yaml", ".yml", ".md")):
        try:
            data.decode("utf-8")
            media = "text/plain; charset=utf-8"
        except UnicodeDecodeError:
            media = media or "application/octet-stream"
    return Response(data, media_type=media)


@router.get("/git/{owner}/{name}/tree/{rest:path}")
def tree(owner: str, name: str, rest: str, git: Git) -> JSONResponse:
    ref, inner = git.split_ref(owner, name, rest)
    return JSONResponse({"ref": ref, "entries": git.list_tree(owner, name, ref, inner)})


@router.api_route("/git/{owner}/{repo}.git/{rest:path}", methods=["GET", "POST"])
async def smart_http(owner: str, repo: str, rest: str, request: Request, git: Git) -> Response:
    if rest not in _SMART:
        raise NotFoundError(f"{rest} is not served; use git's smart HTTP protocol")
    path = await run_in_threadpool(git.existing, owner, repo)
    owner, repo = check_name(owner, "owner"), check_name(repo, "name")
    before = await run_in_threadpool(git.refs, path) if rest == "git-receive-pack" else None

    env = git_env(
        GIT_PROJECT_ROOT=str(git.root),
        GIT_HTTP_EXPORT_ALL="1",
        PATH_INFO=f"/{owner}/{repo}.git/{rest}",
        REQUEST_METHOD=request.method,
        QUERY_STRING=request.url.query,
        CONTENT_TYPE=request.headers.get("content-type", ""),
        REMOTE_ADDR=request.client.host if request.client else "",
        REMOTE_USER="anonymous",
    )
    for header, variable in (
        ("content-encoding", "HTTP_CONTENT_ENCODING"),
        ("git-protocol", "GIT_PROTOCOL"),
        ("content-length", "CONTENT_LENGTH"),
    ):
        if header in request.headers:
            env[variable] = request.headers[header]
    process = await asyncio.create_subprocess_exec(
        "git",
        "http-backend",
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin and process.stdout and process.stderr

    async def feed() -> None:
        try:
            async for chunk in request.stream():
                if chunk:
                    process.stdin.write(chunk)  # type: ignore[union-attr]
                    await process.stdin.drain()  # type: ignore[union-attr]
        finally:
            process.stdin.close()  # type: ignore[union-attr]

    feeder = asyncio.create_task(feed())
    status, headers, first = await _read_headers(process.stdout)

    async def body() -> AsyncIterator[bytes]:
        if first:
            yield first
        while True:
            chunk = await process.stdout.read(_CHUNK)  # type: ignore[union-attr]
            if not chunk:
                break
            yield chunk
        # Before the response ends: a client that sees its push finish sees its events too.
        await finish()

    async def finish() -> None:
        await feeder
        stderr = await process.stderr.read()  # type: ignore[union-attr]
        code = await process.wait()
        if code != 0:
            log.warning("git http-backend failed", repo=f"{owner}/{repo}", error=stderr.decode())
        if before is not None and code == 0:
            after = await run_in_threadpool(git.refs, path)
            pusher = request.client.host if request.client else "unknown"
            await run_in_threadpool(git.record_pushes, owner, repo, before, after, pusher)

    return StreamingResponse(body(), status_code=status, headers=headers)


async def _read_headers(stream: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """The CGI response's header block; returns status, headers and any body bytes read."""
    buffer = b""
    while b"\r\n\r\n" not in buffer and b"\n\n" not in buffer:
        chunk = await stream.read(_CHUNK)
        if not chunk:
            break
        buffer += chunk
    split = buffer.find(b"\r\n\r\n")
    sep = 4
    if split < 0 or (0 <= buffer.find(b"\n\n") < split):
        split, sep = buffer.find(b"\n\n"), 2
    if split < 0:
        return 502, {}, b""
    head, rest = buffer[:split], buffer[split + sep :]
    status = 200
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key.lower() == "status":
            status = int(value.split()[0])
        elif key:
            headers[key] = value
    return status, headers, rest
