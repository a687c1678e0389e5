"""Flatten a final entity into the ``catalog_search`` key/value rows that filters and facets use.

Same rows as Backstage's ``buildEntitySearch``, so a filter written for Backstage selects the
same entities here:

- keys are dotted paths, lower-cased; arrays are walked, each item under the array's key;
- a string array item ``x`` under ``a.b`` also yields ``a.b.x = "true"`` (so "has tag java"
  is ``metadata.tags.java`` and several such conditions can be AND-ed in one filter);
- ``relations.<type>`` = target ref per relation; ``metadata.name``, ``metadata.namespace``
  and ``metadata.uid`` are always present (null when missing), plus ``metadata.namespace =
  default`` when the namespace is missing; ``status``, ``attachments`` and ``metadata.etag``
  are not indexed;
- values are stringified like JavaScript's ``String()`` and lower-cased; keys over 200
  characters are dropped and values over 200 characters become null (the key still exists);
- rows are de-duplicated on (key, lower-cased value).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from goldpath.core.errors import InputError
from goldpath.core.jsonutil import js_number_string

#: Skipped by the generic walk: not worth indexing, or added explicitly below.
SPECIAL_KEYS = frozenset(
    {
        "attachments",
        "relations",
        "status",
        "metadata.name",
        "metadata.namespace",
        "metadata.uid",
        "metadata.etag",
    }
)
#: Both columns are indexed; engines dislike indexing huge values (PostgreSQL balks past 8 KB).
MAX_KEY_LENGTH = 200
MAX_VALUE_LENGTH = 200
DEFAULT_NAMESPACE = "default"

SearchRowTuple = tuple[str, str | None, str | None]
_SCALARS = (str, int, float, bool)


def js_string(value: Any) -> str:
    """``String(value)`` as JavaScript writes it, for the scalar types JSON can hold."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return js_number_string(value)  # one number type: 7.0 prints as "7"
    return str(value)


def _too_long(text: str, limit: int) -> bool:
    """Longer than ``limit`` as Backstage measures (UTF-16 code units)."""
    n = len(text)
    # A code point is one or two UTF-16 units: only the middle band needs counting.
    if n <= limit // 2:
        return False
    if n > limit:
        return True
    return len(text.encode("utf-16-le")) // 2 > limit


def _walk(root: Any) -> list[tuple[str, Any]]:
    output: list[tuple[str, Any]] = []
    seen_item_keys: set[str] = set()

    def visit(path: str, current: Any) -> None:
        if path in SPECIAL_KEYS:
            return
        if current is None or isinstance(current, _SCALARS):
            output.append((path, current))
            return
        if isinstance(current, list):
            for item in current:
                visit(path, item)
                if isinstance(item, str):
                    item_key = f"{path}.{item}"
                    lowered = item_key.lower()
                    if lowered not in seen_item_keys:
                        seen_item_keys.add(lowered)
                        output.append((item_key, True))
            return
        if isinstance(current, Mapping):
            for key, value in current.items():
                visit(f"{path}.{key}" if path else str(key), value)

    visit("", root)
    return output


def check_key_casing(raw_keys: set[str]) -> None:
    """Reject keys that differ only in case (``spec.owner`` and ``spec.Owner``), as Backstage
    does: they would collide in the lower-cased index and make filters ambiguous."""
    lowered: dict[str, str] = {}
    clashes: list[str] = []
    for key in raw_keys:
        low = key.lower()
        if low in lowered and lowered[low] != key and low not in clashes:
            clashes.append(low)
        lowered.setdefault(low, key)
    if clashes:
        listed = "', '".join(sorted(clashes))
        raise InputError(f"Entity has duplicate keys that vary only in casing, '{listed}'")


def search_rows(entity: Mapping[str, Any]) -> list[SearchRowTuple]:
    """The ``(key, value, original_value)`` rows of an entity; ``value`` is lower-cased.

    Raises InputError when two keys differ only in case (Backstage refuses to stitch those).
    """
    raw = _walk(entity)
    metadata = entity.get("metadata")
    meta: Mapping[str, Any] = metadata if isinstance(metadata, Mapping) else {}
    raw.append(("metadata.name", meta.get("name")))
    raw.append(("metadata.namespace", meta.get("namespace")))
    raw.append(("metadata.uid", meta.get("uid")))
    if not meta.get("namespace"):
        raw.append(("metadata.namespace", DEFAULT_NAMESPACE))
    relations = entity.get("relations")
    if isinstance(relations, list):
        for relation in relations:
            if isinstance(relation, Mapping):
                raw.append((f"relations.{relation.get('type')}", relation.get("targetRef")))

    check_key_casing({key for key, _ in raw})

    rows: list[SearchRowTuple] = []
    seen: set[tuple[str, str | None]] = set()
    half_key, half_value = MAX_KEY_LENGTH // 2, MAX_VALUE_LENGTH // 2
    for raw_key, raw_value in raw:
        key = raw_key.lower()
        if len(key) > half_key and _too_long(key, MAX_KEY_LENGTH):
            continue
        value: str | None = None
        original: str | None = None
        if raw_value is not None:
            text = raw_value if type(raw_value) is str else js_string(raw_value)
            # Lower-casing never shortens a string, so a long original needs no lowering.
            if len(text) <= MAX_VALUE_LENGTH:
                lowered = text.lower()
                if len(lowered) <= half_value or not _too_long(lowered, MAX_VALUE_LENGTH):
                    value, original = lowered, text
        marker = (key, value)
        if marker not in seen:
            seen.add(marker)
            rows.append((key, value, original))
    return rows
