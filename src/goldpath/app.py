"""ASGI app factory. Thin: features mount their own routers through the plugin hook."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from goldpath import __version__
from goldpath.core.errors import GoldpathError
from goldpath.core.platform import Platform

log = structlog.get_logger("goldpath.http")

REQUESTS = Counter("goldpath_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "goldpath_http_request_duration_seconds",
    "HTTP request duration",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

PROBLEM = "application/problem+json"
#: Paths whose clients are Backstage's own packages.
BACKSTAGE_PATHS = ("/api/catalog/",)


def problem(
    request: Request, status: int, title: str, detail: str, *, name: str = "Error", **extra: Any
) -> JSONResponse:
    """RFC 9457 problem details, plus Backstage's ``error``/``response`` members so Backstage
    clients (which read ``body.error.message``) show the same message."""
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
        "error": {"name": name, "message": detail},
        "request": {"method": request.method, "url": str(request.url.path)},
        "response": {"statusCode": status},
    }
    return JSONResponse(body, status_code=status, media_type=_error_media_type(request))


def _error_media_type(request: Request) -> str:
    """problem+json, except on Backstage's API surface for clients that did not ask for it:
    Backstage's clients only read error bodies served as application/json."""
    if PROBLEM in request.headers.get("accept", ""):
        return PROBLEM
    if request.url.path.startswith(BACKSTAGE_PATHS):
        return "application/json"
    return PROBLEM


_QUIET_ROUTES = frozenset({"/healthz", "/metrics", "/readyz"})


class ObserveMiddleware:
    """Request id, Prometheus metrics and one log line per request.

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` costs a task and a stream
    per request, which is most of a fast endpoint's time.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                request_id = value.decode("latin-1")[:128]
                break
        request_id = request_id or uuid.uuid4().hex
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["x-request-id"] = request_id
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope["method"]
            REQUESTS.labels(method, route, str(status)).inc()
            LATENCY.labels(method, route).observe(elapsed)
            if route not in _QUIET_ROUTES:
                log.info(
                    "request",
                    method=method,
                    path=scope["path"],
                    status=status,
                    ms=round(elapsed * 1000, 2),
                    request_id=request_id,
                )


def create_app(platform: Platform) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield

    app = FastAPI(
        title="goldpath",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.platform = platform
    app.add_middleware(ObserveMiddleware)

    def error_page(request: Request, status: int, detail: str) -> Response | None:
        """The portal's HTML error page for a browser's request outside the API."""
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get(
            "accept", ""
        ):
            return None
        page: Response | None = platform.plugins.hook.goldpath_error_page(
            request=request, status=status, detail=detail
        )
        return page

    @app.exception_handler(GoldpathError)
    async def on_goldpath_error(request: Request, exc: GoldpathError) -> Response:
        page = error_page(request, exc.status_code, str(exc))
        if page is not None:
            return page
        extra: dict[str, Any] = {}
        if exc.where:
            extra["where"] = exc.where
        if exc.details:
            extra["errors"] = exc.details
        if exc.status_code >= 500:
            log.error("request failed", error=str(exc), path=request.url.path)
        return problem(
            request, exc.status_code, exc.title, str(exc), name=exc.backstage_name, **extra
        )

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"where": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        detail = "; ".join(f"{e['where']}: {e['message']}" for e in errors)
        return problem(request, 400, "Invalid input", detail, name="InputError", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        page = error_page(request, exc.status_code, str(exc.detail))
        if page is not None:
            return page
        name = "NotFoundError" if exc.status_code == 404 else "Error"
        return problem(request, exc.status_code, str(exc.detail), str(exc.detail), name=name)

    @app.exception_handler(Exception)
    async def on_unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", path=request.url.path)
        page = error_page(request, 500, "an unexpected error occurred")
        if page is not None:
            return page
        return problem(request, 500, "Internal error", "an unexpected error occurred")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz(request: Request) -> JSONResponse:
        try:
            platform.db.ping()
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            return problem(request, 503, "Not ready", f"database unreachable: {exc}")
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/api/version", tags=["platform"])
    def version() -> dict[str, str]:
        return {"version": __version__}

    for routers in platform.plugins.hook.goldpath_routers(platform=platform):
        for router in routers or []:
            app.include_router(router)
    return app
