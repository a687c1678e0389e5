"""Process roles: the server (API + portal + embedded workers) and the standalone worker."""

from __future__ import annotations

import signal
import threading
from typing import Any

import structlog
import uvicorn

from goldpath.app import create_app
from goldpath.core.config import Settings
from goldpath.core.logging import configure_logging
from goldpath.core.platform import Platform
from goldpath.core.tasks import Scheduler, Worker

log = structlog.get_logger("goldpath")


def build_worker(platform: Platform, concurrency: int | None = None) -> Worker:
    jobs = [
        job
        for group in platform.plugins.hook.goldpath_periodic_jobs(platform=platform)
        for job in group or []
    ]
    return Worker(
        platform.tasks,
        concurrency=platform.settings.worker.concurrency if concurrency is None else concurrency,
        poll_interval=platform.settings.worker.poll_interval_seconds,
        scheduler=Scheduler(platform.tasks, jobs),
    )


def serve(settings: Settings, *, demo: bool = False, on_ready: Any = None) -> None:
    configure_logging(settings.log)
    platform = Platform.create(settings)
    worker = build_worker(platform)
    try:
        platform.start()
        worker.start()
        if demo:
            platform.plugins.hook.goldpath_demo_data(platform=platform)
        app = create_app(platform)
        config = uvicorn.Config(
            app,
            host=settings.server.host,
            port=settings.server.port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
        server = uvicorn.Server(config)
        log.info(
            "goldpath is up",
            url=f"http://{settings.server.host}:{settings.server.port}",
            data_dir=str(settings.data_dir.resolve()),
            database=platform.db.dialect,
        )
        if on_ready is not None:
            on_ready(platform)
        server.run()
    finally:
        worker.stop()
        platform.close()


def run_worker(settings: Settings) -> None:
    configure_logging(settings.log)
    platform = Platform.create(settings)
    worker = build_worker(platform, concurrency=max(1, settings.worker.concurrency))
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        platform.start()
        worker.start()
        log.info("worker started", concurrency=settings.worker.concurrency)
        stop.wait()
    finally:
        log.info("worker stopping")
        worker.stop()
        platform.close()
