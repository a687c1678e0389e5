"""Facet counts: how many matches each value of a field would leave.

A field counts the documents matching the term and every filter except its own, so a user
sees what choosing another value would give. One pass over the matched set serves every
field: it selects the documents failing at most one filter, with a flag per filter, and each
field counts the rows only its own filter may fail. The pass stops after the engine's
``facet_cap`` documents ("counting over the matched set with a cap": the counts are then a
sample, lower bounds, and the answer says so). Counts over the whole index (no term, at most
the field's own filter) come from a cache checked against the index's generation (one tiny
read), so a cached answer is never stale; answers to any query can be cached the same way
(``plugins.search.facet_cache``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, text

from goldpath.search.engines import Binder, Engine, TokenFilters
from goldpath.search.model import FACET_VALUES
from goldpath.search.plan import FACET_COLUMNS, Plan, filter_sql

_CACHE_SIZE = 512


class FacetCounter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache: OrderedDict[tuple[Any, ...], tuple[int, dict[str, Any]]] = OrderedDict()
        self._whole: tuple[int, dict[str, dict[str, int]]] | None = None
        self._lock = threading.Lock()
        #: Cache answers to any query (whole-index counts are always cached).
        self.cache_queries = True

    def facets(self, conn: Connection, plan: Plan) -> tuple[dict[str, Any], bool]:
        """``{field: [{value, count}]}`` most frequent first, and whether it is a sample."""
        generation = int(
            conn.execute(text("SELECT value FROM search_meta WHERE key = 'generation'")).scalar()
            or 0
        )
        key = (plan.clauses, plan.filters, plan.facets)
        if self.cache_queries:
            with self._lock:
                cached = self._cache.get(key)
                if cached is not None and cached[0] == generation:
                    self._cache.move_to_end(key)
                    return cached[1]["facets"], cached[1]["sampled"]
        wanted = [FACET_COLUMNS[name] for name in plan.facets]
        filtered = [column for column, _ in plan.filters]
        counts: dict[str, dict[str, int]] = {}
        # No term and at most this field's own filter: the field counts the whole index.
        whole = [c for c in wanted if not plan.clauses and (not filtered or filtered == [c])]
        if whole:
            counts.update(self._whole_index(conn, generation, whole))
        rest = [c for c in wanted if c not in whole]
        sampled = False
        if rest:
            passed, sampled = self._count_pass(conn, plan, rest)
            counts.update(passed)
        facets = {
            name: [
                {"value": value, "count": count}
                for value, count in sorted(
                    counts.get(FACET_COLUMNS[name], {}).items(), key=lambda vc: (-vc[1], vc[0])
                )[:FACET_VALUES]
            ]
            for name in plan.facets
        }
        if self.cache_queries:
            with self._lock:
                self._cache[key] = (generation, {"facets": facets, "sampled": sampled})
                while len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        return facets, sampled

    def _whole_index(
        self, conn: Connection, generation: int, columns: Sequence[str]
    ) -> dict[str, dict[str, int]]:
        with self._lock:
            cached = self._whole
        if cached is None or cached[0] != generation:
            counts: dict[str, dict[str, int]] = {}
            for column in FACET_COLUMNS.values():
                query = (
                    "SELECT tag, count(*) FROM search_tags GROUP BY tag"
                    if column == "tags"
                    else f"SELECT {column}, count(*) FROM search_documents "
                    f"WHERE {column} <> '' GROUP BY {column}"
                )
                counts[column] = {v: int(n) for v, n in conn.execute(text(query))}
            cached = (generation, counts)
            with self._lock:
                self._whole = cached
        return {c: cached[1][c] for c in columns}

    def _count_pass(
        self, conn: Connection, plan: Plan, columns: Sequence[str]
    ) -> tuple[dict[str, dict[str, int]], bool]:
        """Value counts of ``columns``, each over the matches passing every filter but its
        own, in one pass (see the module docstring); True when ``facet_cap`` cut it short.
        The rows are few and narrow, so they are counted here rather than grouped once per
        column by the database (and tags split here rather than joined)."""
        bind = Binder()
        filtered = [column for column, _ in plan.filters]
        flags = [filter_sql(column, values, bind) for column, values in plan.filters]
        if plan.clauses:
            source = self.engine.source
            where = [self.engine.match(list(plan.clauses), TokenFilters(), bind)]
        else:
            source, where = "search_documents d", []
        # Rows failing one filter count only for that filter's field; with no such field
        # wanted (it counted over the whole index, say) every filter must hold.
        if flags and not any(c in filtered for c in columns):
            where += flags
            flags = []
        elif len(flags) > 1:
            passing = " + ".join(f"(CASE WHEN {f} THEN 1 ELSE 0 END)" for f in flags)
            where.append(f"{passing} >= {len(flags) - 1}")
        ok = [f"CASE WHEN {f} THEN 1 ELSE 0 END" for f in flags]
        selected = ", ".join([f"d.{c}" for c in columns] + ok)
        query = (
            f"SELECT {selected} FROM {source} WHERE {' AND '.join(where) or '1 = 1'} "
            f"LIMIT {self.engine.facet_cap}"
        )
        out: dict[str, dict[str, int]] = {c: {} for c in columns}
        width = len(columns)
        # Per filter: the columns a row failing (only) that filter counts for.
        only = [[i for i, c in enumerate(columns) if c == f] for f in filtered]
        every = range(width)
        seen = 0
        for row in conn.execute(text(query), bind.params):
            seen += 1
            failed = [i for i, flag in enumerate(row[width:]) if not flag]
            if len(failed) > 1:
                continue
            for i in only[failed[0]] if failed else every:
                value = row[i]
                if not value:
                    continue
                counts = out[columns[i]]
                if columns[i] == "tags":
                    for tag in value.split():
                        counts[tag] = counts.get(tag, 0) + 1
                else:
                    counts[value] = counts.get(value, 0) + 1
        # A pass that stopped at the cap may have left matches uncounted.
        return out, seen >= self.engine.facet_cap
