"""Configuration: file + environment, validated with errors that name the key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from goldpath.core.config import load_settings
from goldpath.core.errors import ConfigError


def test_environment_overrides_file_and_maps_nested_keys(tmp_path: Path) -> None:
    config = tmp_path / "goldpath.yaml"
    config.write_text("server: {port: 8100}\ncatalog: {url_allowlist: [a.example]}\n")
    settings = load_settings(
        config,
        environ={
            "GOLDPATH_SERVER_PORT": "8200",
            "GOLDPATH_CATALOG_FILE_ROOTS": os.pathsep.join(["/srv/a", "/srv/b"]),
            "GOLDPATH_CATALOG_URL_ALLOWLIST": "b.example, c.example",
            "GOLDPATH_URL": "http://ignored-by-the-server",
        },
    )
    assert settings.server.port == 8200
    assert settings.catalog.file_roots == [Path("/srv/a"), Path("/srv/b")]
    assert settings.catalog.url_allowlist == ["b.example", "c.example"]


def test_config_path_from_environment(tmp_path: Path) -> None:
    config = tmp_path / "custom.yaml"
    config.write_text("data_dir: /var/lib/goldpath\n")
    settings = load_settings(environ={"GOLDPATH_CONFIG": str(config)})
    assert settings.data_dir == Path("/var/lib/goldpath")


def test_defaults_use_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(overrides={"data_dir": str(tmp_path)}, environ={})
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path.resolve()}/goldpath.db"
    assert settings.catalog_file_roots() == [Path.cwd().resolve(), tmp_path.resolve()]


def test_postgres_urls_use_psycopg3() -> None:
    settings = load_settings(environ={"GOLDPATH_DATABASE_URL": "postgresql://u@h/db"})
    assert settings.resolved_database_url() == "postgresql+psycopg://u@h/db"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"GOLDPATH_SERVER_PORT": "http"}, "server.port"),
        ({"GOLDPATH_WORKER_CONCURRENCY": "-1"}, "worker.concurrency"),
        ({"GOLDPATH_LOG_LEVEL": "loud"}, "log.level"),
    ],
)
def test_invalid_values_name_the_key_and_its_source(environ: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(environ=environ)
    message = str(info.value)
    assert named in message
    assert next(iter(environ)) in message


def test_unknown_key_in_file_is_rejected(tmp_path: Path) -> None:
    config = tmp_path / "goldpath.yaml"
    config.write_text("catalog: {file_root: /typo}\n")
    with pytest.raises(ConfigError, match="catalog.file_root"):
        load_settings(config, environ={})


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml", environ={})
    bad = tmp_path / "bad.yaml"
    bad.write_text("server: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(bad, environ={})
