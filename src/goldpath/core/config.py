"""Configuration: one ``goldpath.yaml`` plus ``GOLDPATH_*`` environment variables.

Environment variables map onto the nested keys by their path in upper case joined with
underscores (``GOLDPATH_CATALOG_FILE_ROOTS`` -> ``catalog.file_roots``). List values from the
environment are split on ``os.pathsep`` for paths and on commas otherwise. Everything is
validated at start; an error names the key and where its value came from.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)

from goldpath.core.errors import ConfigError

ENV_PREFIX = "GOLDPATH_"
CONFIG_FILE_ENV = "GOLDPATH_CONFIG"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StaticLocation(_Section):
    """A location registered from configuration, like Backstage's ``catalog.locations``."""

    type: Literal["file", "url", "git"] = "file"
    target: str


class CatalogSettings(_Section):
    #: Directories under which ``file`` locations may be read. Empty: the working directory
    #: and the data directory.
    file_roots: list[Path] = Field(default_factory=list)
    #: Hosts (``example.com``, ``*.example.com``, ``127.0.0.1:8080``) the server may fetch
    #: ``url`` locations and placeholders from. Empty: no URL is fetched.
    url_allowlist: list[str] = Field(default_factory=list)
    #: Seconds between two scheduled refreshes of every location.
    refresh_interval_seconds: float = Field(default=120.0, gt=0)
    #: Kinds beyond Backstage's built-in ones that are accepted as they are.
    allowed_kinds: list[str] = Field(default_factory=list)
    #: Accept any kind at all (validated only by the envelope rules).
    allow_unknown_kinds: bool = False
    locations: list[StaticLocation] = Field(default_factory=list)
    #: Seconds a URL fetch or git clone may take.
    fetch_timeout_seconds: float = Field(default=20.0, gt=0)


class ServerSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=7007, ge=0, le=65535)
    #: Public URL of the portal, used in links; defaults to http://host:port.
    base_url: str | None = None


class WorkerSettings(_Section):
    #: Task threads run by `goldpath serve`/`up` (embedded) or `goldpath worker`.
    concurrency: int = Field(default=2, ge=0, le=64)
    #: Seconds a claimed task stays leased to its worker without a heartbeat.
    lease_seconds: float = Field(default=30.0, gt=0)
    poll_interval_seconds: float = Field(default=0.5, gt=0)


class LogSettings(_Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["console", "json"] = "console"


_ENV_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")


class _Integration(_Section):
    #: The host of the ``repoUrl`` values this integration serves, e.g. ``github.com``.
    host: str
    #: REST API root. Backstage's ``apiBaseUrl`` spelling is accepted too.
    api_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("api_base_url", "apiBaseUrl")
    )
    #: ``repr``, logs and API reads show ``**********``. ``${NAME}`` reads it from the
    #: environment variable NAME, as in Backstage's app-config.
    token: SecretStr | None = None

    @field_validator("host")
    @classmethod
    def _check_host(cls, value: str) -> str:
        value = value.strip().lower()
        if not value or "/" in value or any(c.isspace() for c in value):
            raise ValueError("must be a host name (optionally with :port), not a URL")
        return value

    @field_validator("api_base_url")
    @classmethod
    def _check_api_base_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("token", mode="before")
    @classmethod
    def _token_from_environment(cls, value: Any) -> Any:
        # Lists of objects cannot come from GOLDPATH_* variables; this keeps tokens out of
        # goldpath.yaml all the same.
        if isinstance(value, str):
            match = _ENV_REFERENCE.match(value.strip())
            if match:
                name = match.group(1)
                if name not in os.environ:
                    raise ValueError(f"environment variable {name} is not set")
                value = os.environ[name]
        return value or None

    def token_value(self) -> str | None:
        return self.token.get_secret_value() if self.token is not None else None


class GitHubIntegration(_Integration):
    """A GitHub (or GitHub Enterprise Server) host, as Backstage's ``integrations.github``."""

    host: str = "github.com"

    def api_url(self) -> str:
        # Backstage defaults only github.com's; /api/v3 is where GitHub Enterprise Server has it.
        if self.api_base_url:
            return self.api_base_url
        return (
            "https://api.github.com" if self.host == "github.com" else f"https://{self.host}/api/v3"
        )


class GitLabIntegration(_Integration):
    """A GitLab host, as Backstage's ``integrations.gitlab``."""

    host: str = "gitlab.com"

    def api_url(self) -> str:
        return self.api_base_url or f"https://{self.host}/api/v4"


class IntegrationsSettings(_Section):
    """Source-control hosts, as Backstage's ``integrations:`` (goldpath.yaml only)."""

    github: list[GitHubIntegration] = Field(default_factory=list)
    gitlab: list[GitLabIntegration] = Field(default_factory=list)

    @field_validator("github", "gitlab", mode="before")
    @classmethod
    def _objects_only(cls, value: Any) -> Any:
        if isinstance(value, list) and any(isinstance(item, str) for item in value):
            raise ValueError(
                "must be a list of {host, api_base_url, token} objects, set in the config "
                "file (a token can come from the environment as ${NAME})"
            )
        return value

    def github_for(self, host: str) -> GitHubIntegration | None:
        wanted = host.strip().lower()
        return next((i for i in self.github if i.host == wanted), None)

    def gitlab_for(self, host: str) -> GitLabIntegration | None:
        wanted = host.strip().lower()
        return next((i for i in self.gitlab if i.host == wanted), None)


class Settings(_Section):
    data_dir: Path = Path(".goldpath")
    #: SQLAlchemy URL. Unset: SQLite in the data directory.
    database_url: str | None = None
    server: ServerSettings = Field(default_factory=ServerSettings)
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)
    worker: WorkerSettings = Field(default_factory=WorkerSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    integrations: IntegrationsSettings = Field(default_factory=IntegrationsSettings)
    #: Sections that plugins own; validated by the plugins themselves.
    plugins: dict[str, Any] = Field(default_factory=dict)

    def resolved_database_url(self) -> str:
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite:///{(self.data_dir / 'goldpath.db').resolve()}"

    def catalog_file_roots(self) -> list[Path]:
        roots = self.catalog.file_roots or [Path.cwd(), self.data_dir]
        return [Path(r).expanduser().resolve() for r in roots]

    def base_url(self) -> str:
        if self.server.base_url:
            return self.server.base_url.rstrip("/")
        return f"http://{self.server.host}:{self.server.port}"


def normalise_database_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and use psycopg 3 for them."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _env_path_lists() -> set[tuple[str, ...]]:
    return {("catalog", "file_roots")}


def _model_for(path: tuple[str, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = Settings
    for part in path:
        field = model.model_fields.get(part)
        if field is None:
            return None
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            return None
    return model


def _key_for_env(name: str) -> tuple[str, ...] | None:
    """Map ``CATALOG_FILE_ROOTS`` to ``("catalog", "file_roots")`` by walking the model."""
    rest = name.lower()
    path: tuple[str, ...] = ()
    while True:
        model = _model_for(path)
        if model is None:
            return None
        if rest in model.model_fields:
            return (*path, rest)
        for field_name in model.model_fields:
            if rest.startswith(field_name + "_") and _model_for((*path, field_name)):
                path = (*path, field_name)
                rest = rest[len(field_name) + 1 :]
                break
        else:
            return None


def _is_list_field(path: tuple[str, ...]) -> bool:
    model = _model_for(path[:-1])
    if model is None:
        return False
    annotation = model.model_fields[path[-1]].annotation
    return getattr(annotation, "__origin__", None) is list


def _set(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        node = tree.get(part)
        if not isinstance(node, dict):
            node = {}
            tree[part] = node
        tree = node
    tree[path[-1]] = value


def load_settings(
    config_file: str | Path | None = None,
    overrides: dict[str, Any] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Read the config file, overlay the environment, then explicit overrides, and validate.

    ``overrides`` uses dotted keys (``{"server.port": 8080}``): command-line flags.
    """
    env = dict(os.environ if environ is None else environ)
    sources: dict[tuple[str, ...], str] = {}
    tree: dict[str, Any] = {}
    path_text = str(config_file) if config_file else env.get(CONFIG_FILE_ENV)
    if path_text:
        config_path = Path(path_text)
        if not config_path.is_file():
            raise ConfigError(f"config file {config_path} does not exist", where="--config")
        try:
            loaded = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"not valid YAML: {exc}", where=str(config_path)) from exc
        if not isinstance(loaded, dict):
            raise ConfigError("the top level must be a mapping", where=str(config_path))
        tree = loaded

    for name, value in sorted(env.items()):
        if not name.startswith(ENV_PREFIX) or name == CONFIG_FILE_ENV:
            continue
        key = _key_for_env(name[len(ENV_PREFIX) :])
        if key is None:
            continue  # GOLDPATH_URL, GOLDPATH_TOKEN and friends belong to the CLI client.
        parsed: Any = value
        if _is_list_field(key):
            sep = os.pathsep if key in _env_path_lists() else ","
            parsed = [item.strip() for item in value.split(sep) if item.strip()]
        _set(tree, key, parsed)
        sources[key] = name

    for dotted, value in (overrides or {}).items():
        if value is not None:
            key = tuple(dotted.split("."))
            _set(tree, key, value)
            sources[key] = "command line"

    try:
        return Settings.model_validate(tree)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = tuple(str(p) for p in err["loc"])
            origin = sources.get(key[:2]) or sources.get(key[:1]) or sources.get(key)
            origin = origin or path_text or "defaults"
            problems.append(f"{'.'.join(key)}: {err['msg']} (from {origin})")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from exc
