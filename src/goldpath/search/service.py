"""Search's public face: every adapter (API, CLI, portal, hooks, other features) calls this.

The index follows the catalog through ``goldpath_catalog_changed`` (the final JSON of each
written entity is read back through the catalog's queries) and TechDocs through
``goldpath_docs_built``. A full reindex walks the catalog in pages and reconciles: unchanged
documents are skipped by hash, missing ones written, documents of entities the catalog no
longer has deleted. It runs as a durable task when the index is missing or out of date at
start, every ``plugins.search.reindex_interval_seconds`` (a safety net for changes a crash
kept from the index), and on demand.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import orjson
import structlog
from sqlalchemy.orm import Session

from goldpath.core.db import analyze, vacuum_analyze
from goldpath.core.errors import ConfigError, InputError
from goldpath.core.platform import Platform
from goldpath.search import store
from goldpath.search.documents import (
    UNINDEXED_KINDS,
    EntityFacts,
    entity_row,
    owner_ref,
    page_rows,
    with_entity_facts,
)
from goldpath.search.model import (
    CATALOG,
    DOCUMENT_TYPES,
    FACET_FIELDS,
    FILTER_COLUMNS,
    MAX_PAGE_LIMIT,
    TECHDOCS,
    TEMPLATE,
    SearchQuery,
)
from goldpath.search.plan import Plan, decode_cursor
from goldpath.search.queries import SearchQueries
from goldpath.search.store import SyncReport
from goldpath.search.terms import parse_term

log = structlog.get_logger("goldpath.search")

REINDEX_TASK = "search.reindex"
ENTITY_TYPES = (CATALOG, TEMPLATE)
#: Catalog entities read and indexed per transaction during a reindex.
REINDEX_BATCH = 1000
#: A reindex that wrote this many documents compacts the index afterwards.
OPTIMIZE_AFTER = 5000
ANALYZE_AFTER = 5000
MAX_FILTER_VALUES = 50
DEFAULT_REINDEX_INTERVAL = 86400.0


def _entity_key(ref: str) -> str:
    kind, _, rest = ref.strip().lower().partition(":")
    namespace, slash, name = rest.rpartition("/")
    return f"{kind}:{namespace if slash else 'default'}/{name}"


class SearchService:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.db = platform.db
        self.queries = SearchQueries(platform.db)
        self._analyze_lock = threading.Lock()
        self._changed_since_analyze = 0
        self._analyzed_size = 0
        self.queries.facets.cache_queries = self._setting("facet_cache", True) is not False

    def _setting(self, name: str, default: Any) -> Any:
        section = self.platform.settings.plugins.get("search") or {}
        return section.get(name, default) if isinstance(section, dict) else default

    def _catalog(self) -> Any:
        from goldpath.catalog.service import get_catalog

        return get_catalog(self.platform)

    # ------------------------------------------------------------------ reading
    def plan(self, query: SearchQuery) -> Plan:
        """Check a query and turn it into what the index runs; bad input names its field."""
        clauses = tuple(parse_term(query.term))
        filters: dict[str, set[str]] = {}
        for doc_type in query.types:
            if doc_type not in DOCUMENT_TYPES:
                raise InputError(
                    f"unknown document type {doc_type!r}; expected one of "
                    f"{', '.join(DOCUMENT_TYPES)}",
                    where="types",
                )
            filters.setdefault("type", set()).add(doc_type)
        for name, values in query.filters.items():
            column = FILTER_COLUMNS.get(name)
            if column is None:
                raise InputError(
                    f"cannot filter on {name!r}; filters are {', '.join(FILTER_COLUMNS)}",
                    where=f"filters[{name}]",
                )
            cleaned = {v.strip().lower() for v in values if v and v.strip()}
            if len(cleaned) > MAX_FILTER_VALUES:
                raise InputError(
                    f"at most {MAX_FILTER_VALUES} values per filter", where=f"filters[{name}]"
                )
            if column == "owner":
                cleaned = {owner_ref(v) for v in cleaned}
            if cleaned:
                filters.setdefault(column, set()).update(cleaned)
        if not 1 <= query.page_limit <= MAX_PAGE_LIMIT:
            raise InputError(f"pageLimit must be between 1 and {MAX_PAGE_LIMIT}", where="pageLimit")
        facets = FACET_FIELDS if query.facets is None else tuple(dict.fromkeys(query.facets))
        for facet in facets:
            if facet not in FACET_FIELDS:
                raise InputError(
                    f"unknown facet {facet!r}; facets are {', '.join(FACET_FIELDS)}", where="facets"
                )
        plan = Plan(
            clauses=clauses,
            filters=tuple((c, tuple(sorted(v))) for c, v in sorted(filters.items())),
            limit=query.page_limit,
            facets=facets,
        )
        if query.page_cursor:
            offset = decode_cursor(query.page_cursor, plan.fingerprint())
            plan = Plan(plan.clauses, plan.filters, offset, plan.limit, plan.facets)
        return plan

    def query(self, query: SearchQuery) -> dict[str, Any]:
        """Backstage's ``SearchResultSet`` plus ``facets``."""
        return self.queries.run(self.plan(query))

    def status(self) -> dict[str, Any]:
        with self.db.session(write=False) as session:
            counts = store.counts_by_type(session)
            version = store.get_meta(session, "version")
            generation = store.get_meta(session, "generation") or 0
        catalog_total = self._catalog_total()
        indexed = sum(counts.get(t, 0) for t in ENTITY_TYPES)
        return {
            "documents": {t: counts.get(t, 0) for t in DOCUMENT_TYPES},
            "indexedEntities": indexed,
            "catalogEntities": catalog_total,
            "version": version,
            "generation": generation,
            "upToDate": version == store.INDEX_VERSION and indexed == catalog_total,
        }

    def _catalog_total(self) -> int:
        """Catalog entities the index should hold a document for."""
        queries = self._catalog().queries
        skipped = sum(
            queries.query_page(limit=0, filter=f"kind={kind}").total for kind in UNINDEXED_KINDS
        )
        return int(queries.query_page(limit=0).total) - int(skipped)

    # ------------------------------------------------------------------ writing
    def _write(self, apply: Callable[[Session], SyncReport]) -> SyncReport:
        with self.db.session() as session:
            store.lock(session)
            report = apply(session)
            if report.written or report.deleted:
                store.bump_generation(session)
        self._maybe_analyze(report.written + report.deleted)
        return report

    def _maybe_analyze(self, changed: int) -> None:
        """Refresh the planner's statistics once the index has changed by half since the
        last time (from empty, after ANALYZE_AFTER documents): plans made on an index that
        looked empty of docs pages walk the wrong index once it holds a hundred thousand."""
        with self._analyze_lock:
            self._changed_since_analyze += changed
            due = self._changed_since_analyze >= max(ANALYZE_AFTER, self._analyzed_size // 2)
            if due:
                self._analyzed_size += self._changed_since_analyze
                self._changed_since_analyze = 0
        if due:
            if self.db.is_postgres:
                # VACUUM too: it sets the visibility map (index-only counts) and merges GIN's
                # pending list, which every query would otherwise scan in full.
                vacuum_analyze(self.db, store.TABLES)
            else:
                with self.db.session() as session:
                    analyze(session, store.TABLES)

    def _index_bodies(self, session: Session, keys: list[str], bodies: list[Any]) -> SyncReport:
        """Index the final entities read for ``keys`` (None: no longer in the catalog)."""
        rows, present, gone = [], [], []
        facts: dict[str, EntityFacts] = {}
        for key, body in zip(keys, bodies, strict=True):
            entity_facts = EntityFacts.of(body) if isinstance(body, dict) else None
            row = entity_row(body, entity_facts) if entity_facts is not None else None
            if row is None or entity_facts is None:
                gone.append(key)
                continue
            rows.append(row)
            present.append(row.entity_key)
            facts[row.entity_key] = entity_facts
        report = store.sync(session, rows, present, ENTITY_TYPES)
        report.add(self._refresh_docs(session, facts))
        report.deleted += store.delete_entities(session, gone)
        return report

    def _refresh_docs(self, session: Session, facts: dict[str, EntityFacts]) -> SyncReport:
        """Docs pages carry their entity's owner, lifecycle, type and tags: follow changes."""
        stored = store.stored_rows(session, list(facts), TECHDOCS)
        if not stored:
            return SyncReport()
        rows = [with_entity_facts(row, facts[row.entity_key]) for row in stored]
        return store.sync(session, rows, sorted({r.entity_key for r in rows}), (TECHDOCS,))

    def entities_changed(self, written: list[str], deleted: list[str]) -> SyncReport:
        """The catalog's change hook: index what was written, drop what was deleted (with
        its docs pages). Entities are read after the index lock is held, so the newest
        state is what ends up indexed."""
        keys = list(dict.fromkeys(_entity_key(r) for r in written))
        gone = list(dict.fromkeys(_entity_key(r) for r in deleted))

        def apply(session: Session) -> SyncReport:
            report = SyncReport()
            if keys:
                items = self._catalog().queries.by_refs(keys)["items"]
                report.add(self._index_bodies(session, keys, items))
            report.deleted += store.delete_entities(session, gone)
            return report

        return self._write(apply)

    def docs_built(self, entity_ref: str, pages: list[dict[str, Any]]) -> SyncReport:
        """Replace an entity's techdocs documents with these pages and their sections."""
        key = _entity_key(entity_ref)

        def apply(session: Session) -> SyncReport:
            entity = self._catalog().queries.by_refs([key])["items"][0]
            if entity is None:
                log.warning("docs of an entity not in the catalog are not indexed", entity=key)
                return SyncReport()
            return store.sync(session, page_rows(entity, pages), [key], (TECHDOCS,))

        return self._write(apply)

    def reindex(self, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
        """Reconcile the whole index with the catalog (idempotent; safe while it changes)."""
        started = time.perf_counter()
        catalog = self._catalog()
        report = SyncReport()
        seen: set[str] = set()
        cursor: str | None = None
        done = False
        while not done:

            def batch(session: Session) -> SyncReport:
                nonlocal cursor, done
                page = catalog.queries.query_page(cursor=cursor, limit=REINDEX_BATCH)
                bodies = [orjson.loads(b) for b in page.bodies]
                keys = [_key_of(b) for b in bodies]
                seen.update(keys)
                cursor, done = page.next_cursor, not page.next_cursor
                return self._index_bodies(session, keys, bodies)

            report.add(self._write(batch))
            if progress:
                progress(f"{len(seen)} entities indexed")

        def prune(session: Session) -> SyncReport:
            stale = sorted(store.indexed_entity_keys(session) - seen)
            # Created during the walk, behind its position? Then the change hook indexed it.
            items = catalog.queries.by_refs(stale)["items"] if stale else []
            gone = [key for key, item in zip(stale, items, strict=True) if item is None]
            pruned = SyncReport(deleted=store.delete_entities(session, gone))
            store.set_meta(session, "version", store.INDEX_VERSION)
            store.set_meta(session, "reindexed_at", int(time.time()))
            if report.written >= OPTIMIZE_AFTER:
                store.optimize(session)
            return pruned

        report.add(self._write(prune))
        if report.written >= OPTIMIZE_AFTER:
            vacuum_analyze(self.db, store.TABLES)
        outcome = {
            "entities": len(seen),
            "written": report.written,
            "deleted": report.deleted,
            "unchanged": report.unchanged,
            "seconds": round(time.perf_counter() - started, 3),
        }
        log.info("search index rebuilt", **outcome)
        return outcome

    def seconds_since_reindex(self) -> float:
        with self.db.session(write=False) as session:
            done = store.get_meta(session, "reindexed_at")
        return float("inf") if done is None else time.time() - done

    def schedule_reindex(self) -> str:
        return self.platform.tasks.enqueue(REINDEX_TASK, {}, unique_key="search:reindex")

    def ensure_fresh(self) -> str | None:
        """At start: schedule a reindex when the index was built by another version or does
        not hold as many entities as the catalog (new installation, restored database)."""
        with self.db.session(write=False) as session:
            version = store.get_meta(session, "version")
            counts = store.counts_by_type(session)
        indexed = sum(counts.get(t, 0) for t in ENTITY_TYPES)
        if version == store.INDEX_VERSION and indexed == self._catalog_total():
            return None
        return self.schedule_reindex()

    def reindex_interval(self) -> float:
        value = self._setting("reindex_interval_seconds", None)
        try:
            return DEFAULT_REINDEX_INTERVAL if value is None else float(value)
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                "must be a number of seconds", where="plugins.search.reindex_interval_seconds"
            ) from exc


def _key_of(entity: Any) -> str:
    """An entity's key, cheaply (its documents are built later, from the whole entity)."""
    metadata = entity.get("metadata") if isinstance(entity, dict) else None
    if not isinstance(metadata, dict):
        return ""
    namespace = metadata.get("namespace") or "default"
    return f"{entity.get('kind')}:{namespace}/{metadata.get('name')}".lower()


def get_search(platform: Platform) -> SearchService:
    return platform.service("search", SearchService)


__all__ = ["REINDEX_TASK", "SearchService", "get_search"]
