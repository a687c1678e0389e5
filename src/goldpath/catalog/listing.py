"""The catalog list page's state (filters, text, sort, cursor) and its one query.

Everything comes from the catalog's own query paths: a page is one ``by-query`` call (its
cursor frozen with the filter and order, so paging never shifts under the reader) and the
filter options are the catalog's cached facets. Rows are rendered from the stored bodies,
owners and systems from the relation refs they already hold: no lookup per row.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from markupsafe import Markup, escape

from goldpath.catalog import links
from goldpath.catalog.model import KIND_GROUP, RELATION_OWNED_BY
from goldpath.catalog.query import Condition, EntityFilter, EntityQueries
from goldpath.catalog.refs import parse_entity_ref
from goldpath.core.errors import InputError

PAGE_SIZE = 50
DESCRIPTION_LIMIT = 120
#: What the text box searches: Backstage's catalog table fields, plus the description.
TEXT_FIELDS = ("metadata.name", "metadata.title", "metadata.description")


@dataclass(frozen=True)
class FilterField:
    param: str
    label: str
    key: str
    #: Several values mean "has all of them" (tags) instead of "any of them".
    all_of: bool = False
    #: Kind left out when labelling ref values (owners are groups, mostly).
    ref_kind: str | None = None


FILTERS: tuple[FilterField, ...] = (
    FilterField("kind", "Kind", "kind"),
    FilterField("type", "Type", "spec.type"),
    FilterField("owner", "Owner", f"relations.{RELATION_OWNED_BY.lower()}", ref_kind=KIND_GROUP),
    FilterField("lifecycle", "Lifecycle", "spec.lifecycle"),
    FilterField("tags", "Tag", "metadata.tags", all_of=True),
    FilterField("namespace", "Namespace", "metadata.namespace"),
)
FILTER_BY_PARAM = {f.param: f for f in FILTERS}
#: Sortable column -> the catalog field it orders by.
SORTS: dict[str, str] = {
    "name": "metadata.name",
    "kind": "kind",
    "type": "spec.type",
    "owner": f"relations.{RELATION_OWNED_BY.lower()}",
    "lifecycle": "spec.lifecycle",
}
DEFAULT_SORT = ("name", "asc")


def _values(params: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(params, "getlist", None)
    raw = getlist(name) if getlist else [params[name]] if name in params else []
    return list(dict.fromkeys(v.strip() for v in raw if isinstance(v, str) and v.strip()))


def _owner_ref(value: str) -> str:
    try:
        return parse_entity_ref(value, default_kind=KIND_GROUP).key
    except InputError as exc:
        raise InputError(f"owner {value!r} is not an entity reference", where="owner") from exc


@dataclass(frozen=True)
class ListState:
    """What a list URL asks for; ``url()`` writes it back, canonically."""

    filters: dict[str, list[str]] = field(default_factory=dict)
    q: str = ""
    sort: tuple[str, str] = DEFAULT_SORT
    cursor: str | None = None
    #: Position of the page's first row, for "51–100 of N" (the cursor has no offset).
    start: int = 1

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> ListState:
        filters = {f.param: v for f in FILTERS if (v := _values(params, f.param))}
        sort = DEFAULT_SORT
        raw_sort = (_values(params, "sort") or [""])[0]
        if raw_sort:
            column, _, direction = raw_sort.partition(",")
            direction = direction or "asc"
            if column not in SORTS or direction not in ("asc", "desc"):
                raise InputError(
                    f"sort must be one of {', '.join(SORTS)} with ,asc or ,desc",
                    where="sort",
                )
            sort = (column, direction)
        start_values = _values(params, "start")
        start = int(start_values[0]) if start_values and start_values[0].isdigit() else 1
        return cls(
            filters=filters,
            q=(_values(params, "q") or [""])[0],
            sort=sort,
            cursor=next(iter(_values(params, "cursor")), None),
            start=max(1, start),
        )

    def selected(self, param: str) -> list[str]:
        return self.filters.get(param, [])

    @property
    def filtered(self) -> bool:
        return bool(self.filters or self.q)

    def conditions(self, only: Sequence[str] | None = None) -> EntityFilter | None:
        """The filter as the catalog's parsed form (values need no escaping that way)."""
        group: list[Condition] = []
        for spec in FILTERS:
            values = self.filters.get(spec.param)
            if not values or (only is not None and spec.param not in only):
                continue
            lowered = [_owner_ref(v) if spec.param == "owner" else v.lower() for v in values]
            if spec.all_of:
                group += [Condition(spec.key, (v,)) for v in dict.fromkeys(lowered)]
            else:
                group.append(Condition(spec.key, tuple(dict.fromkeys(lowered))))
        return (tuple(group),) if group else None

    def params(self, **changes: Any) -> list[tuple[str, str]]:
        state = replace(self, **changes) if changes else self
        out = [(f.param, v) for f in FILTERS for v in state.filters.get(f.param, [])]
        if state.q:
            out.append(("q", state.q))
        if state.sort != DEFAULT_SORT:
            out.append(("sort", ",".join(state.sort)))
        if state.cursor:
            out.append(("cursor", state.cursor))
            if state.start > 1:
                out.append(("start", str(state.start)))
        return out

    def url(self, **changes: Any) -> str:
        query = urlencode(self.params(**changes))
        return f"/catalog?{query}" if query else "/catalog"

    def sort_url(self, column: str) -> str:
        """Sorting by ``column`` (again: the other way round) from the first page."""
        direction = "desc" if self.sort == (column, "asc") else "asc"
        return self.url(sort=(column, direction), cursor=None, start=1)


# ------------------------------------------------------------------------- the page
@dataclass
class Select:
    param: str
    label: str
    #: The <option>s, rendered: a catalog of 100,000 entities has thousands of owners.
    options: Markup
    multiple: bool


@dataclass
class ListPage:
    rows: list[dict[str, Any]]
    total: int
    first: int
    last: int
    next_url: str | None
    prev_url: str | None


def _row(entity: Mapping[str, Any]) -> dict[str, Any]:
    row = links.summary(entity)
    row["full_description"] = row["description"]
    row["description"] = links.truncate(row["description"], DESCRIPTION_LIMIT)
    return row


def _normal(spec: FilterField, value: str) -> str:
    if spec.param == "owner":
        try:
            return _owner_ref(value)
        except InputError:
            pass
    return value.lower()


#: (value as filters compare it, <option>, the same <option> selected), by label.
OptionRows = list[tuple[str, str, str]]
_OPTION_CACHE_SIZE = 64
_option_cache: dict[tuple[int, str], tuple[list[dict[str, Any]], OptionRows]] = {}
_option_lock = threading.Lock()


def _option(value: str, label: str, count: int, selected: bool) -> str:
    mark = " selected" if selected else ""
    return f'<option value="{escape(value)}"{mark}>{escape(label)} ({count})</option>'


def _option_rows(spec: FilterField, facet: list[dict[str, Any]]) -> OptionRows:
    """The options of one facet, rendered once per facet answer: the catalog's facet cache
    hands out the same list until the catalog changes (held here, so its id stays its)."""
    key = (id(facet), spec.param)
    cached = _option_cache.get(key)
    if cached is not None and cached[0] is facet:
        return cached[1]
    labelled = []
    for item in facet:
        value = str(item["value"])
        label = links.humanize(value, spec.ref_kind) if spec.ref_kind else value
        labelled.append((label.lower(), value, label, int(item["count"])))
    labelled.sort()
    rows = [
        (_normal(spec, value), _option(value, label, n, False), _option(value, label, n, True))
        for _, value, label, n in labelled
    ]
    with _option_lock:
        if len(_option_cache) >= _OPTION_CACHE_SIZE:
            _option_cache.pop(next(iter(_option_cache)))
        _option_cache[key] = (facet, rows)
    return rows


def _select(spec: FilterField, facet: list[dict[str, Any]], chosen: list[str]) -> Select:
    wanted = {_normal(spec, v): v for v in chosen}
    rows = _option_rows(spec, facet)
    parts = [selected if key in wanted else plain for key, plain, selected in rows]
    # A value chosen in a shared link that no entity has (any more) stays selectable.
    missing = set(wanted) - {key for key, _, _ in rows} if wanted else set()
    for key, value in wanted.items():
        if key in missing:
            label = links.humanize(value, spec.ref_kind) if spec.ref_kind else value
            parts.append(_option(value, label, 0, True))
    return Select(spec.param, spec.label, Markup("".join(parts)), multiple=len(chosen) > 1)  # noqa: S704


def facet_selects(queries: EntityQueries, state: ListState) -> list[Select]:
    """The filter options with counts: kinds over the whole catalog, every other field
    within the chosen kind (types, owners and tags of APIs when APIs are shown).

    Two calls to the catalog's facet cache, which one indexed read validates.
    """
    kinds = queries.facets(["kind"])["facets"]["kind"]
    others = [f for f in FILTERS if f.param != "kind"]
    scoped = queries.facets([f.key for f in others], where=state.conditions(only=["kind"]))
    by_key = {"kind": kinds, **scoped["facets"]}
    return [_select(f, by_key[f.key], state.selected(f.param)) for f in FILTERS]


def list_page(queries: EntityQueries, state: ListState, limit: int = PAGE_SIZE) -> ListPage:
    """One page of the list. Raises InputError for a bad owner ref or cursor."""
    if state.cursor:
        result = queries.query_entities(cursor=state.cursor, limit=limit)
    else:
        column, direction = state.sort
        result = queries.query_entities(
            where=state.conditions(),
            order_fields=[f"{SORTS[column]},{direction}"],
            full_text_term=state.q or None,
            full_text_fields=list(TEXT_FIELDS) if state.q else None,
            limit=limit,
        )
    items = result["items"]
    total = int(result["totalItems"])
    info = result["pageInfo"]
    first = state.start if state.cursor else 1
    if not items:
        first = 0
    last = first + len(items) - 1 if items else 0
    next_url = prev_url = None
    if info.get("nextCursor"):
        next_url = state.url(cursor=info["nextCursor"], start=last + 1)
    if info.get("prevCursor"):
        prev_url = state.url(cursor=info["prevCursor"], start=max(1, first - limit))
    return ListPage(
        rows=[_row(e) for e in items],
        total=total,
        first=first,
        last=last,
        next_url=next_url,
        prev_url=prev_url,
    )
