"""A query as the index runs it, its cursors, and the SQL conditions it becomes."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from goldpath.core.errors import InputError
from goldpath.search.documents import filter_token
from goldpath.search.engines import Binder, Engine, TokenFilters
from goldpath.search.terms import Clause

#: Facet name -> index column (``types`` is the document type).
FACET_COLUMNS = {
    "types": "type",
    "kind": "kind",
    "type": "spec_type",
    "owner": "owner",
    "lifecycle": "lifecycle",
    "tags": "tags",
}


@dataclass(frozen=True)
class Plan:
    clauses: tuple[Clause, ...]
    #: Index column -> accepted values (lower case); ``type`` holds document types.
    filters: tuple[tuple[str, tuple[str, ...]], ...]
    offset: int = 0
    limit: int = 25
    facets: tuple[str, ...] = field(default=())
    #: With a term: find filters through the index (else check them on the matches).
    filters_indexed: bool = True

    def fingerprint(self) -> str:
        key = orjson.dumps([[list(c.tokens) + [c.prefix] for c in self.clauses], self.filters])
        return hashlib.blake2b(key, digest_size=6).hexdigest()

    def filter_tokens(self) -> TokenFilters:
        """Each filter as the full-text tokens of its values (any of them matches)."""
        groups = tuple(
            tuple(filter_token(column, v) for v in values) for column, values in self.filters
        )
        return TokenFilters(groups, self.filters_indexed)


def encode_cursor(plan: Plan, offset: int) -> str:
    raw = orjson.dumps({"o": offset, "q": plan.fingerprint()})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str) -> int:
    """The offset a ``pageCursor`` stands for; it must come from the same query."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = orjson.loads(raw)
        offset = data["o"]
        same = data["q"] == fingerprint
    except (binascii.Error, ValueError, TypeError, KeyError, orjson.JSONDecodeError) as exc:
        raise InputError("malformed pageCursor", where="pageCursor") from exc
    if not isinstance(offset, int) or offset < 0 or offset > 1_000_000:
        raise InputError("malformed pageCursor", where="pageCursor")
    if not same:
        raise InputError(
            "pageCursor belongs to another query (term, types or filters changed); "
            "start again without it",
            where="pageCursor",
        )
    return offset


def filter_sql(column: str, values: Sequence[str], bind: Binder, prefix: str = "") -> str:
    """One filter on the documents table (alias ``d``). ``prefix``: the engine's
    ``unindexed`` mark, keeping the planner off the column's index (when walking the listing
    order is cheaper than sorting what the index finds)."""
    if column == "tags":
        return (
            "EXISTS (SELECT 1 FROM search_tags t WHERE t.doc_id = d.id "
            f"AND t.tag IN ({bind.many(values)}))"
        )
    return f"{prefix}d.{column} IN ({bind.many(values)})"


def conditions(plan: Plan, bind: Binder, engine: Engine) -> tuple[str, str]:
    """FROM and WHERE for every match: the full-text index alone answers a term with its
    filters; without a term, the documents table and its indexes do."""
    if plan.clauses:
        return engine.text_source, engine.match(list(plan.clauses), plan.filter_tokens(), bind)
    parts = [filter_sql(column, values, bind) for column, values in plan.filters]
    return "search_documents d", " AND ".join(parts) or "1 = 1"
