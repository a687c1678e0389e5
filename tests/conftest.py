"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``GOLDPATH_TEST_POSTGRES_URL`` (CI sets it) or the local server at
127.0.0.1:5432. Each test gets its own schema, dropped afterwards, so tests never see each
other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from goldpath.core.config import Settings, load_settings, normalise_database_url
from goldpath.core.platform import Platform

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _postgres_base_url() -> str | None:
    url = normalise_database_url(os.environ.get("GOLDPATH_TEST_POSTGRES_URL", DEFAULT_PG))
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception:
        return None
    return url


_PG_URL = _postgres_base_url()


def _with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'goldpath.db'}"
        return
    if _PG_URL is None:
        if os.environ.get("GOLDPATH_TEST_POSTGRES_URL") or os.environ.get("CI"):
            pytest.fail("PostgreSQL is configured for tests but cannot be reached")
        pytest.skip("no PostgreSQL reachable at GOLDPATH_TEST_POSTGRES_URL or 127.0.0.1:5432")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _with_search_path(_PG_URL, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "data_dir": str(tmp_path / "data"),
        "database_url": database_url,
        "catalog.file_roots": [str(tmp_path)],
        # Inside the test's folder, not a RAM folder per test left behind in /dev/shm.
        "plugins.scaffolder.workspace_dir": str(tmp_path / "scratch"),
    }
    base.update(overrides)
    return load_settings(overrides=base, environ={})


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str) -> Any:
    """Settings for a platform in ``tmp_path`` on the parametrised database."""

    def make(**overrides: Any) -> Settings:
        return _settings(tmp_path, database_url, **overrides)

    return make


@pytest.fixture
def settings(make_settings: Any) -> Settings:
    return make_settings()  # type: ignore[no-any-return]


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    p = Platform.create(settings)
    try:
        yield p
    finally:
        p.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """SQLite only: for tests whose subject does not depend on the database engine (a
    generated repository, say), which run once instead of once per engine."""
    return f"sqlite:///{tmp_path / 'goldpath.db'}"


@pytest.fixture
def sqlite_platform(tmp_path: Path, sqlite_url: str) -> Iterator[Platform]:
    p = Platform.create(_settings(tmp_path, sqlite_url))
    try:
        yield p
    finally:
        p.close()
