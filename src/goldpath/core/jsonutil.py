"""Fast JSON in one place (orjson), so every feature serialises the same way."""

from __future__ import annotations

import math
from decimal import Decimal
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


def js_number_string(value: float) -> str:
    """``String(number)``: ``2`` for 2.0, ``1e-7``, ``1e+21``, ``NaN``, ``Infinity``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        power = int(exponent)
        if -7 < power < 21:
            # JavaScript writes these without an exponent where Python does not.
            return format(Decimal(text), "f")
        return f"{mantissa}e{'+' if power > 0 else '-'}{abs(power)}"
    return text
