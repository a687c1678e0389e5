"""What differs between the engines: how a term matches and ranks.

SQLite: FTS5 ``MATCH`` over the external-content table, ``bm25()`` with column weights
(title 10, names and tags 5, kind/type/owner/lifecycle/system 2, text 1; lower is better).
PostgreSQL: ``@@`` on the GIN-indexed, weighted tsvector, ``ts_rank_cd`` with weights A 1.0,
B 0.4, C 0.2, D 0.1 (higher is better). With a term, filters are matched by the full-text
index too, as tokens (``documents.filter_token``): no document is read to filter a match.
Facets, paging and highlights are the same on both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, text

from goldpath.search.terms import (
    HEADING_COLUMNS,
    Clause,
    fts5_match,
    tsquery,
    tsquery_filters,
)


class Binder:
    """Collects bound parameters for one statement, named ``p0``, ``p1``, …"""

    def __init__(self) -> None:
        self.params: dict[str, Any] = {}

    def __call__(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def many(self, values: Sequence[Any]) -> str:
        return ", ".join(self(v) for v in values)


@dataclass(frozen=True)
class TokenFilters:
    """Filters as full-text tokens: any token of a group, every group. ``indexed``: whether
    the engine should find them through its index, or check them on the term's matches."""

    groups: tuple[tuple[str, ...], ...] = ()
    indexed: bool = True


class Engine:
    #: Matches ranked at most, documents a facet pass counts at most, matches counted
    #: exactly at most (None: all); see ``queries``. PostgreSQL reads a heap row per match
    #: (SQLite's full-text index answers most of it alone), so its caps are lower.
    rank_cap = 3_000
    facet_cap = 1_000
    count_cap: int | None = None
    #: Prefix that keeps the planner from using a column's index (SQLite's unary plus).
    unindexed = ""
    #: FROM clause joining the documents (alias ``d``) to what matches the term.
    source = "search_documents d"
    #: The full-text side alone (no lookup per match), its id, and the ranked order.
    text_source = "search_documents d"
    text_id = "d.id"
    text_order = "score, d.id"
    #: ORDER BY over a subquery of ``id, score``.
    capped_order = "score, id"

    def match(self, clauses: list[Clause], filters: TokenFilters, bind: Binder) -> str:
        """Matches of every clause (in the text columns) and filter (by its tokens)."""
        raise NotImplementedError

    def heading(self, clauses: list[Clause], filters: TokenFilters, bind: Binder) -> str:
        """The same, with every clause in the title, names or tags."""
        raise NotImplementedError

    def score(self, clauses: list[Clause], bind: Binder) -> str:
        raise NotImplementedError

    def prepare(self, conn: Connection) -> None:
        """Per-read settings, in the read's own transaction."""

    def filters_by_index(
        self, conn: Connection, clauses: list[Clause], filters: TokenFilters
    ) -> bool:
        """Whether a term's filters are best found through the index."""
        return True

    def estimate(self, conn: Connection, from_where: str, params: dict[str, Any]) -> int:
        raise NotImplementedError


class SqliteEngine(Engine):
    unindexed = "+"
    # CROSS JOIN: SQLite must walk the matches and look documents up, never the reverse
    # (probing the full-text index once per document a filter found: seconds, not ms).
    source = "search_fts CROSS JOIN search_documents d ON d.id = search_fts.rowid"
    text_source = "search_fts"
    text_id = "search_fts.rowid"
    text_order = "score, search_fts.rowid"

    def match(self, clauses: list[Clause], filters: TokenFilters, bind: Binder) -> str:
        return f"search_fts MATCH {bind(fts5_match(clauses, filters.groups))}"

    def heading(self, clauses: list[Clause], filters: TokenFilters, bind: Binder) -> str:
        query = fts5_match(clauses, filters.groups, columns=HEADING_COLUMNS)
        return f"search_fts MATCH {bind(query)}"

    def score(self, clauses: list[Clause], bind: Binder) -> str:
        return "bm25(search_fts, 10.0, 5.0, 2.0, 1.0, 0.0)"


class PostgresEngine(Engine):
    rank_cap = 1_000
    facet_cap = 1_000
    count_cap = 2_000
    source = "search_content c JOIN search_documents d ON d.id = c.id"
    text_source = "search_content c"
    text_id = "c.id"
    text_order = "score DESC, c.id"
    capped_order = "score DESC, id"

    def _tsquery(self, clauses: list[Clause], bind: Binder) -> str:
        return f"to_tsquery('simple', {bind(tsquery(clauses))})"

    def _filters(self, filters: TokenFilters, bind: Binder) -> str:
        if not filters.groups:
            return ""
        condition = f"c.tsv_filter @@ to_tsquery('simple', {bind(tsquery_filters(filters.groups))})"
        # Not indexable as a CASE: checked on each of the term's matches instead.
        return (
            f" AND {condition}" if filters.indexed else f" AND CASE WHEN {condition} THEN true END"
        )

    def match(self, clauses: list[Clause], filters: TokenFilters, bind: Binder) -> str:
        return f"c.tsv @@ {self._tsquery(clauses, bind)}" + self._filters(filters, bind)

    def heading(self, clauses: list[Clause], filters: TokenFilters, bind: Binder) -> str:
        return f"c.tsv_head @@ {self._tsquery(clauses, bind)}" + self._filters(filters, bind)

    def score(self, clauses: list[Clause], bind: Binder) -> str:
        return f"ts_rank_cd('{{0.1, 0.2, 0.4, 1.0}}', c.tsv, {self._tsquery(clauses, bind)})"

    def filters_by_index(
        self, conn: Connection, clauses: list[Clause], filters: TokenFilters
    ) -> bool:
        """The planner intersects GIN posting lists even when a filter's list is far longer
        than the term's (``kind=component``: most of the index): then checking the filter on
        the term's matches is several times faster. Decided by the planner's own row
        estimates (two plans, no execution): the index serves the shorter side."""
        bind = Binder()
        term = f"c.tsv @@ {self._tsquery(clauses, bind)}"
        only = self._filters(filters, bind).removeprefix(" AND ")
        sizes = [
            self.estimate(conn, f"search_content c WHERE {w}", bind.params) for w in (term, only)
        ]
        return sizes[1] < sizes[0]

    def estimate(self, conn: Connection, from_where: str, params: dict[str, Any]) -> int:
        """The planner's row estimate for ``SELECT 1 FROM <from_where>``."""
        explained = conn.execute(
            text(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM {from_where}"), params
        ).scalar_one()
        if isinstance(explained, str | bytes):
            explained = orjson.loads(explained)
        return int(explained[0]["Plan"]["Plan Rows"])

    def prepare(self, conn: Connection) -> None:
        # Parallel workers cost more than they bring to reads of a few milliseconds on a
        # busy server, and the planner reaches for them on broad terms.
        conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))


def engine_for(dialect: str) -> Engine:
    return PostgresEngine() if dialect == "postgresql" else SqliteEngine()
