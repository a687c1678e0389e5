"""TechDocs types: build records, the settings section, and the names Backstage uses."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from goldpath.core.config import Settings
from goldpath.core.errors import ConfigError

ANNOTATION_TECHDOCS_REF = "backstage.io/techdocs-ref"
ANNOTATION_LOCATION = "backstage.io/managed-by-location"
ANNOTATION_ORIGIN_LOCATION = "backstage.io/managed-by-origin-location"
ANNOTATION_SOURCE_LOCATION = "backstage.io/source-location"
#: Backstage's catalog filter for "has a techdocs-ref annotation" (a key without a value).
HAS_DOCS_FILTER = f"metadata.annotations.{ANNOTATION_TECHDOCS_REF}"

BuildStatus = Literal["queued", "building", "succeeded", "failed"]
ACTIVE: tuple[BuildStatus, ...] = ("queued", "building")
FINISHED: tuple[BuildStatus, ...] = ("succeeded", "failed")

#: Why a build was asked for.
Reason = Literal["new", "changed", "requested", "sync"]

#: Where the per-page content the portal shows is kept inside a stored site.
PAGES_DIR = "_goldpath/pages"
SITE_INFO = "_goldpath/site.json"
METADATA_FILE = "techdocs_metadata.json"


class Build(BaseModel):
    """One build of one entity's docs: what was built, how it went, and its log."""

    id: str
    entity_ref: str
    status: BuildStatus
    reason: str
    task_id: str | None = None
    #: Where the docs were read from, for people (``file:/srv/x``, ``git:services/x@main:docs``).
    source: str | None = None
    #: What the source looked like (see ``sources.DocsSource.fingerprint``).
    source_hash: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    #: One line saying what went wrong; the log has the rest.
    error: str | None = None
    warnings: int = 0
    pages: int | None = None
    log: str = ""

    @property
    def seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 3)

    def as_api(self, *, with_log: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "entityRef": self.entity_ref,
            "status": self.status,
            "reason": self.reason,
            "taskId": self.task_id,
            "source": self.source,
            "sourceHash": self.source_hash,
            "createdAt": self.created_at.isoformat(),
            "startedAt": self.started_at.isoformat() if self.started_at else None,
            "finishedAt": self.finished_at.isoformat() if self.finished_at else None,
            "seconds": self.seconds,
            "error": self.error,
            "warnings": self.warnings,
            "pages": self.pages,
        }
        if with_log:
            data["log"] = self.log
        return data


class DocsSettings(BaseModel):
    """``plugins.techdocs`` in goldpath.yaml."""

    model_config = ConfigDict(extra="forbid")

    #: Where built sites are kept (local storage). Unset: ``<data dir>/techdocs``.
    storage_dir: Path | None = None
    #: ``local``, or ``package.module:factory`` returning a ``SiteStorage`` for the platform.
    storage: str = "local"
    #: Seconds one MkDocs build may run before it is stopped and recorded as failed.
    build_timeout_seconds: float = Field(default=120.0, gt=0, le=3600)
    #: Build every site with ``--strict`` (warnings fail the build). A site's own
    #: ``strict: true`` in mkdocs.yml is honoured either way.
    strict: bool = False
    #: Where isolated build folders are made. Unset: the system's temporary folder.
    build_dir: Path | None = None
    #: Build records kept per entity (the newest).
    keep_builds: int = Field(default=20, ge=1, le=1000)
    #: Largest docs source copied into a build, in megabytes.
    max_source_mb: float = Field(default=500.0, gt=0)
    #: ``GET /sync`` checks a source at most this often per entity (Backstage: 60 s).
    sync_check_interval_seconds: float = Field(default=60.0, ge=0)

    @classmethod
    def from_settings(cls, settings: Settings) -> DocsSettings:
        section = settings.plugins.get("techdocs") or {}
        if not isinstance(section, dict):
            raise ConfigError("plugins.techdocs must be a mapping", where="plugins.techdocs")
        try:
            return cls.model_validate(section)
        except ValidationError as exc:
            problems = "; ".join(
                f"plugins.techdocs.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
                for err in exc.errors()
            )
            raise ConfigError(f"invalid configuration: {problems}") from exc

    def resolved_storage_dir(self, settings: Settings) -> Path:
        root = self.storage_dir or (settings.data_dir / "techdocs")
        return Path(root).expanduser().resolve()
