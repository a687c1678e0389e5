"""The read side of the catalog, with Backstage catalog-backend's query semantics.

Filters are evaluated on ``catalog_search`` (one row per flattened ``key = value``, see
``flatten``) and the stored body of each entity is served as is, so a list is a few indexed
lookups plus string concatenation. Each query picks one of two plans:

- *materialise*: start from the rows of the most selective condition (an index range on
  ``(key, value, entity_id)``), probe every other condition per candidate, then sort the few
  survivors. Chosen when the filter matches few entities.
- *scan*: walk entities in the requested order (an index) and probe the filter per entity until
  the page is full. Chosen for no filter or a filter that matches many entities, where
  materialising and sorting everything would cost far more than the page needs.

Which is which comes from capped counts of each condition (``LIMIT`` on an index range), one
statement per query: neither engine's planner can tell ``kind=component`` (half the catalog)
from ``relations.ownedby=group:default/x`` (a few rows) without per-value statistics.

Every method returns plain JSON-ready objects; the ``*_json`` variants return the serialised
response, built from the stored bodies without parsing them when no ``fields`` are asked for.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, text

from goldpath.core.db import Database
from goldpath.core.errors import InputError, NotFoundError

_GENERATION = text("SELECT value FROM catalog_meta WHERE key = 'generation'")
_FACET_CACHE_SIZE = 256
_COUNT_CACHE_SIZE = 256
_UNREAD = object()
_ESTIMATE_CACHE_SIZE = 1024

#: ``GET /entities/by-query`` page size when the caller gives none (Backstage's default).
DEFAULT_QUERY_LIMIT = 200
#: A filter matching at most this many entities is materialised and sorted; larger ones are
#: scanned in order. Also the cap of the per-condition counts that decide it.
SMALL_SET = 1000
#: Keys every stored entity has with a non-null value (validation and stitching guarantee it),
#: so sorting on them never has to look for entities that lack them.
ALWAYS_PRESENT_KEYS = frozenset(
    {"kind", "apiversion", "metadata.name", "metadata.namespace", "metadata.uid"}
)
#: Rows fetched per round-trip when streaming a large list.
FETCH_CHUNK = 1000
_IN_CHUNK = 500

Json = dict[str, Any]


# ============================================================================ request parsing
@dataclass(frozen=True)
class Condition:
    """``key`` exists (``values`` None) or has one of ``values``; both lower-cased.

    ``negated``: the entity does *not* satisfy that (predicate queries' ``$not``); such a
    condition is only ever probed per entity, never used to drive a lookup.
    """

    key: str
    values: tuple[str, ...] | None = None
    negated: bool = False

    def positive(self) -> Condition:
        return Condition(self.key, self.values) if self.negated else self


@dataclass(frozen=True)
class TextCondition:
    """Full-text filter: some value under one of ``keys`` contains ``term`` (lower-cased)."""

    keys: tuple[str, ...]
    term: str


Cond = Condition | TextCondition
#: OR of AND-groups, as Backstage's ``{anyOf: [{allOf: [...]}]}``.
EntityFilter = tuple[tuple[Condition, ...], ...]


def _strings(param: str | Sequence[str] | None) -> list[str]:
    if param is None:
        return []
    return [param] if isinstance(param, str) else list(param)


def parse_filter(param: str | Sequence[str] | None) -> EntityFilter | None:
    """Backstage's ``filter`` parameters: repeated parameters are OR'ed; inside one, the
    comma-separated ``key=value`` / ``key`` statements are AND'ed, except that statements on
    the same key merge into one "any of these values" condition."""
    groups: list[tuple[Condition, ...]] = []
    for filter_string in _strings(param):
        statements = [s.strip() for s in filter_string.split(",")]
        by_key: dict[str, list[str] | None] = {}
        for statement in statements:
            if not statement:
                continue
            key, sep, value = statement.partition("=")
            key = key.strip()
            if not key:
                raise InputError(
                    f"Invalid filter, '{statement}' is not a valid statement "
                    "(expected a string on the form a=b or a= or a)",
                    where="filter",
                )
            values = by_key.setdefault(key, None)
            if sep:
                by_key[key] = [*(values or []), value.strip()]
        if by_key:
            groups.append(
                tuple(
                    Condition(
                        key.lower(),
                        tuple(dict.fromkeys(v.lower() for v in values)) if values else None,
                    )
                    for key, values in by_key.items()
                )
            )
    return tuple(groups) or None


def and_filters(a: EntityFilter | None, b: EntityFilter | None) -> EntityFilter | None:
    """Both filters (None is "everything"): the OR-groups of each, crossed."""
    if a is None or b is None:
        return b if a is None else a
    return tuple(tuple(dict.fromkeys(ga + gb)) for ga in a for gb in b)


def parse_fields(*params: str | Sequence[str] | None) -> list[str] | None:
    """Backstage's ``fields``: comma-separated and/or repeated dotted paths to keep."""
    fields = [
        part.strip()
        for param in params
        for item in _strings(param)
        for part in item.split(",")
        if part.strip()
    ]
    if not fields:
        return None
    if any("[" in f for f in fields):
        raise InputError("invalid fields, array type fields are not supported", where="fields")
    return list(dict.fromkeys(fields))


def parse_order(param: str | Sequence[str] | None) -> list[tuple[str, str]] | None:
    """``GET /entities``'s ``order=asc:metadata.name`` (repeatable): [(field, direction)]."""
    out: list[tuple[str, str]] = []
    for item in _strings(param):
        direction, sep, field = item.partition(":")
        if not sep or direction not in ("asc", "desc") or not field:
            raise InputError(
                f'Invalid order parameter "{item}", expected "<asc or desc>:<field name>"',
                where="order",
            )
        out.append((field, direction))
    return out or None


def parse_order_fields(param: str | Sequence[str] | None) -> list[tuple[str, str]] | None:
    """``by-query``'s ``orderField=metadata.name,desc`` (repeatable; the order defaults to asc)."""
    out: list[tuple[str, str]] = []
    for item in _strings(param):
        parts = item.split(",")
        direction = parts[1] if len(parts) > 1 else "asc"
        if direction not in ("asc", "desc"):
            raise InputError("Invalid order field order, must be asc or desc", where="orderField")
        out.append((parts[0], direction))
    return out or None


def parse_integer(value: str | int | None, name: str) -> int | None:
    """An integer parameter, strictly (``"10"``, not ``"10x"`` or ``"010"``)."""
    if value is None or isinstance(value, int):
        return value
    try:
        parsed = int(value, 10)
    except ValueError:
        parsed = None
    if parsed is None or str(parsed) != value:
        raise InputError(f"Invalid {name}, not an integer", where=name)
    return parsed


def normalise_ref(ref: str) -> str | None:
    """``kind:namespace/name`` lower-cased with the default namespace filled in; None when
    the string is no entity ref (it then matches nothing)."""
    kind, sep, rest = ref.partition(":")
    if not sep or not kind or not rest:
        return None
    namespace, slash, name = rest.partition("/")
    if not slash:
        namespace, name = "default", rest
    if not namespace or not name:
        return None
    return f"{kind}:{namespace}/{name}".lower()


# ============================================================================ projection
def _get_path(entity: Any, field: str) -> tuple[list[str], Any] | None:
    """Resolve a dotted path whose keys may themselves contain dots (annotation names):
    parts are joined until they name an existing key, as Backstage does."""
    node = entity
    path: list[str] = []
    pending = ""
    for part in field.split("."):
        pending = f"{pending}.{part}" if pending else part
        if isinstance(node, dict) and pending in node:
            node = node[pending]
        elif isinstance(node, list) and pending.isdigit() and int(pending) < len(node):
            node = node[int(pending)]
        else:
            continue
        path.append(pending)
        pending = ""
    # A path that does not resolve all the way selects nothing (Backstage would return the
    # parent it stopped at, which no client relies on).
    if pending or not path:
        return None
    return path, node


def project(entity: Json, fields: Sequence[str]) -> Json:
    """Keep only ``fields`` (dotted paths) of an entity."""
    out: Json = {}
    for field in fields:
        found = _get_path(entity, field)
        if found is None:
            continue
        path, value = found
        target: Any = out
        source: Any = entity
        for i, part in enumerate(path):
            source = source[int(part)] if isinstance(source, list) else source[part]
            last = i == len(path) - 1
            if isinstance(target, list):
                index = int(part)
                while len(target) <= index:
                    target.append(None)
                if last:
                    target[index] = value
                elif target[index] is None:
                    target[index] = [] if isinstance(source, list) else {}
                target = target[index]
            else:
                if last:
                    target[part] = value
                elif part not in target:
                    target[part] = [] if isinstance(source, list) else {}
                target = target[part]
    return out


def _render(bodies: Sequence[str], fields: Sequence[str] | None) -> list[bytes]:
    if fields is None:
        return [b.encode() for b in bodies]
    return [orjson.dumps(project(orjson.loads(b), fields)) for b in bodies]


def _parse(bodies: Sequence[str], fields: Sequence[str] | None) -> list[Json]:
    items = [orjson.loads(b) for b in bodies]
    return items if fields is None else [project(e, fields) for e in items]


# ============================================================================ SQL building
class _Sql:
    """Collects bind parameters while fragments are assembled."""

    def __init__(self, sqlite: bool) -> None:
        self.sqlite = sqlite
        self.params: dict[str, Any] = {}

    def bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"

    def binds(self, values: Sequence[Any]) -> str:
        return ", ".join(self.bind(v) for v in values)

    def key_only(self, column: str) -> str:
        """``column`` in a form no index on ``key`` can serve, for probes by entity: used
        through the (key, value, entity_id) index they would read every row of the key,
        and neither planner knows better without statistics."""
        return f"+{column}" if self.sqlite else f"({column} || '')"

    def exists(self, body: str) -> str:
        """``EXISTS (SELECT 1 FROM <body>)``, evaluated per outer row.

        PostgreSQL would turn it into a semi-join driven by whichever side its (often
        missing) statistics favour, which for ``kind=component`` means half the catalog;
        ``OFFSET 0`` keeps it a per-row probe. SQLite never rewrites it.
        """
        return f"EXISTS (SELECT 1 FROM {body}{'' if self.sqlite else ' OFFSET 0'})"

    def match(self, cond: Cond, alias: str) -> str:
        """Row ``alias`` of catalog_search satisfies ``cond``."""
        assert not _negated(cond), "a negated condition cannot select rows"
        if isinstance(cond, TextCondition):
            pattern = "%" + _escape_like(cond.term) + "%"
            return (
                f"{alias}.key IN ({self.binds(cond.keys)}) "
                f"AND {alias}.value LIKE {self.bind(pattern)} ESCAPE '\\'"
            )
        sql = f"{alias}.key = {self.bind(cond.key)}"
        if cond.values is not None:
            if len(cond.values) == 1:
                sql += f" AND {alias}.value = {self.bind(cond.values[0])}"
            else:
                sql += f" AND {alias}.value IN ({self.binds(cond.values)})"
        return sql

    def probe(self, cond: Cond, entity_id: str) -> str:
        """Entity ``entity_id`` satisfies ``cond``."""
        if isinstance(cond, Condition) and cond.negated:
            return "NOT " + self.probe(cond.positive(), entity_id)
        if isinstance(cond, Condition) and cond.values is not None:
            # (key, value, entity_id): the whole index, one seek per value.
            return self.exists(
                f"catalog_search p WHERE {self.match(cond, 'p')} AND p.entity_id = {entity_id}"
            )
        if isinstance(cond, TextCondition):
            pattern = "%" + _escape_like(cond.term) + "%"
            return self.exists(
                f"catalog_search p WHERE p.entity_id = {entity_id} "
                f"AND {self.key_only('p.key')} IN ({self.binds(cond.keys)}) "
                f"AND p.value LIKE {self.bind(pattern)} ESCAPE '\\'"
            )
        return self.exists(
            f"catalog_search p WHERE p.entity_id = {entity_id} "
            f"AND {self.key_only('p.key')} = {self.bind(cond.key)}"
        )


def _negated(cond: Cond) -> bool:
    return isinstance(cond, Condition) and cond.negated


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass
class _Plan:
    """The filter as AND-groups (full-text folded in), each with its cheapest condition first,
    and whether it is small enough to materialise."""

    groups: list[list[Cond]]
    small: bool
    #: The catalog generation read while planning (``_UNREAD`` when planning needed none).
    generation: Any = _UNREAD

    @property
    def everything(self) -> bool:
        return not self.groups

    def ids_sql(self, sql: _Sql) -> str:
        """SELECT of the distinct ids of matching entities (column ``entity_id``)."""
        parts = []
        for group in self.groups:
            driver, *others = group
            if _negated(driver):
                # Only negations (they sort last, so all are): every entity is a candidate.
                probes = " AND ".join(sql.probe(c, "e.id") for c in group)
                parts.append(f"SELECT e.id AS entity_id FROM catalog_entities e WHERE {probes}")
                continue
            # One (key, value) pair is stored at most once per entity, so only a driver on
            # several values (or on a key alone, or on text) can yield an entity twice.
            unique = (
                isinstance(driver, Condition)
                and driver.values is not None
                and len(driver.values) == 1
            )
            distinct = "" if unique or len(self.groups) > 1 else "DISTINCT "
            where = [sql.match(driver, "d")] + [sql.probe(c, "d.entity_id") for c in others]
            parts.append(
                f"SELECT {distinct}d.entity_id AS entity_id FROM catalog_search d WHERE "
                + " AND ".join(where)
            )
        # UNION removes duplicates across (and within) the groups.
        return " UNION ".join(parts)

    def matches(self, sql: _Sql, entity_id: str) -> str:
        """Boolean SQL: entity ``entity_id`` matches the filter."""
        if self.everything:
            return "1 = 1"
        ors = [" AND ".join(sql.probe(c, entity_id) for c in group) for group in self.groups]
        return "(" + " OR ".join(f"({o})" for o in ors) + ")"

    def single_kind(self) -> str | None:
        """The one kind every match has, when the filter says so (``kind=component``)."""
        if len(self.groups) != 1:
            return None
        for cond in self.groups[0]:
            if (
                isinstance(cond, Condition)
                and not cond.negated
                and cond.key == "kind"
                and cond.values is not None
                and len(cond.values) == 1
            ):
                return cond.values[0]
        return None

    def kind_drives(self) -> bool:
        """The kind is the filter's most selective condition: walking that kind's entities
        meets matches all along (``kind=system``), where a smaller driver (an owner's 30
        entities among 60,000 components) is better materialised."""
        kind = self.single_kind()
        first = self.groups[0][0] if self.groups else None
        return (
            kind is not None
            and isinstance(first, Condition)
            and first.key == "kind"
            and first.values == (kind,)
        )

    def source(self, sql: _Sql) -> tuple[str, str]:
        """FROM and WHERE selecting matching ``catalog_entities e``, in the plan's shape."""
        if self.everything:
            return "catalog_entities e", "1 = 1"
        if self.small:
            # Start from the few ids (CROSS JOIN fixes the join order on SQLite).
            return (
                f"({self.ids_sql(sql)}) x CROSS JOIN catalog_entities e",
                "e.id = x.entity_id",
            )
        return "catalog_entities e", self.matches(sql, "e.id")


# ============================================================================ cursors
@dataclass
class _Cursor:
    """Everything a by-query page needs to find the next one: filters and sort are frozen
    into it so following a cursor can never change the result set under the client."""

    filter: EntityFilter | None
    text: TextCondition | None
    order: tuple[str, str] | None  # (lower-cased key, "asc" | "desc"); None = by uid
    position: list[Any] | None = None  # sort values of the boundary row
    backward: bool = False
    first: list[Any] | None = None  # sort values of the very first row, to know page one
    total: int | None = None
    #: The predicate query (POST by-query) the filter came from, kept as sent: the client
    #: follows a cursor with POST only when its JSON has a top-level ``query`` key.
    query: Any = None

    def following(self, position: list[Any], backward: bool) -> _Cursor:
        return _Cursor(
            self.filter,
            self.text,
            self.order,
            position,
            backward,
            self.first,
            self.total,
            self.query,
        )

    def encode(self) -> str:
        data: Json = {
            "f": [
                [
                    [c.key, list(c.values) if c.values is not None else None]
                    + ([True] if c.negated else [])
                    for c in g
                ]
                for g in self.filter or ()
            ],
            "t": [list(self.text.keys), self.text.term] if self.text else None,
            "o": list(self.order) if self.order else None,
            "p": self.position,
            "b": self.backward,
            "s": self.first,
            "n": self.total,
        }
        if self.query is not None:
            # Standard base64 with padding: what the client's ``atob`` can read.
            data["query"] = self.query
            return base64.b64encode(orjson.dumps(data)).decode()
        return base64.urlsafe_b64encode(orjson.dumps(data)).rstrip(b"=").decode()

    @classmethod
    def decode(cls, raw: str) -> _Cursor:
        try:
            # Either alphabet; a "+" that came through a query string unencoded is a space.
            padded = raw.strip().replace(" ", "+").replace("-", "+").replace("_", "/")
            data = orjson.loads(base64.b64decode(padded + "=" * (-len(padded) % 4)))
            groups = tuple(
                tuple(
                    Condition(
                        str(cond[0]),
                        tuple(str(v) for v in cond[1]) if cond[1] is not None else None,
                        negated=_negation_flag(cond[2:]),
                    )
                    for cond in group
                )
                for group in data["f"]
            )
            text_ = data["t"]
            order = data["o"]
            if order is not None and (len(order) != 2 or order[1] not in ("asc", "desc")):
                raise ValueError("bad order")
            position, first, total = data["p"], data["s"], data["n"]
            for pos in (position, first):
                if pos is not None and not _valid_position(pos, order is not None):
                    raise ValueError("bad position")
            if not isinstance(total, int) or not isinstance(data["b"], bool):
                raise ValueError("bad counters")
            return cls(
                filter=groups or None,
                text=TextCondition(tuple(str(k) for k in text_[0]), str(text_[1]))
                if text_
                else None,
                order=(str(order[0]), order[1]) if order else None,
                position=position,
                backward=data["b"],
                first=first,
                total=total,
                query=data.get("query"),
            )
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            raise InputError(f"Malformed cursor: {exc}", where="cursor") from exc


def _negation_flag(rest: list[Any]) -> bool:
    if rest == [] or rest == [True]:
        return bool(rest)
    raise ValueError("bad condition")


def _valid_position(pos: Any, by_field: bool) -> bool:
    # Positions go back into SQL comparisons: their types must be what the columns hold.
    if not isinstance(pos, list):
        return False
    if not by_field:
        return len(pos) == 1 and isinstance(pos[0], str)
    return (
        len(pos) == 2
        and (pos[0] is None or isinstance(pos[0], str))
        and isinstance(pos[1], int)
        and not isinstance(pos[1], bool)
    )


def encode_after(limit: int, offset: int) -> str:
    """``GET /entities``'s ``after``: base64 of ``{"limit", "offset"}``, as Backstage's."""
    return base64.b64encode(orjson.dumps({"limit": limit, "offset": offset})).decode()


def decode_after(after: str) -> tuple[int | None, int | None]:
    try:
        data = orjson.loads(base64.b64decode(after + "=" * (-len(after) % 4)))
        if not isinstance(data, dict):
            raise ValueError("not an object")
    except (ValueError, binascii.Error) as exc:
        raise InputError("Malformed after cursor, could not be parsed", where="after") from exc
    limit, offset = data.get("limit"), data.get("offset")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool)):
        raise InputError("Malformed after cursor, limit was not an number", where="after")
    if offset is not None and (not isinstance(offset, int) or isinstance(offset, bool)):
        raise InputError("Malformed after cursor, offset was not a number", where="after")
    return limit, offset


@dataclass
class EntitiesPage:
    """A ``GET /entities`` result: bodies as stored, and the ``after`` of the next page."""

    bodies: list[str]
    after: str | None


@dataclass
class QueryPage:
    bodies: list[str]
    total: int
    next_cursor: str | None
    prev_cursor: str | None

    def page_info(self) -> Json:
        info: Json = {}
        if self.next_cursor:
            info["nextCursor"] = self.next_cursor
        if self.prev_cursor:
            info["prevCursor"] = self.prev_cursor
        return info


# ============================================================================ queries
class EntityQueries:
    """Backstage's entity reads over the stored final entities."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._facet_cache: dict[
            tuple[tuple[str, ...], tuple[str, ...], EntityFilter | None], tuple[Any, Json]
        ] = {}
        self._facet_lock = threading.Lock()
        self._count_cache: dict[tuple[tuple[Cond, ...], ...], tuple[Any, int]] = {}
        self._kind_key_cache: dict[tuple[str, str, str], tuple[Any, bool]] = {}
        self._estimate_cache: dict[tuple[Cond, int], tuple[Any, int]] = {}

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        # A bare connection: reads need no ORM session, and each call is one short snapshot.
        with self.db.engine.connect() as conn:
            yield conn

    def _sql(self) -> _Sql:
        return _Sql(self.db.is_sqlite)

    # ------------------------------------------------------------------ planning
    def _plan(
        self,
        conn: Connection,
        filter_: EntityFilter | None,
        text_: TextCondition | None,
        *,
        need_size: bool = True,
    ) -> _Plan:
        """Order each group's conditions cheapest first and decide materialise vs scan.

        ``need_size=False`` when every match is fetched anyway: then a lone condition needs
        no counting at all.
        """
        groups: list[list[Cond]] = [list(g) for g in filter_ or ()]
        if text_ is not None:
            groups = [g + [text_] for g in groups] if groups else [[text_]]
        if not groups:
            return _Plan([], small=False)
        if not need_size and len(groups) == 1 and len(groups[0]) == 1:
            return _Plan(groups, small=True)
        generation = conn.execute(_GENERATION).scalar()
        counts = self._estimate(
            conn, list(dict.fromkeys(c for g in groups for c in g if not _negated(c))), generation
        )
        # A negation selects no index range: it is probed last and never drives. A group of
        # negations alone walks every entity, so it counts as large.
        unbounded = SMALL_SET + 1
        for group in groups:
            group.sort(key=lambda c: (_negated(c), counts.get(c, unbounded)))
        small = sum(counts.get(g[0], unbounded) for g in groups) <= SMALL_SET
        return _Plan(groups, small=small, generation=generation)

    def _estimate(
        self, conn: Connection, conds: Sequence[Cond], generation: Any
    ) -> dict[Cond, int]:
        """How many rows each condition selects, counted only up to just past SMALL_SET.

        Remembered per catalog generation: every page of a filtered list plans again (a
        cursor carries the filter, not the plan), and counting a text condition's matches
        reads up to every value of its keys (~60 ms at 100,000 entities on PostgreSQL).
        """
        cap = SMALL_SET + 1
        found: dict[Cond, int] = {}
        missing = []
        for cond in conds:
            cached = self._estimate_cache.get((cond, cap))
            if cached is not None and cached[0] == generation:
                found[cond] = cached[1]
            else:
                missing.append(cond)
        if not missing:
            return found
        sql = self._sql()
        columns = [
            f"(SELECT count(*) FROM (SELECT 1 FROM catalog_search d WHERE {sql.match(c, 'd')} "
            f"LIMIT {cap}) x{i})"
            for i, c in enumerate(missing)
        ]
        row = conn.execute(text("SELECT " + ", ".join(columns)), sql.params).one()
        with self._facet_lock:
            for cond, n in zip(missing, row, strict=True):
                found[cond] = int(n)
                if len(self._estimate_cache) >= _ESTIMATE_CACHE_SIZE:
                    self._estimate_cache.pop(next(iter(self._estimate_cache)))
                self._estimate_cache[(cond, cap)] = (generation, int(n))
        return found

    # ------------------------------------------------------------------ single entities
    def _one(self, where: str, value: str) -> str | None:
        with self._connect() as conn:
            body: str | None = conn.execute(
                text(f"SELECT body FROM catalog_entities WHERE {where} = :v"), {"v": value}
            ).scalar()
        return body

    def by_name_json(self, kind: str, namespace: str, name: str) -> bytes:
        body = self._one("ref_key", f"{kind}:{namespace}/{name}".lower())
        if body is None:
            raise NotFoundError(
                f"No entity named '{name}' found, with kind '{kind}' in namespace '{namespace}'",
                where=f"{kind}:{namespace}/{name}",
            )
        return body.encode()

    def by_name(self, kind: str, namespace: str, name: str) -> Json:
        result: Json = orjson.loads(self.by_name_json(kind, namespace, name))
        return result

    def by_uid_json(self, uid: str) -> bytes:
        body = self._one("uid", uid.strip().lower())
        if body is None:
            raise NotFoundError(f"No entity with uid {uid}", where=uid)
        return body.encode()

    def by_uid(self, uid: str) -> Json:
        result: Json = orjson.loads(self.by_uid_json(uid))
        return result

    # ------------------------------------------------------------------ by-refs
    def _by_refs(
        self, entity_refs: Sequence[str], filter_: Any, where: EntityFilter | None = None
    ) -> list[str | None]:
        parsed = and_filters(parse_filter(filter_), where)
        keys = [normalise_ref(r) if isinstance(r, str) else None for r in entity_refs]
        wanted = list(dict.fromkeys(k for k in keys if k))
        found: dict[str, str] = {}
        with self._connect() as conn:
            plan = _Plan([list(g) for g in parsed or ()], small=False)
            for start in range(0, len(wanted), _IN_CHUNK):
                sql = self._sql()
                chunk = wanted[start : start + _IN_CHUNK]
                query = (
                    f"SELECT e.ref_key, e.body FROM catalog_entities e "
                    f"WHERE e.ref_key IN ({sql.binds(chunk)}) AND {plan.matches(sql, 'e.id')}"
                )
                found.update((k, v) for k, v in conn.execute(text(query), sql.params))
        return [found.get(k) if k else None for k in keys]

    def by_refs_json(
        self,
        entity_refs: Sequence[str],
        fields: Sequence[str] | None = None,
        filter: Any = None,
        where: EntityFilter | None = None,
    ) -> bytes:
        """``where``: an already parsed filter (a predicate query), AND'ed with ``filter``."""
        bodies = self._by_refs(entity_refs, filter, where)
        wanted = parse_fields(fields)
        parts = [b"null" if body is None else _render([body], wanted)[0] for body in bodies]
        return b'{"items":[' + b",".join(parts) + b"]}"

    def by_refs(
        self,
        entity_refs: Sequence[str],
        fields: Sequence[str] | None = None,
        filter: Any = None,
        where: EntityFilter | None = None,
    ) -> Json:
        """``POST /entities/by-refs``: ``{"items": [...]}`` in request order, null if missing."""
        wanted = parse_fields(fields)
        items = [
            None if body is None else _parse([body], wanted)[0]
            for body in self._by_refs(entity_refs, filter, where)
        ]
        return {"items": items}

    # ------------------------------------------------------------------ GET /entities
    def _list_sql(
        self,
        conn: Connection,
        filter_: EntityFilter | None,
        order: list[tuple[str, str]] | None,
        offset: int | None,
        limit: int | None,
    ) -> tuple[str, dict[str, Any]]:
        plan = self._plan(conn, filter_, None, need_size=limit is not None)
        if limit is None and not plan.everything:
            # Everything that matches is returned anyway: materialising is never worse.
            plan.small = True
        sql = self._sql()
        source, where = plan.source(sql)
        columns = ["e.body"]
        order_by: list[str] = []
        for i, (field, direction) in enumerate(order or ()):
            agg = "MIN" if direction == "asc" else "MAX"
            columns.append(
                f"(SELECT {agg}(p.value) FROM catalog_search p WHERE p.entity_id = e.id "
                f"AND {sql.key_only('p.key')} = {sql.bind(field.lower())}) AS o{i}"
            )
            # NULLS LAST names the alias directly: PostgreSQL rejects aliases inside
            # expressions such as CASE in ORDER BY.
            order_by.append(f"o{i} {direction.upper()} NULLS LAST")
        order_by.append("e.ref_key")
        query = (
            f"SELECT {', '.join(columns)} FROM {source} WHERE {where} "
            f"ORDER BY {', '.join(order_by)}"
        )
        if limit is not None:
            query += f" LIMIT {sql.bind(limit + 1)}"
        elif offset:
            query += " LIMIT -1" if sql.sqlite else ""
        if offset:
            query += f" OFFSET {sql.bind(offset)}"
        return query, sql.params

    def _list_args(
        self,
        filter: Any,
        order: Any,
        offset: int | str | None,
        limit: int | str | None,
        after: str | None,
    ) -> tuple[EntityFilter | None, list[tuple[str, str]] | None, int | None, int | None]:
        offset_ = parse_integer(offset, "offset")
        limit_ = parse_integer(limit, "limit")
        if offset_ is not None and offset_ < 0:
            raise InputError("Invalid offset, must be zero or greater", where="offset")
        if limit_ is not None and limit_ <= 0:
            raise InputError("Invalid limit, must be greater than zero", where="limit")
        if after is not None:
            if not after:
                raise InputError("Invalid after, must not be empty", where="after")
            after_limit, after_offset = decode_after(after)
            limit_ = after_limit if after_limit is not None else limit_
            offset_ = after_offset if after_offset is not None else offset_
        return parse_filter(filter), parse_order(order), offset_, limit_

    def list_page(
        self,
        filter: Any = None,
        order: Any = None,
        offset: int | str | None = None,
        limit: int | str | None = None,
        after: str | None = None,
    ) -> EntitiesPage:
        """``GET /entities`` as stored bodies plus the ``after`` cursor of the next page."""
        filter_, order_, offset_, limit_ = self._list_args(filter, order, offset, limit, after)
        with self._connect() as conn:
            query, params = self._list_sql(conn, filter_, order_, offset_, limit_)
            bodies = [row[0] for row in conn.execute(text(query), params)]
        next_after = None
        if limit_ is not None and len(bodies) > limit_:
            bodies = bodies[:limit_]
            next_after = encode_after(limit_, (offset_ or 0) + limit_)
        return EntitiesPage(bodies, next_after)

    def iter_list_json(
        self, filter: Any = None, order: Any = None, fields: Any = None
    ) -> Iterator[bytes]:
        """``GET /entities`` without a limit as JSON array chunks, so a huge catalog streams
        instead of being built in memory. Arguments are checked before the first chunk."""
        filter_, order_, _, _ = self._list_args(filter, order, None, None, None)
        wanted = parse_fields(fields)

        def chunks() -> Iterator[bytes]:
            first = True
            with self._connect() as conn:
                query, params = self._list_sql(conn, filter_, order_, None, None)
                result = conn.execute(text(query), params)
                while rows := result.fetchmany(FETCH_CHUNK):
                    rendered = b",".join(_render([r[0] for r in rows], wanted))
                    yield (b"[" if first else b",") + rendered
                    first = False
            yield b"[]" if first else b"]"

        # The query runs, and its first rows arrive, before this returns: a failing statement
        # raises here (an error response) instead of cutting a 200 response short.
        stream = chunks()
        head = next(stream)
        return itertools.chain((head,), stream)

    def list_entities(
        self,
        filter: Any = None,
        fields: Any = None,
        order: Any = None,
        offset: int | str | None = None,
        limit: int | str | None = None,
        after: str | None = None,
    ) -> list[Json]:
        """``GET /entities``: matching entities, by entity ref unless ``order`` says otherwise."""
        wanted = parse_fields(fields)
        return _parse(self.list_page(filter, order, offset, limit, after).bodies, wanted)

    # ------------------------------------------------------------------ by-query
    def query_page(
        self,
        *,
        cursor: str | None = None,
        limit: int | str | None = None,
        offset: int | str | None = None,
        filter: Any = None,
        order_fields: Any = None,
        full_text_term: str | None = None,
        full_text_fields: Any = None,
        where: EntityFilter | None = None,
        query: Any = None,
    ) -> QueryPage:
        """``GET /entities/by-query`` as stored bodies, total and cursors.

        ``where`` is an already parsed filter AND'ed with ``filter``; ``query`` the predicate
        it came from (``POST /entities/by-query``), which the cursors then carry.
        """
        limit_ = parse_integer(limit, "limit")
        limit_ = DEFAULT_QUERY_LIMIT if limit_ is None else limit_
        if limit_ < 0:
            raise InputError("Invalid limit, must be zero or greater", where="limit")
        offset_ = 0
        if cursor:
            state = _Cursor.decode(cursor)
        else:
            offset_ = parse_integer(offset, "offset") or 0
            if offset_ < 0:
                raise InputError("Invalid offset, must be zero or greater", where="offset")
            orders = parse_order_fields(order_fields)
            order = (orders[0][0].lower(), orders[0][1]) if orders else None
            term = (full_text_term or "").strip().lower()
            text_ = None
            if term:
                keys = [
                    k.strip().lower()
                    for item in _strings(full_text_fields)
                    for k in item.split(",")
                    if k.strip()
                ] or [order[0] if order else "metadata.uid"]
                text_ = TextCondition(tuple(dict.fromkeys(keys)), term)
            state = _Cursor(and_filters(parse_filter(filter), where), text_, order, query=query)
        with self._connect() as conn:
            return self._query(conn, state, limit_, offset_)

    def query_entities(
        self,
        *,
        cursor: str | None = None,
        limit: int | str | None = None,
        offset: int | str | None = None,
        filter: Any = None,
        fields: Any = None,
        order_fields: Any = None,
        full_text_term: str | None = None,
        full_text_fields: Any = None,
        where: EntityFilter | None = None,
        query: Any = None,
    ) -> Json:
        """``GET /entities/by-query``: ``{"items", "totalItems", "pageInfo"}``."""
        wanted = parse_fields(fields)
        page = self.query_page(
            cursor=cursor,
            limit=limit,
            offset=offset,
            filter=filter,
            order_fields=order_fields,
            full_text_term=full_text_term,
            full_text_fields=full_text_fields,
            where=where,
            query=query,
        )
        return {
            "items": _parse(page.bodies, wanted),
            "totalItems": page.total,
            "pageInfo": page.page_info(),
        }

    def query_entities_json(self, *, fields: Any = None, **kwargs: Any) -> bytes:
        wanted = parse_fields(fields)
        page = self.query_page(**kwargs)
        return (
            b'{"items":['
            + b",".join(_render(page.bodies, wanted))
            + b'],"totalItems":'
            + str(page.total).encode()
            + b',"pageInfo":'
            + orjson.dumps(page.page_info())
            + b"}"
        )

    def _query(self, conn: Connection, state: _Cursor, limit: int, offset: int) -> QueryPage:
        plan = self._plan(conn, state.filter, state.text)
        total = state.total
        # A small set is counted by the page query itself (a window over the whole set);
        # counting a large one is a query of its own.
        counted = total is None and plan.small
        if total is None and not plan.small:
            total = self._count(conn, plan)
        # One extra row tells whether another page follows (or precedes, going back).
        want = limit + 1
        rows: list[tuple[list[Any], int]] = []
        window: int | None = None
        if limit == 0:
            pass
        elif state.order is None:
            rows, window = self._rows_by_uid(conn, plan, state, want, offset, counted)
        elif plan.small and not (_names_in_kind(plan, state.order) and plan.kind_drives()):
            rows, window = self._rows_sorted_small(conn, plan, state, want, offset, counted)
        else:
            rows = self._rows_sorted_scan(conn, plan, state, want, offset)
        if total is None:
            total = window if window is not None else self._count(conn, plan)
        more = len(rows) > limit
        rows = rows[:limit]
        if state.backward:
            rows.reverse()
        initial = state.position is None
        first = (rows[0][0] if rows else None) if initial else state.first
        # Going forward, the extra row says whether a next page exists and the first row of
        # the first page says whether this is it; going back, it is the other way round.
        if state.backward:
            has_next, has_prev = True, more
        else:
            has_next, has_prev = more, not initial and bool(rows) and rows[0][0] != first
        next_cursor = prev_cursor = None
        frozen = _Cursor(
            state.filter, state.text, state.order, None, False, first, total, state.query
        )
        if rows and has_next:
            next_cursor = frozen.following(rows[-1][0], False).encode()
        if rows and has_prev:
            prev_cursor = frozen.following(rows[0][0], True).encode()
        bodies = self._bodies(conn, [entity_id for _, entity_id in rows])
        return QueryPage(bodies, total, next_cursor, prev_cursor)

    def _count(self, conn: Connection, plan: _Plan) -> int:
        """Counted once per catalog generation, as facets are: a large set costs a walk of
        its index range (an intersection of two halves of 100,000 entities: ~80 ms), and
        the same list is asked for again and again between two changes of the catalog.

        The generation is read before counting, so a write in between only makes the
        cached count newer than its generation, and the next read counts again.
        """
        key = tuple(tuple(group) for group in plan.groups)
        generation = plan.generation
        if generation is _UNREAD:
            generation = conn.execute(_GENERATION).scalar()
        cached = self._count_cache.get(key)
        if cached is not None and cached[0] == generation:
            return cached[1]
        total = self._count_now(conn, plan)
        with self._facet_lock:
            if len(self._count_cache) >= _COUNT_CACHE_SIZE:
                self._count_cache.pop(next(iter(self._count_cache)))
            self._count_cache[key] = (generation, total)
        return total

    def _count_now(self, conn: Connection, plan: _Plan) -> int:
        if plan.everything:
            return int(conn.execute(text("SELECT count(*) FROM catalog_entities")).scalar_one())
        sql = self._sql()
        query = f"SELECT count(*) FROM ({plan.ids_sql(sql)}) c"
        return int(conn.execute(text(query), sql.params).scalar_one())

    def _bodies(self, conn: Connection, ids: Sequence[int]) -> list[str]:
        found: dict[int, str] = {}
        for start in range(0, len(ids), _IN_CHUNK):
            sql = self._sql()
            chunk = ids[start : start + _IN_CHUNK]
            query = f"SELECT id, body FROM catalog_entities WHERE id IN ({sql.binds(chunk)})"
            found.update((k, v) for k, v in conn.execute(text(query), sql.params))
        return [found[i] for i in ids if i in found]

    def _rows_by_uid(
        self, conn: Connection, plan: _Plan, state: _Cursor, want: int, offset: int, count: bool
    ) -> tuple[list[tuple[list[Any], int]], int | None]:
        """Default order, by uid (Backstage orders by its entity id, which is the uid)."""
        sql = self._sql()
        source, condition = plan.source(sql)
        where = [condition]
        direction = "DESC" if state.backward else "ASC"
        if state.position is not None:
            op = "<" if state.backward else ">"
            where.append(f"e.uid {op} {sql.bind(str(state.position[0]))}")
        window = ", count(*) OVER ()" if count else ", NULL"
        query = (
            f"SELECT e.uid, e.id{window} FROM {source} WHERE {' AND '.join(where)} "
            f"ORDER BY e.uid {direction} LIMIT {sql.bind(want)}"
        )
        if offset:
            query += f" OFFSET {sql.bind(offset)}"
        result = conn.execute(text(query), sql.params).all()
        total = int(result[0][2]) if count and result else None
        return [([uid], entity_id) for uid, entity_id, _ in result], total

    def _rows_sorted_small(
        self, conn: Connection, plan: _Plan, state: _Cursor, want: int, offset: int, count: bool
    ) -> tuple[list[tuple[list[Any], int]], int | None]:
        """Field order over a small matching set: compute each entity's sort value, sort."""
        assert state.order is not None
        key, declared = state.order
        sql = self._sql()
        agg = "MIN" if declared == "asc" else "MAX"
        forward_dir = declared.upper()
        back_dir = "DESC" if declared == "asc" else "ASC"
        inner = (
            f"SELECT x.entity_id AS id, (SELECT {agg}(p.value) FROM catalog_search p "
            f"WHERE p.entity_id = x.entity_id AND {sql.key_only('p.key')} = {sql.bind(key)}) "
            f"AS sv FROM ({plan.ids_sql(sql)}) x"
        )
        where = "1 = 1"
        if state.position is not None:
            value, last_id = state.position
            after = ">" if declared == "asc" else "<"
            before = "<" if declared == "asc" else ">"
            if value is not None:
                v, i = sql.bind(value), sql.bind(last_id)
                if state.backward:
                    where = (
                        f"(t.sv IS NOT NULL AND (t.sv {before} {v} "
                        f"OR (t.sv = {v} AND t.id {before} {i})))"
                    )
                else:
                    where = (
                        f"(t.sv IS NULL OR t.sv {after} {v} OR (t.sv = {v} AND t.id {after} {i}))"
                    )
            else:
                i = sql.bind(last_id)
                if state.backward:
                    where = f"(t.sv IS NOT NULL OR t.id {before} {i})"
                else:
                    where = f"(t.sv IS NULL AND t.id {after} {i})"
        nulls = "CASE WHEN t.sv IS NULL THEN 1 ELSE 0 END"
        if state.backward:
            order_by = f"{nulls} DESC, t.sv {back_dir}, t.id {back_dir}"
        else:
            order_by = f"{nulls} ASC, t.sv {forward_dir}, t.id {forward_dir}"
        window = ", count(*) OVER ()" if count else ", NULL"
        query = (
            f"SELECT t.sv, t.id{window} FROM ({inner}) t WHERE {where} ORDER BY {order_by} "
            f"LIMIT {sql.bind(want)}"
        )
        if offset:
            query += f" OFFSET {sql.bind(offset)}"
        result = conn.execute(text(query), sql.params).all()
        total = int(result[0][2]) if count and result else None
        return [([sv, entity_id], entity_id) for sv, entity_id, _ in result], total

    def _rows_sorted_scan(
        self, conn: Connection, plan: _Plan, state: _Cursor, want: int, offset: int
    ) -> list[tuple[list[Any], int]]:
        """Field order over a large set: walk the (key, value, entity_id) index in order and
        probe the filter, then (nulls last) the entities without a value for the key."""
        assert state.order is not None
        key, declared = state.order
        ascending = (declared == "asc") != state.backward
        need = want + offset
        rows: list[tuple[list[Any], int]] = []
        position = state.position
        in_nulls = position is not None and position[0] is None
        phases = ["nulls", "keyed"] if state.backward else ["keyed", "nulls"]
        if not self._kind_may_have(conn, plan, key):
            phases.remove("keyed")
        for phase in phases:
            if len(rows) >= need:
                break
            if phase == "keyed":
                if in_nulls and not state.backward:
                    continue  # past every keyed row already
                start = position if position is not None and not in_nulls else None
                rows += self._keyed(conn, plan, key, declared, ascending, start, need - len(rows))
            else:
                if key in ALWAYS_PRESENT_KEYS:
                    continue
                if state.backward and not in_nulls:
                    continue  # nulls sort after every keyed row
                start_id = position[1] if in_nulls and position is not None else None
                rows += self._nulls(conn, plan, key, ascending, start_id, need - len(rows))
        return rows[offset:]

    def _keyed(
        self,
        conn: Connection,
        plan: _Plan,
        key: str,
        declared: str,
        ascending: bool,
        start: list[Any] | None,
        n: int,
    ) -> list[tuple[list[Any], int]]:
        if _names_in_kind(plan, (key, declared)):
            kind = plan.single_kind()
            assert kind is not None
            return self._names_of_kind(conn, plan, kind, ascending, start, n)
        sql = self._sql()
        k = sql.bind(key)
        direction = "ASC" if ascending else "DESC"
        # An entity with several values under the key (tags) sorts by its least (greatest,
        # descending) one and appears once.
        agg = "MIN" if declared == "asc" else "MAX"
        where = [f"s.key = {k}", "s.value IS NOT NULL"]
        if start is not None:
            op = ">" if ascending else "<"
            bound = f"({sql.bind(start[0])}, {sql.bind(start[1])})"
            where.append(f"(s.value, s.entity_id) {op} {bound}")
        # Filter probes first: SQLite evaluates terms in order, and the filter is a single
        # index seek while the de-duplication below reads all of the entity's rows.
        if not plan.everything:
            where.append(plan.matches(sql, "s.entity_id"))
        where.append(
            f"s.value = (SELECT {agg}(p.value) FROM catalog_search p "
            f"WHERE p.entity_id = s.entity_id AND {sql.key_only('p.key')} = {k})"
        )
        query = (
            f"SELECT s.value, s.entity_id FROM catalog_search s WHERE {' AND '.join(where)} "
            f"ORDER BY s.value {direction}, s.entity_id {direction} LIMIT {sql.bind(n)}"
        )
        return [([v, i], i) for v, i in conn.execute(text(query), sql.params)]

    def _kind_may_have(self, conn: Connection, plan: _Plan, key: str) -> bool:
        """False when the filter's one kind has no entity with a value under ``key`` (groups
        by lifecycle): the walk of every entity's value for that key would find nothing,
        after reading all of them. Asking the kind's entities costs at most one probe each,
        and is remembered until the catalog changes (as counts are).
        """
        kind = plan.single_kind()
        if kind is None or key in ALWAYS_PRESENT_KEYS:
            return True
        cache_key = ("has", kind, key)
        generation = plan.generation
        if generation is _UNREAD:
            generation = conn.execute(_GENERATION).scalar()
        cached = self._kind_key_cache.get(cache_key)
        if cached is not None and cached[0] == generation:
            return cached[1]
        sql = self._sql()
        probe = sql.exists(
            f"catalog_search p WHERE p.entity_id = e.id "
            f"AND {sql.key_only('p.key')} = {sql.bind(key)} AND p.value IS NOT NULL"
        )
        query = (
            f"SELECT 1 FROM catalog_entities e WHERE lower(e.kind) = {sql.bind(kind)} "
            f"AND {probe} LIMIT 1"
        )
        found = conn.execute(text(query), sql.params).first() is not None
        with self._facet_lock:
            if len(self._kind_key_cache) >= _COUNT_CACHE_SIZE:
                self._kind_key_cache.pop(next(iter(self._kind_key_cache)))
            self._kind_key_cache[cache_key] = (generation, found)
        return found

    def _names_of_kind(
        self,
        conn: Connection,
        plan: _Plan,
        kind: str,
        ascending: bool,
        start: list[Any] | None,
        n: int,
    ) -> list[tuple[list[Any], int]]:
        """One kind in name order, from the ``(lower(kind), lower(name), id)`` index.

        Walking the names of every entity for those of one kind costs as many rows as sort
        before that kind's first match: most of the catalog for groups named ``team-*``
        (0.4 s at 100,000 entities), where this reads only the page. The values are those
        of ``metadata.name`` in catalog_search (names are ASCII, so ``lower`` agrees), and
        positions are the same ``[value, entity id]``, so cursors go both ways.
        """
        sql = self._sql()
        direction = "ASC" if ascending else "DESC"
        where = [f"lower(e.kind) = {sql.bind(kind)}"]
        if start is not None:
            value, last_id = sql.bind(start[0]), sql.bind(start[1])
            op = ">" if ascending else "<"
            # Spelled so the index seeks to the position: SQLite does not bound an index
            # range by a row-value comparison on expressions.
            where.append(
                f"lower(e.name) {op}= {value} AND "
                f"(lower(e.name) {op} {value} OR e.id {op} {last_id})"
            )
        where.append(plan.matches(sql, "e.id"))
        query = (
            f"SELECT lower(e.name), e.id FROM catalog_entities e WHERE {' AND '.join(where)} "
            f"ORDER BY lower(e.name) {direction}, e.id {direction} LIMIT {sql.bind(n)}"
        )
        return [([v, i], i) for v, i in conn.execute(text(query), sql.params)]

    def _nulls(
        self,
        conn: Connection,
        plan: _Plan,
        key: str,
        ascending: bool,
        start_id: int | None,
        n: int,
    ) -> list[tuple[list[Any], int]]:
        sql = self._sql()
        direction = "ASC" if ascending else "DESC"
        where = []
        kind = plan.single_kind()
        if kind is not None:
            # The (lower(kind), id) index: one kind's entities in id order, where walking
            # every entity would first pass those of the kinds stored before it.
            where.append(f"lower(e.kind) = {sql.bind(kind)}")
        if start_id is not None:
            where.append(f"e.id {'>' if ascending else '<'} {sql.bind(start_id)}")
        if not plan.everything:
            where.append(plan.matches(sql, "e.id"))
        where.append(
            "NOT "
            + sql.exists(
                f"catalog_search p WHERE p.entity_id = e.id "
                f"AND {sql.key_only('p.key')} = {sql.bind(key)} AND p.value IS NOT NULL"
            )
        )
        query = (
            f"SELECT e.id FROM catalog_entities e WHERE {' AND '.join(where)} "
            f"ORDER BY e.id {direction} LIMIT {sql.bind(n)}"
        )
        return [([None, i], i) for (i,) in conn.execute(text(query), sql.params)]

    # ------------------------------------------------------------------ facets
    def facets(
        self, facets: Sequence[str], filter: Any = None, where: EntityFilter | None = None
    ) -> Json:
        """Facets, from a cache that one tiny read of the catalog generation validates.

        Portals ask for the same facets on every page view while the catalog changes
        rarely; any write of final entities (on any replica) bumps the generation.
        Callers must treat the result as read-only.
        """
        key = (tuple(_strings(facets)), tuple(_strings(filter)), where)
        with self._connect() as conn:
            generation = conn.execute(_GENERATION).scalar()
        cached = self._facet_cache.get(key)
        if cached is not None and cached[0] == generation:
            return cached[1]
        result = self._facets(facets, filter, where)
        with self._facet_lock:
            if len(self._facet_cache) >= _FACET_CACHE_SIZE:
                self._facet_cache.pop(next(iter(self._facet_cache)))
            self._facet_cache[key] = (generation, result)
        return result

    def _facets(
        self, facets: Sequence[str], filter: Any = None, where: EntityFilter | None = None
    ) -> Json:
        """``GET /entity-facets``: ``{"facets": {facet: [{"value", "count"}]}}``.

        Counted per lower-cased value and shown with one of its original spellings, where
        Backstage lists each spelling apart: filters are case-insensitive, so spellings of
        one value select the same entities, and Backstage's own pickers merge them too. It
        keeps the count on the (key, value, entity_id) index, without reading table rows.
        """
        wanted = [f for f in _strings(facets) if f]
        if not wanted:
            raise InputError("Missing facet parameter", where="facet")
        parsed = and_filters(parse_filter(filter), where)
        keys = list(dict.fromkeys(f.lower() for f in wanted))
        with self._connect() as conn:
            plan = self._plan(conn, parsed, None)
            sql = self._sql()
            if plan.small and not plan.everything:
                # Few entities: start from them (CROSS JOIN fixes the join order on SQLite).
                source = (
                    f"({plan.ids_sql(sql)}) x CROSS JOIN catalog_search s "
                    f"WHERE s.entity_id = x.entity_id "
                    f"AND {sql.key_only('s.key')} IN ({sql.binds(keys)}) AND s.value IS NOT NULL"
                )
            else:
                source = (
                    f"catalog_search s WHERE s.key IN ({sql.binds(keys)}) AND s.value IS NOT NULL"
                )
                if not plan.everything:
                    source += f" AND s.entity_id IN ({plan.ids_sql(sql)})"
                    if not sql.sqlite:
                        # Many ids: they belong in a hash. Without fresh statistics the
                        # planner expects one id and probes the facet rows per id, which is
                        # quadratic; this transaction only, so nothing else is affected.
                        conn.execute(text("SET LOCAL enable_nestloop = off"))
            query = (
                "SELECT g.key, (SELECT o.original_value FROM catalog_search o "
                "WHERE o.key = g.key AND o.value = g.value LIMIT 1), g.n "
                f"FROM (SELECT s.key AS key, s.value AS value, count(*) AS n FROM {source} "
                "GROUP BY s.key, s.value) g"
            )
            rows = conn.execute(text(query), sql.params).all()
        by_key: dict[str, list[Json]] = {k: [] for k in keys}
        for key, value, count in sorted(rows, key=lambda r: (r[0], r[1])):
            by_key[key].append({"value": value, "count": int(count)})
        return {"facets": {f: by_key[f.lower()] for f in wanted}}


def _names_in_kind(plan: _Plan, order: tuple[str, str] | None) -> bool:
    """Sorted by name within one kind: read in order from the kind/name index."""
    return order is not None and order[0] == "metadata.name" and plan.single_kind() is not None


def entities_array_json(bodies: Sequence[str], fields: Sequence[str] | None) -> bytes:
    """A JSON array of entities from stored bodies (projected when ``fields`` are given)."""
    return b"[" + b",".join(_render(bodies, fields)) + b"]"
