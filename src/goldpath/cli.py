"""The ``goldpath`` command. Server roles run here; everything else is an API client."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from goldpath import __version__
from goldpath.core.errors import GoldpathError

app = typer.Typer(
    name="goldpath",
    help="goldpath: the Internal Developer Platform. Catalog, golden paths, docs, deploys.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
err = Console(stderr=True)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="goldpath.yaml (or GOLDPATH_CONFIG).")
]
DataDirOpt = Annotated[
    Path | None, typer.Option("--data-dir", help="Data directory (or GOLDPATH_DATA_DIR).")
]
HostOpt = Annotated[str | None, typer.Option("--host", help="Address to listen on [127.0.0.1].")]
PortOpt = Annotated[int | None, typer.Option("--port", help="Port to listen on [7007].")]


def _settings(config: Path | None, **overrides: Any) -> Any:
    from goldpath.core.config import load_settings

    return load_settings(config, overrides={k: v for k, v in overrides.items() if v is not None})


@app.command()
def serve(
    host: HostOpt = None,
    port: PortOpt = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Run the API, the portal and embedded workers (no demo data)."""
    from goldpath.server import serve as run

    run(_settings(config, **{"server.host": host, "server.port": port, "data_dir": data_dir}))


@app.command()
def up(
    host: HostOpt = None,
    port: PortOpt = None,
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Run the server with the demo organisation loaded: the one-laptop experience."""
    from goldpath.server import serve as run

    settings = _settings(config, **{"server.host": host, "server.port": port, "data_dir": data_dir})
    run(settings, demo=True)


@app.command()
def worker(data_dir: DataDirOpt = None, config: ConfigOpt = None) -> None:
    """Run background tasks only (scale out next to `goldpath serve`)."""
    from goldpath.server import run_worker

    run_worker(_settings(config, data_dir=data_dir))


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDirOpt = None, config: ConfigOpt = None) -> None:
    """Apply every pending schema migration."""
    from goldpath.core import migrate
    from goldpath.core.db import Database
    from goldpath.core.plugins import build_plugin_manager

    settings = _settings(config, data_dir=data_dir)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url())
    try:
        migrate.upgrade(db, build_plugin_manager())
    finally:
        db.dispose()
    typer.echo(f"database is up to date ({db.dialect})")


@app.command()
def version() -> None:
    """Print goldpath's version."""
    typer.echo(f"goldpath {__version__}")


def _register_plugin_commands() -> None:
    from goldpath.core.plugins import build_plugin_manager

    build_plugin_manager().hook.goldpath_cli(app=app)


def main() -> None:
    _register_plugin_commands()
    try:
        app()
    except GoldpathError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        sys.exit(1)
