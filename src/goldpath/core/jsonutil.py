"""Fast JSON in one place (orjson), so every feature serialises the same way."""

from __future__ import annotations

from typing import Any

import orjson


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def dumps_bytes(value: Any) -> bytes:
    return orjson.dumps(value)


def dumps_sorted(value: Any) -> bytes:
    """Canonical form: equal values give equal bytes (for hashes and etags)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def loads(data: str | bytes) -> Any:
    return orjson.loads(data)
