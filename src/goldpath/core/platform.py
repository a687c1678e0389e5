"""The running platform: settings, database, plugins, events, tasks and feature services.

One object per process, built by ``Platform.create``; adapters (API, CLI, workers) reach
feature services through ``platform.services``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import pluggy

from goldpath.core import migrate
from goldpath.core.config import Settings
from goldpath.core.db import Database
from goldpath.core.events import EventLog
from goldpath.core.plugins import build_plugin_manager
from goldpath.core.tasks import TaskQueue

T = TypeVar("T")


@dataclass
class Platform:
    settings: Settings
    db: Database
    plugins: pluggy.PluginManager
    events: EventLog
    tasks: TaskQueue
    services: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        settings: Settings,
        *,
        migrate_schema: bool = True,
        plugins: pluggy.PluginManager | None = None,
    ) -> Platform:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database(settings.resolved_database_url())
        pm = plugins or build_plugin_manager()
        if migrate_schema:
            migrate.upgrade(db, pm)
        platform = cls(
            settings=settings,
            db=db,
            plugins=pm,
            events=EventLog(db),
            tasks=TaskQueue(db, lease_seconds=settings.worker.lease_seconds),
        )
        for provided in pm.hook.goldpath_services(platform=platform):
            platform.services.update(provided or {})
        for handlers in pm.hook.goldpath_task_handlers(platform=platform):
            for kind, handler in (handlers or {}).items():
                platform.tasks.register(kind, handler)
        return platform

    def service(self, name: str, kind: type[T]) -> T:
        return cast(T, self.services[name])

    def start(self) -> None:
        self.plugins.hook.goldpath_startup(platform=self)

    def close(self) -> None:
        self.plugins.hook.goldpath_shutdown(platform=self)
        self.db.dispose()
