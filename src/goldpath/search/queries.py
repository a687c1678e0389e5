"""The read side: one query answered as a Backstage result set, with facets.

A term's matches, filters included, come from the full-text index alone (filters are tokens
in it); without a term, the documents table and its indexes list what the filters choose.
A page is the ranked ids (one more than asked, to know whether another page follows), then
documents and highlights for those ids only.

A term matching more than the engine's ``rank_cap`` documents is not ranked whole: that
costs more than anyone waits for. Its matches holding every word in a title, name or tag
come first (the first ``rank_cap`` of them, ranked), then the others in index order. A count
past the engine's ``count_cap`` (PostgreSQL's, which reads a heap row per match) is the
planner's estimate, and says so (``numberOfResultsApproximate``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import orjson
from sqlalchemy import Connection, text

from goldpath.core.db import Database
from goldpath.search.engines import Binder, engine_for
from goldpath.search.facets import FacetCounter
from goldpath.search.highlight import mark, matcher, snippet
from goldpath.search.model import POST_TAG, PRE_TAG
from goldpath.search.plan import Plan, conditions, encode_cursor, filter_sql

#: A listing of more documents than this walks the listing order instead of sorting.
LIST_BY_ORDER = 2_000


class SearchQueries:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.engine = engine_for(db.dialect)
        self.facets = FacetCounter(self.engine)

    def run(self, plan: Plan) -> dict[str, Any]:
        with self.db.engine.connect() as conn:
            self.engine.prepare(conn)
            if plan.clauses and plan.filters:
                indexed = self.engine.filters_by_index(
                    conn, list(plan.clauses), plan.filter_tokens()
                )
                plan = replace(plan, filters_indexed=indexed)
            estimated = False
            if plan.clauses:
                total, estimated = self._count_or_estimate(conn, plan)
                if total > self.engine.rank_cap:
                    ids = self._capped_ids(conn, plan)
                elif total > plan.offset:
                    ids = self._ranked_ids(conn, plan, plan.offset, plan.limit + 1)
                else:
                    ids = []
            else:
                total, estimated = self._count_or_estimate(conn, plan)
                ids = self._listed_ids(conn, plan, total) if total > plan.offset else []
            more = len(ids) > plan.limit
            ids = ids[: plan.limit]
            results = self._results(conn, plan, ids)
            facets = self.facets.facets(conn, plan) if plan.facets else None
        out: dict[str, Any] = {"results": results, "numberOfResults": total}
        if estimated:
            out["numberOfResultsApproximate"] = True
        if more:
            out["nextPageCursor"] = encode_cursor(plan, plan.offset + plan.limit)
        if plan.offset > 0:
            out["previousPageCursor"] = encode_cursor(plan, max(0, plan.offset - plan.limit))
        if facets is not None:
            out["facets"] = facets[0]
            if facets[1]:
                out["facetsApproximate"] = True
        return out

    # ------------------------------------------------------------------ ids
    def _ranked_ids(
        self, conn: Connection, plan: Plan, offset: int, limit: int, *, heading: bool = False
    ) -> list[int]:
        """Best first by the engine's rank. ``heading``: among the first ``rank_cap``
        matches (in index order) holding every clause in their title, names or tags."""
        bind = Binder()
        engine = self.engine
        clauses, tokens = list(plan.clauses), plan.filter_tokens()
        if heading:
            where = engine.heading(clauses, tokens, bind)
            score = engine.score(clauses, bind)
            inner = (
                f"SELECT {engine.text_id} AS id, {score} AS score FROM {engine.text_source} "
                f"WHERE {where} LIMIT {engine.rank_cap}"
            )
            query = f"SELECT id FROM ({inner}) AS capped ORDER BY {engine.capped_order}"
        else:
            where = engine.match(clauses, tokens, bind)
            score = engine.score(clauses, bind)
            query = (
                f"SELECT {engine.text_id}, {score} AS score FROM {engine.text_source} "
                f"WHERE {where} ORDER BY {engine.text_order}"
            )
        query += f" LIMIT {bind(limit)} OFFSET {bind(offset)}"
        return [r[0] for r in conn.execute(text(query), bind.params)]

    def _capped_ids(self, conn: Connection, plan: Plan) -> list[int]:
        """Heading matches first (up to ``rank_cap``, ranked), then the rest in index order."""
        want = plan.limit + 1
        ids = self._ranked_ids(conn, plan, plan.offset, want, heading=True)
        if len(ids) >= want:
            return ids
        bind = Binder()
        engine = self.engine
        clauses, tokens = list(plan.clauses), plan.filter_tokens()
        ranked = (
            f"SELECT {engine.text_id} FROM {engine.text_source} "
            f"WHERE {engine.heading(clauses, tokens, bind)} LIMIT {engine.rank_cap}"
        )
        counted = conn.execute(text(f"SELECT count(*) FROM ({ranked}) AS h"), bind.params)
        skip = max(0, plan.offset - int(counted.scalar_one()))
        rest = (
            f"SELECT {engine.text_id} FROM {engine.text_source} "
            f"WHERE {engine.match(clauses, tokens, bind)} AND {engine.text_id} NOT IN ({ranked}) "
            f"ORDER BY {engine.text_id} LIMIT {bind(want - len(ids))} OFFSET {bind(skip)}"
        )
        return ids + [r[0] for r in conn.execute(text(rest), bind.params)]

    def _listed_ids(self, conn: Connection, plan: Plan, total: int) -> list[int]:
        """No term: everything chosen, by type, then title (docs: in site order). Many
        chosen: walk that order and filter; few: find them by the filters' indexes, sort."""
        bind = Binder()
        prefix = self.engine.unindexed if total > LIST_BY_ORDER else ""
        where = " AND ".join([filter_sql(c, v, bind, prefix) for c, v in plan.filters] or ["1 = 1"])
        query = (
            f"SELECT d.id FROM search_documents d WHERE {where} "
            f"ORDER BY d.type, d.sort_key, d.id LIMIT {bind(plan.limit + 1)} "
            f"OFFSET {bind(plan.offset)}"
        )
        return [r[0] for r in conn.execute(text(query), bind.params)]

    # ------------------------------------------------------------------ counts
    def _count(self, conn: Connection, plan: Plan) -> int:
        bind = Binder()
        source, where = conditions(plan, bind, self.engine)
        query = f"SELECT count(*) FROM {source} WHERE {where}"
        return int(conn.execute(text(query), bind.params).scalar_one())

    def _count_or_estimate(self, conn: Connection, plan: Plan) -> tuple[int, bool]:
        """The number of matches, or past the engine's ``count_cap`` the planner's estimate
        (asked first: it costs a plan, while counting reads a row per match)."""
        cap = self.engine.count_cap
        if cap is None:
            return self._count(conn, plan), False
        bind = Binder()
        source, where = conditions(plan, bind, self.engine)
        estimate = self.engine.estimate(conn, f"{source} WHERE {where}", bind.params)
        if estimate <= cap:
            # Estimates err: count, but never much past the cap.
            capped = (
                f"SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {where} LIMIT {2 * cap + 1}) x"
            )
            counted = int(conn.execute(text(capped), bind.params).scalar_one())
            if counted <= 2 * cap:
                return counted, False
        return max(estimate, cap + 1), True

    # ------------------------------------------------------------------ documents
    def _results(self, conn: Connection, plan: Plan, ids: Sequence[int]) -> list[dict[str, Any]]:
        if not ids:
            return []
        bind = Binder()
        rows = {
            r.id: r
            for r in conn.execute(
                text(
                    "SELECT d.id, d.type, c.title, c.body, c.document FROM search_documents d "
                    f"JOIN search_content c ON c.id = d.id WHERE d.id IN ({bind.many(ids)})"
                ),
                bind.params,
            )
        }
        pattern = matcher(list(plan.clauses))
        results = []
        for position, doc_id in enumerate(ids):
            row = rows.get(doc_id)
            if row is None:  # deleted between the two reads
                continue
            document = {"title": row.title, "text": row.body, **orjson.loads(row.document)}
            result: dict[str, Any] = {"type": row.type, "document": document}
            if pattern is not None:
                result["highlight"] = {
                    "preTag": PRE_TAG,
                    "postTag": POST_TAG,
                    "fields": {
                        "title": mark(row.title, pattern, PRE_TAG, POST_TAG),
                        "text": snippet(row.body, pattern, PRE_TAG, POST_TAG),
                    },
                }
            result["rank"] = plan.offset + position + 1
            results.append(result)
        return results


__all__ = ["Plan", "SearchQueries"]
