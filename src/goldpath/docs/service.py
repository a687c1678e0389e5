"""TechDocs' public face: every adapter (API, CLI, portal) and the task handlers call this.

Builds never run inside the catalog's transaction or a request: asking for one writes a
``queued`` build record and a durable ``docs.build`` task (one per entity at a time, by its
unique key) in one transaction, and a worker runs it. What triggers one:

- the catalog wrote an entity with a techdocs-ref (``goldpath_catalog_changed``) or
  refreshed a location holding such entities (its ``catalog.location.refreshed`` event): a
  ``docs.check`` task compares each source's fingerprint with the last build's and asks
  for a build when they differ (or when there is none yet);
- someone asked: ``GET /api/techdocs/sync/...`` (a check, as Backstage's), the API's
  ``POST /api/techdocs/builds/...``, ``goldpath docs build`` or the portal (a forced build).

A failed build changes nothing that is served: the last good site stays until a build
succeeds.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from goldpath.catalog.refs import parse_entity_ref
from goldpath.catalog.service import get_catalog
from goldpath.core.errors import GoldpathError, NotFoundError
from goldpath.core.events import Event
from goldpath.core.logging import get_logger
from goldpath.core.platform import Platform
from goldpath.docs.model import (
    ACTIVE,
    ANNOTATION_ORIGIN_LOCATION,
    FINISHED,
    HAS_DOCS_FILTER,
    Build,
    DocsSettings,
)
from goldpath.docs.sources import DocsSource, SourceResolver
from goldpath.docs.storage import SiteStorage, site_key, storage_for
from goldpath.docs.store import BuildStore

if TYPE_CHECKING:
    from goldpath.core.tasks import TaskContext

log = get_logger("goldpath.docs")

BUILD_TASK = "docs.build"
CHECK_TASK = "docs.check"
LOCATION_REFRESHED = "catalog.location.refreshed"
_LIST_LIMIT = 2000


def entity_key(kind: str, namespace: str, name: str) -> str:
    """The catalog's ref key, ``component:default/name``: how builds are filed."""
    site_key(namespace, kind, name)  # the same checks the storage path gets
    return f"{kind}:{namespace}/{name}".lower()


def key_parts(key: str) -> tuple[str, str, str]:
    ref = parse_entity_ref(key)
    return ref.kind.lower(), ref.namespace.lower(), ref.name.lower()


def storage_key(key: str) -> str:
    kind, namespace, name = key_parts(key)
    return site_key(namespace, kind, name)


def _error_fingerprint(exc: GoldpathError) -> str:
    return "error:" + hashlib.blake2b(str(exc).encode(), digest_size=16).hexdigest()


class DocsService:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.settings = DocsSettings.from_settings(platform.settings)
        self.store = BuildStore(platform.db)
        self.sources = SourceResolver(platform)
        self._storage: SiteStorage | None = None
        self._checked: dict[str, float] = {}
        self._lock = threading.Lock()
        self._unsubscribe: Any = None

    @property
    def storage(self) -> SiteStorage:
        if self._storage is None:
            self._storage = storage_for(self.platform, self.settings)
        return self._storage

    # ---------------------------------------------------------------- wiring
    def connect(self) -> None:
        """Hear of location refreshes in this process (docs may change without the entity)."""
        if self._unsubscribe is None:
            self._unsubscribe = self.platform.events.subscribe(
                self.on_location_refreshed, [LOCATION_REFRESHED]
            )

    def close(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def on_catalog_changed(self, written: Sequence[str], deleted: Sequence[str]) -> None:
        """After a catalog commit: queue a check of the written entities that have docs,
        and the removal of docs whose entity is gone or no longer has a techdocs-ref."""
        with_docs: list[str] = []
        if written:
            found = get_catalog(self.platform).queries.by_refs(
                list(written),
                fields=["kind", "metadata.namespace", "metadata.name"],
                filter=HAS_DOCS_FILTER,
            )["items"]
            with_docs = [key for key, item in zip(written, found, strict=True) if item]
        has_docs = set(with_docs)
        without = [key for key in written if key not in has_docs]
        dropped = sorted(self.store.with_builds([*without, *deleted]))
        if with_docs or dropped:
            self.platform.tasks.enqueue(CHECK_TASK, {"refs": with_docs, "deleted": dropped})

    def on_location_refreshed(self, event: Event) -> None:
        """A location was re-read: its entities' docs may have changed though they did not."""
        origin = event.subject
        if not origin or not self._entities_from(origin, limit=1):
            return
        self.platform.tasks.enqueue(
            CHECK_TASK, {"origin": origin}, unique_key=f"docs:check:{origin}"
        )

    def on_git_pushed(self, push: dict[str, Any]) -> None:
        """A hosted branch moved: check the docs read from that repository right away,
        without waiting for the catalog's next refresh."""
        if push.get("deleted") or not str(push.get("ref", "")).startswith("refs/heads/"):
            return
        repo = f"{push['owner']}/{push['name']}"
        self.platform.tasks.enqueue(CHECK_TASK, {"repo": repo}, unique_key=f"docs:check:git:{repo}")

    def check_repo(self, repo: str) -> list[str]:
        """Check every entity whose docs are read from hosted repository ``owner/name``."""
        needles = (f"/git/{repo}/".lower(), f"/git/{repo}.git".lower())
        matching = []
        for entity in self.docs_entities():
            annotations = entity["metadata"].get("annotations") or {}
            text = " ".join(str(v) for v in annotations.values()).lower()
            if any(needle in text for needle in needles):
                meta = entity["metadata"]
                matching.append(
                    (entity_key(entity["kind"], meta["namespace"], meta["name"]), entity)
                )
        return self._check_entities(matching)

    def _entities_from(self, origin: str, *, limit: int = _LIST_LIMIT) -> list[dict[str, Any]]:
        queries = get_catalog(self.platform).queries
        if "," in origin:  # a comma would split the filter; filter here instead
            return [
                e
                for e in queries.list_entities(filter=HAS_DOCS_FILTER, limit=_LIST_LIMIT)
                if e["metadata"].get("annotations", {}).get(ANNOTATION_ORIGIN_LOCATION) == origin
            ][:limit]
        return queries.list_entities(
            filter=f"metadata.annotations.{ANNOTATION_ORIGIN_LOCATION}={origin},{HAS_DOCS_FILTER}",
            limit=limit,
        )

    # --------------------------------------------------------------- entities
    def entity(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        entity_key(kind, namespace, name)
        return get_catalog(self.platform).queries.by_name(kind, namespace, name)

    def entity_by_key(self, key: str) -> dict[str, Any]:
        kind, namespace, name = key_parts(key)
        return self.entity(kind, namespace, name)

    def docs_entities(self, limit: int = _LIST_LIMIT) -> list[dict[str, Any]]:
        return get_catalog(self.platform).queries.list_entities(
            filter=HAS_DOCS_FILTER, order="asc:metadata.name", limit=limit
        )

    def resolve(self, entity: dict[str, Any]) -> DocsSource:
        return self.sources.resolve(entity)

    # --------------------------------------------------------------- requests
    def request_build(self, key: str, *, reason: str = "requested", force: bool = True) -> Build:
        """Queue a build (or return the one already queued or running for the entity)."""
        with self.platform.db.session() as session:
            task_id = self.platform.tasks.enqueue(
                BUILD_TASK,
                {"entityRef": key, "force": force, "reason": reason},
                unique_key=f"docs:build:{key}",
                session=session,
            )
            existing = self.store.by_task(task_id, session=session)
            if existing is not None:
                return existing
            return self.store.create(key, reason, task_id=task_id, session=session)

    def request_entity_build(self, kind: str, namespace: str, name: str) -> Build:
        entity = self.entity(kind, namespace, name)
        self.resolve(entity)  # a missing or malformed techdocs-ref is the caller's error
        return self.request_build(entity_key(kind, namespace, name))

    def sync(self, kind: str, namespace: str, name: str) -> Build | None:
        """Backstage's sync: the build to follow, or ``None`` when the docs are up to date
        (checked within ``sync_check_interval_seconds``)."""
        entity = self.entity(kind, namespace, name)
        self.resolve(entity)
        key = entity_key(kind, namespace, name)
        active = self.store.active(key)
        current = self._reconciled(active) if active is not None else None
        if current is not None and current.status in ACTIVE:
            return current
        now = time.monotonic()
        with self._lock:
            last = self._checked.get(key)
            recent = last is not None and now - last < self.settings.sync_check_interval_seconds
            if not recent:
                self._checked[key] = now
        if recent and self.storage.metadata(storage_key(key)) is not None:
            return None
        return self.request_build(key, reason="sync", force=False)

    def check(self, keys: Sequence[str]) -> list[str]:
        """Queue a build for each entity whose docs source changed since its last build (or
        that has none); returns the entity keys queued."""
        if not keys:
            return []
        bodies = get_catalog(self.platform).queries.by_refs(list(keys))["items"]
        entities = [(k, e) for k, e in zip(keys, bodies, strict=True) if e is not None]
        return self._check_entities(entities)

    def check_origin(self, origin: str) -> list[str]:
        entities = self._entities_from(origin)
        return self._check_entities(
            [
                (entity_key(e["kind"], e["metadata"]["namespace"], e["metadata"]["name"]), e)
                for e in entities
            ]
        )

    def _check_entities(self, entities: Sequence[tuple[str, dict[str, Any]]]) -> list[str]:
        keys = [key for key, _ in entities]
        latest = self.store.latest_of(keys)
        finished = self.store.latest_of(keys, FINISHED)
        queued = []
        for key, entity in entities:
            if key in latest and latest[key].status in ACTIVE and self._reconciled(latest[key]):
                continue  # a build is on its way
            try:
                fingerprint = self.sources.fingerprint(self.resolve(entity), entity)
            except GoldpathError as exc:
                fingerprint = _error_fingerprint(exc)
            last = finished.get(key)
            if last is None or last.source_hash != fingerprint:
                self.request_build(key, reason="new" if last is None else "changed", force=False)
                queued.append(key)
        return queued

    def delete_docs(self, keys: Sequence[str]) -> None:
        for key in keys:
            try:
                self.storage.delete_site(storage_key(key))
            except GoldpathError:
                continue
        self.store.delete_entities(list(keys))

    # ------------------------------------------------------------------ reads
    def builds(self, kind: str, namespace: str, name: str, limit: int = 20) -> list[Build]:
        key = entity_key(kind, namespace, name)
        found = (self._reconciled(b) for b in self.store.list(key, limit=limit))
        return [b for b in found if b is not None]

    def build(self, kind: str, namespace: str, name: str, build_id: str) -> Build:
        build = self.store.get(build_id)
        if build.entity_ref != entity_key(kind, namespace, name):
            raise NotFoundError(f"no docs build {build_id} for {kind}:{namespace}/{name}")
        current = self._reconciled(build)
        if current is None:
            raise NotFoundError(f"docs build {build_id} found nothing to build")
        return current

    def build_by_task(self, task_id: str) -> Build | None:
        build = self.store.by_task(task_id)
        return self._reconciled(build) if build is not None else None

    def _reconciled(self, build: Build) -> Build | None:
        """An active build whose task is over without having finished it: failed when its
        worker died for good; gone when it was asked for while its task, already past the
        check, was finding nothing to build."""
        if build.status not in ACTIVE or build.task_id is None:
            return build
        try:
            task = self.platform.tasks.get(build.task_id)
        except NotFoundError:
            task = None
        if task is not None and task.status == "succeeded":
            current = self.store.by_task(build.task_id)
            if current is not None and current.status in ACTIVE:
                self.store.delete(build.id)
                return None
            return current
        if task is not None and task.status not in ("failed", "cancelled"):
            return build
        error = (task.error if task else None) or "the build's task is gone"
        full = self.store.get(build.id)
        self.store.finish(build.id, "failed", log=full.log, error=error)
        return self.store.get(build.id).model_copy(update={"log": build.log})

    def status(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        """What the portal and ``GET /api/techdocs/builds/...`` show for an entity."""
        entity = self.entity(kind, namespace, name)
        key = entity_key(kind, namespace, name)
        try:
            source: dict[str, Any] = {"description": self.resolve(entity).describe()}
        except GoldpathError as exc:
            source = {"error": str(exc)}
        builds = self.builds(kind, namespace, name)
        latest = self.store.get(builds[0].id) if builds else None  # with its log
        good = next((b for b in builds if b.status == "succeeded"), None)
        return {
            "entityRef": key,
            "source": source,
            "latest": latest,
            "lastSuccessful": good,
            "builds": builds,
            "metadata": self.storage.metadata(storage_key(key)),
        }

    def metadata(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        self.entity(kind, namespace, name)
        found = self.storage.metadata(site_key(namespace, kind, name))
        if found is None:
            raise NotFoundError(f"no docs have been built for {kind}:{namespace}/{name} yet")
        return found

    def entity_metadata(self, kind: str, namespace: str, name: str) -> dict[str, Any]:
        entity = self.entity(kind, namespace, name)
        try:
            location = self.resolve(entity).location_metadata()
        except GoldpathError as exc:
            raise NotFoundError(f"no docs location for {kind}:{namespace}/{name}: {exc}") from exc
        return {**entity, "locationMetadata": location}

    def read(self, kind: str, namespace: str, name: str, path: str) -> bytes | None:
        return self.storage.read(site_key(namespace, kind, name), path)

    def overview(self) -> list[dict[str, Any]]:
        """Every entity with docs and its newest build (one query for all builds)."""
        entities = self.docs_entities()
        keys = [
            entity_key(e["kind"], e["metadata"]["namespace"], e["metadata"]["name"])
            for e in entities
        ]
        latest = self.store.latest_of(keys)
        good = self.store.latest_of(keys, ["succeeded"])
        return [
            {"entity": e, "entityRef": k, "latest": latest.get(k), "lastSuccessful": good.get(k)}
            for e, k in zip(entities, keys, strict=True)
        ]

    # ------------------------------------------------------------------ tasks
    def run_check(self, ctx: TaskContext) -> dict[str, Any]:
        payload = ctx.task.payload
        deleted = [str(k) for k in payload.get("deleted") or []]
        if deleted:
            self.delete_docs(deleted)
        if payload.get("origin"):
            queued = self.check_origin(str(payload["origin"]))
        elif payload.get("repo"):
            queued = self.check_repo(str(payload["repo"]))
        else:
            queued = self.check([str(k) for k in payload.get("refs") or []])
        return {"queued": queued, "deleted": deleted}

    def run_build(self, ctx: TaskContext) -> dict[str, Any]:
        from goldpath.docs.runs import run_build

        return run_build(self, ctx)


def get_docs(platform: Platform) -> DocsService:
    return platform.service("docs", DocsService)
