"""Catalog fixtures: a database with only the core and catalog schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pluggy
import pytest

from goldpath.core import hookspecs, migrate
from goldpath.core.db import Database
from goldpath.core.hookspecs import hookimpl

SRC = Path(__file__).resolve().parents[2] / "src" / "goldpath"


class _Migrations:
    """Only the core and catalog schema, nothing else."""

    @hookimpl
    def goldpath_migration_dirs(self) -> list[Path]:
        return [
            SRC / "core" / "migrations" / "versions",
            SRC / "catalog" / "migrations" / "versions",
        ]


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    pm = pluggy.PluginManager("goldpath")
    pm.add_hookspecs(hookspecs)
    pm.register(_Migrations())
    database = Database(database_url)
    migrate.upgrade(database, pm)
    try:
        yield database
    finally:
        database.dispose()
