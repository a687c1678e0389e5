"""Database access: one engine per process, SQLite (WAL) by default, PostgreSQL at scale."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, MetaData, create_engine, event, text
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Every feature's tables hang off this one metadata; constraint names are deterministic so
# migrations can refer to them on both engines.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while a writer commits; NORMAL is durable across app crashes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Up to 128 MiB of page cache per connection, used only as the database grows: the
    # catalog's search index is written in random key order and thrashes a small cache.
    cursor.execute("PRAGMA cache_size=-131072")
    cursor.execute("PRAGMA mmap_size=268435456")
    # Checkpoint every 64 MiB of WAL instead of every 4 MiB: a large catalog ingest writes
    # gigabytes, and each checkpoint pays an fsync.
    cursor.execute("PRAGMA wal_autocheckpoint=16384")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


class Database:
    """The engine plus a session factory, and what differs between the two engines."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if url.startswith("sqlite"):
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            kwargs["pool_size"] = 8
            kwargs["max_overflow"] = 16
            # LIFO: reuse the connection returned last, whose page cache is warm (each SQLite
            # connection has its own); FIFO would rotate a bulk load through cold caches.
            kwargs["pool_use_lifo"] = True
        else:
            kwargs["pool_size"] = 10
            kwargs["max_overflow"] = 20
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _configure_sqlite)
            # pysqlite's own transaction handling defers BEGIN; we want SQLite to take the
            # write lock at the start of a write transaction to avoid upgrade deadlocks.
            event.listen(self.engine, "connect", _disable_pysqlite_autobegin)
            event.listen(self.engine, "begin", _sqlite_begin)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Sessions that will write: on SQLite they take the write lock at BEGIN (see below).
        self.write_sessions = sessionmaker(
            self.engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def session(self, *, write: bool = True) -> Iterator[Session]:
        """A unit of work: committed on success, rolled back on any error.

        ``write=False`` for read-only work: on SQLite it does not queue behind writers.
        """
        session = (self.write_sessions if write else self.sessions)()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def _disable_pysqlite_autobegin(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE for writers: the write lock is taken up front, so two writers never both hold
    # a read snapshot and then fail to upgrade it (SQLITE_BUSY, which no timeout retries).
    # Readers stay DEFERRED and, under WAL, never wait for a writer.
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def bulk_insert(
    session: Session, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert many rows through the driver: COPY on PostgreSQL, executemany on SQLite.

    SQLAlchemy's per-row parameter processing costs more than the database work when a
    catalog ingest writes millions of rows; values must already be driver-ready.
    """
    if not rows:
        return
    connection = session.connection()
    dbapi = connection.connection.driver_connection
    column_list = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        with (
            dbapi.cursor() as cursor,  # type: ignore[union-attr]
            cursor.copy(f"COPY {table} ({column_list}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    placeholders = ", ".join("?" for _ in columns)
    cursor = dbapi.cursor()  # type: ignore[union-attr]
    try:
        cursor.executemany(f"INSERT INTO {table} ({column_list}) VALUES ({placeholders})", rows)
    finally:
        cursor.close()


def analyze(session: Session, tables: Sequence[str]) -> None:
    """Refresh the planner's statistics after a bulk load (PostgreSQL plans from them; a
    table that grew from empty to millions of rows within minutes still looks empty)."""
    if session.get_bind().dialect.name == "postgresql":
        for table in tables:
            session.execute(text(f"ANALYZE {table}"))
    else:
        # Bounded sampling: an unbounded ANALYZE reads every row of a multi-million-row index.
        session.execute(text("PRAGMA analysis_limit=400"))
        session.execute(text("PRAGMA optimize"))


def vacuum_analyze(db: Database, tables: Sequence[str]) -> None:
    """After a bulk load on PostgreSQL: statistics plus the visibility map, so counts and
    lookups can be answered from indexes alone. A no-op on SQLite."""
    if not db.is_postgres:
        return
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in tables:
            conn.execute(text(f"VACUUM (ANALYZE) {table}"))
