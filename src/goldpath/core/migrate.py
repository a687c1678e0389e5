"""Schema migrations: every plugin contributes an Alembic branch; start applies all heads."""

from __future__ import annotations

from pathlib import Path

import pluggy
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from goldpath.core.db import Database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any fixed number: replicas starting together on PostgreSQL migrate one at a time.
_PG_LOCK_KEY = 0x601D9A7


def alembic_config(pm: pluggy.PluginManager) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    dirs = [str(d) for group in pm.hook.goldpath_migration_dirs() for d in group]
    cfg.set_main_option("version_locations", " ".join(dirs))
    cfg.set_main_option("path_separator", "space")
    return cfg


def upgrade(db: Database, pm: pluggy.PluginManager) -> None:
    """Bring the schema to the newest version of every installed plugin."""
    cfg = alembic_config(pm)
    with db.engine.connect() as conn:
        if db.is_postgres:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_LOCK_KEY})
            conn.commit()
        try:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
            conn.commit()
        finally:
            if db.is_postgres:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                conn.commit()
