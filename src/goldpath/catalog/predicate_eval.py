"""Backstage's predicate language evaluated on plain objects (locations are few: no SQL)."""

from __future__ import annotations

from typing import Any

from goldpath.core.errors import InputError


def _lookup(obj: dict[str, Any], path: str) -> Any:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, str) and isinstance(expected, str):
        return actual.lower() == expected.lower()
    return bool(actual == expected)


def _field_matches(actual: Any, condition: Any) -> bool:
    if isinstance(condition, dict):
        if set(condition) == {"$exists"}:
            return (actual is not None) == bool(condition["$exists"])
        if set(condition) == {"$in"}:
            options = condition["$in"]
            if not isinstance(options, list):
                raise InputError("$in needs a list of values")
            return any(_field_matches(actual, option) for option in options)
        raise InputError(f"unsupported field condition {sorted(condition)}")
    if isinstance(actual, list):
        return any(_equal(item, condition) for item in actual)
    return _equal(actual, condition)


def matches_predicate(obj: dict[str, Any], predicate: Any) -> bool:
    """True when ``obj`` satisfies ``predicate`` (``$all``, ``$any``, ``$not``, fields)."""
    if not isinstance(predicate, dict):
        raise InputError("a query must be an object")
    for key, condition in predicate.items():
        if key == "$all":
            if not all(matches_predicate(obj, p) for p in _list(condition, key)):
                return False
        elif key == "$any":
            if not any(matches_predicate(obj, p) for p in _list(condition, key)):
                return False
        elif key == "$not":
            if matches_predicate(obj, condition):
                return False
        elif key.startswith("$"):
            raise InputError(f"unknown operator {key}")
        elif not _field_matches(_lookup(obj, key), condition):
            return False
    return True


def _list(value: Any, key: str) -> list[Any]:
    if not isinstance(value, list):
        raise InputError(f"{key} needs a list of predicates")
    return value
