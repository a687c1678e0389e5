"""JavaScript semantics for the expression sandbox in ``expressions.py``.

Backstage evaluates ``${{ }}`` with Nunjucks inside a JavaScript isolate, so templates written
for it expect JavaScript values: ``+`` joins a string and a number, ``undefined > 1`` is false,
``'3' > 2`` compares numbers, ``name.length`` and ``name.split('/')`` work, and a list prints
as ``a,b``. This module holds those semantics as plain functions over Python's JSON values;
the Jinja environment wires them in, and the filters (``template_filters.py``) build on them.

Everything that can make a value grow (``repeat``, ``padStart``, ``replace``, ``join``, ``+``,
``~``, ``range``) checks the size first, so a template cannot exhaust memory before the
output limit notices.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any

from jinja2 import ChainableUndefined, Undefined
from jinja2.exceptions import SecurityError, TemplateRuntimeError

from goldpath.core.jsonutil import js_number_string

#: Most characters one rendering (or one value built inside it) may have.
MAX_OUTPUT_CHARS = 10 * 1024 * 1024
#: Most items one ``range()`` may have, and all ``range()`` calls of one rendering together.
MAX_RANGE = 100_000
MAX_RANGE_TOTAL = 1_000_000
#: JavaScript's largest exact integer; beyond it numbers are floats, as in JavaScript.
_MAX_SAFE = 2**53

_state = threading.local()


class JsUndefined(ChainableUndefined):
    """``undefined`` as Nunjucks treats it: prints as nothing, any member of it is undefined
    again, it equals ``null``, and comparing it with anything is false."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return other is None or isinstance(other, Undefined)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(None)

    def __lt__(self, other: object) -> bool:  # type: ignore[override]
        return False

    def __le__(self, other: object) -> bool:  # type: ignore[override]
        return False

    def __gt__(self, other: object) -> bool:  # type: ignore[override]
        return False

    def __ge__(self, other: object) -> bool:  # type: ignore[override]
        return False


UNDEFINED = JsUndefined()


def is_undefined(value: Any) -> bool:
    return isinstance(value, Undefined)


def check_size(size: int, what: str = "a value") -> None:
    if size > MAX_OUTPUT_CHARS:
        raise TemplateRuntimeError(
            f"{what} would be larger than the {MAX_OUTPUT_CHARS // (1024 * 1024)} MB a "
            "template may produce"
        )


# ------------------------------------------------------------------ budget
def reset_budget() -> None:
    """Start a rendering: ``range()`` items are counted per rendering."""
    _state.range_used = 0


def bounded_range(*args: Any) -> range:
    """``range()``: at most ``MAX_RANGE`` items, ``MAX_RANGE_TOTAL`` per rendering (so nested
    loops cannot spin for hours without printing anything)."""
    rng = range(*(int(to_number(a)) for a in args))
    if len(rng) > MAX_RANGE:
        raise SecurityError(
            f"range() of {len(rng)} items is more than the {MAX_RANGE} a template may use"
        )
    used = getattr(_state, "range_used", 0) + len(rng)
    _state.range_used = used
    if used > MAX_RANGE_TOTAL:
        raise SecurityError(
            f"this template's range() calls add up to more than {MAX_RANGE_TOTAL} items"
        )
    return rng


# ------------------------------------------------------------------ values
def js_string(value: Any) -> str:
    """How Nunjucks prints a value: nothing for null/undefined, ``true``, ``a,b``,
    ``[object Object]``."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, Undefined):
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return js_number_string(value)
    if isinstance(value, list | tuple | range | Iterator):
        return ",".join(js_string(v) for v in value)
    if isinstance(value, Mapping):
        return "[object Object]"
    if callable(value):
        return ""
    return str(value)


def js_str_concat(value: Any) -> str:
    """``String(value)`` inside JavaScript expressions (``'a' + null`` is ``anull``)."""
    if value is None:
        return "null"
    if isinstance(value, Undefined):
        return "undefined"
    return js_string(value)


def js_bool(value: Any) -> bool:
    """JavaScript's ``!!value``: empty lists and objects are true."""
    if value is None or isinstance(value, Undefined):
        return False
    if isinstance(value, list | tuple | Mapping):
        return True
    if isinstance(value, float) and math.isnan(value):
        return False
    return bool(value)


def is_truthy(value: Any) -> bool:
    """Backstage's ``isTruthy`` for a step's ``if``: like ``!!`` but an empty list is false."""
    if isinstance(value, list | tuple):
        return len(value) > 0
    return js_bool(value)


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*(e[+-]?\d+)?|\.\d+(e[+-]?\d+)?)$", re.IGNORECASE)


def to_number(value: Any) -> int | float:
    """``Number(value)``."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if value is None:
        return 0
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return 0
        if re.fullmatch(r"[+-]?\d+", text):
            return _num(int(text))
        if _NUMBER.match(text):
            return float(text)
        if re.fullmatch(r"0x[0-9a-f]+", text, re.IGNORECASE):
            return int(text, 16)
        if text in ("Infinity", "+Infinity", "-Infinity"):
            return -math.inf if text.startswith("-") else math.inf
        return math.nan
    if isinstance(value, list | tuple):
        if not value:
            return 0
        if len(value) == 1:
            return to_number(js_string(value[0]))
    return math.nan


def _num(value: int | float) -> int | float:
    """Keep integers exact where JavaScript would, floats beyond (so numbers stay bounded)."""
    if isinstance(value, int) and abs(value) > _MAX_SAFE:
        try:
            return float(value)
        except OverflowError:
            return math.inf if value > 0 else -math.inf
    return value


def _primitive(value: Any) -> Any:
    if isinstance(value, list | tuple | Mapping):
        return js_string(value)
    return value


def js_add(left: Any, right: Any) -> Any:
    """JavaScript's ``+``: string concatenation when either side is a string, else a sum."""
    a, b = _primitive(left), _primitive(right)
    if isinstance(a, str) or isinstance(b, str):
        x, y = js_str_concat(a), js_str_concat(b)
        check_size(len(x) + len(y), "a string built with +")
        return x + y
    return _num(to_number(a) + to_number(b))


def js_binop(operator: str, left: Any, right: Any) -> Any:
    """The arithmetic operators, with JavaScript's results (NaN, Infinity, sign of ``%``)."""
    if operator == "+":
        return js_add(left, right)
    x, y = to_number(left), to_number(right)
    if operator == "-":
        return _num(x - y)
    if operator == "*":
        return _num(x * y)
    if operator in ("/", "//"):
        if y == 0:
            if x == 0 or (isinstance(x, float) and math.isnan(x)):
                return math.nan
            return math.inf if (x > 0) == (math.copysign(1, y) > 0) else -math.inf
        quotient = x / y
        if operator == "//" and math.isfinite(quotient):
            return math.floor(quotient)
        return quotient
    if operator == "%":
        if y == 0 or math.isinf(x) or math.isnan(x) or math.isnan(y):
            return math.nan
        if isinstance(x, int) and isinstance(y, int):
            rest = abs(x) % abs(y)
            return -rest if x < 0 else rest
        return math.fmod(x, y)
    if operator == "**":
        return _power(x, y)
    raise TemplateRuntimeError(f"unsupported operator {operator}")


def _power(x: int | float, y: int | float) -> int | float:
    # Estimate first: 10 ** 10 ** 10 must not be computed exactly.
    exact = isinstance(x, int) and isinstance(y, int) and y >= 0
    if exact and (x in (0, 1, -1) or y * math.log2(abs(x) or 1) <= 63):
        return _num(x**y)
    try:
        return math.pow(x, y)
    except OverflowError:
        return math.inf
    except ValueError:
        return math.nan


def js_negate(value: Any) -> Any:
    return _num(-to_number(value))


def js_loose_equal(a: Any, b: Any) -> bool:
    """JavaScript's ``==`` (Nunjucks compiles ``==`` to it); containers compare by value."""
    nullish_a = a is None or isinstance(a, Undefined)
    nullish_b = b is None or isinstance(b, Undefined)
    if nullish_a or nullish_b:
        return nullish_a and nullish_b
    if isinstance(a, list | tuple | Mapping) and isinstance(b, list | tuple | Mapping):
        return bool(a == b)
    a, b = _primitive(a), _primitive(b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    x, y = to_number(a), to_number(b)
    return x == y


def _relational(op: str, a: Any, b: Any) -> bool:
    a, b = _primitive(a), _primitive(b)
    if isinstance(a, Undefined) or isinstance(b, Undefined):
        return False
    if isinstance(a, str) and isinstance(b, str):
        x: Any = a
        y: Any = b
    else:
        x, y = to_number(a), to_number(b)
        if math.isnan(x) or math.isnan(y):
            return False
    if op == "lt":
        return bool(x < y)
    if op == "lteq":
        return bool(x <= y)
    if op == "gt":
        return bool(x > y)
    return bool(x >= y)


def js_in(item: Any, container: Any) -> bool:
    """Nunjucks' ``in``: list membership, substring, or object key."""
    if isinstance(container, list | tuple):
        return any(_strict_equal(item, v) for v in container)
    if isinstance(container, str):
        return js_string(item) in container
    if isinstance(container, Mapping):
        return (item in container) or js_string(item) in container
    raise TemplateRuntimeError(
        f"cannot use 'in' to look for {js_str_concat(item)!r} in {type_name(container)}"
    )


def _strict_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return bool(a == b)


def compare(left: Any, *pairs: Any) -> bool:
    """A (chained) comparison: ``a < b``, ``a == b``, ``a in b`` with JavaScript semantics."""
    current = left
    for index in range(0, len(pairs), 2):
        op, right = pairs[index], pairs[index + 1]
        if op == "eq":
            result = js_loose_equal(current, right)
        elif op == "ne":
            result = not js_loose_equal(current, right)
        elif op == "in":
            result = js_in(current, right)
        elif op == "notin":
            result = not js_in(current, right)
        else:
            result = _relational(op, current, right)
        if not result:
            return False
        current = right
    return True


def concat(parts: list[Any]) -> str:
    """``a ~ b``: joined as printed."""
    texts = [js_string(p) for p in parts]
    check_size(sum(len(t) for t in texts), "a string built with ~")
    return "".join(texts)


def pairs(value: Any) -> Any:
    """``{% for key, value in object %}`` iterates an object's entries, as in Nunjucks."""
    if isinstance(value, Mapping):
        return list(value.items())
    return value


def to_plain(value: Any) -> Any:
    """A rendering result as JSON data: undefined is None (and leaves objects, as
    ``JSON.stringify`` drops it), tuples are lists, whole floats are ints."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str):
        return str(value) if type(value) is not str else value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None  # as JSON.stringify writes them
        if value.is_integer() and abs(value) <= _MAX_SAFE:
            return int(value)
        return value
    if isinstance(value, Undefined):
        return None
    if isinstance(value, Mapping):
        return {
            str(k): to_plain(v)
            for k, v in value.items()
            if not isinstance(v, Undefined) and not callable(v)
        }
    if isinstance(value, list | tuple | range | Iterator):
        return [to_plain(v) for v in value]
    if callable(value):
        return None
    return str(value)


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Undefined):
        return "undefined"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple | range):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


# ------------------------------------------------------- JavaScript members
def int_arg(value: Any, default: int) -> int:
    if value is None or isinstance(value, Undefined):
        return default
    number = to_number(value)
    if isinstance(number, float):
        if math.isnan(number):
            return 0
        if math.isinf(number):
            return MAX_OUTPUT_CHARS if number > 0 else -MAX_OUTPUT_CHARS
    return int(number)


def _js_slice_bounds(length: int, start: Any, end: Any) -> tuple[int, int]:
    s = int_arg(start, 0)
    e = int_arg(end, length)
    s = max(length + s, 0) if s < 0 else min(s, length)
    e = max(length + e, 0) if e < 0 else min(e, length)
    return s, e


def _split(s: str, separator: Any = UNDEFINED, limit: Any = UNDEFINED) -> list[str]:
    if isinstance(separator, Undefined):
        parts = [s]
    elif js_string(separator) == "":
        parts = list(s)
    else:
        parts = s.split(js_str_concat(separator))
    if not isinstance(limit, Undefined):
        parts = parts[: max(int_arg(limit, len(parts)), 0)]
    return parts


def replace_text(s: str, pattern: Any, replacement: Any, count: int = 1) -> str:
    old, new = js_str_concat(pattern), js_str_concat(replacement)
    occurrences = s.count(old) if old else len(s) + 1
    if count > 0:
        occurrences = min(occurrences, count)
    check_size(len(s) + occurrences * max(len(new) - len(old), 0), "a replaced string")
    return s.replace(old, new, count if count > 0 else -1)


def _pad(s: str, length: Any, fill: Any, *, start: bool) -> str:
    width = int_arg(length, 0)
    filler = " " if fill is None or isinstance(fill, Undefined) else js_string(fill)
    if width <= len(s) or not filler:
        return s
    check_size(width, "a padded string")
    padding = (filler * (width // len(filler) + 1))[: width - len(s)]
    return padding + s if start else s + padding


def _repeat(s: str, times: Any) -> str:
    count = int_arg(times, 0)
    if count < 0:
        raise TemplateRuntimeError("repeat count must be non-negative")
    check_size(len(s) * count, "a repeated string")
    return s * count


def _substring(s: str, start: Any = 0, end: Any = UNDEFINED) -> str:
    a = min(max(int_arg(start, 0), 0), len(s))
    b = min(max(int_arg(end, len(s)), 0), len(s))
    return s[min(a, b) : max(a, b)]


def _substr(s: str, start: Any = 0, length: Any = UNDEFINED) -> str:
    a = int_arg(start, 0)
    a = max(len(s) + a, 0) if a < 0 else a
    n = int_arg(length, len(s))
    return s[a : a + max(n, 0)]


def _at(seq: Any, index: Any) -> Any:
    i = int_arg(index, 0)
    i = len(seq) + i if i < 0 else i
    return seq[i] if 0 <= i < len(seq) else UNDEFINED


def _index_of(seq: Any, item: Any, start: Any = 0) -> int:
    if isinstance(seq, str):
        return seq.find(js_str_concat(item), max(int_arg(start, 0), 0))
    for i in range(max(int_arg(start, 0), 0), len(seq)):
        if _strict_equal(seq[i], item):
            return i
    return -1


def _last_index_of(seq: Any, item: Any) -> int:
    if isinstance(seq, str):
        return seq.rfind(js_str_concat(item))
    for i in range(len(seq) - 1, -1, -1):
        if _strict_equal(seq[i], item):
            return i
    return -1


def _list_concat(seq: list[Any], *items: Any) -> list[Any]:
    result = list(seq)
    for item in items:
        result.extend(item if isinstance(item, list | tuple) else [item])
    return result


def join_values(seq: Any, separator: Any = UNDEFINED) -> str:
    sep = "," if isinstance(separator, Undefined) else js_str_concat(separator)
    texts = [js_string(v) for v in seq]
    check_size(sum(len(t) for t in texts) + len(sep) * len(texts), "a joined string")
    return sep.join(texts)


def _to_fixed(number: Any, digits: Any = 0) -> str:
    places = int_arg(digits, 0)
    value = to_number(number)
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return js_number_string(value)
    quantum = Decimal(1).scaleb(-places)
    return str(Decimal(repr(value)).quantize(quantum, rounding=ROUND_HALF_UP))


_STRING_METHODS: dict[str, Callable[..., Any]] = {
    "toUpperCase": lambda s: s.upper(),
    "toLowerCase": lambda s: s.lower(),
    "toLocaleUpperCase": lambda s, *_: s.upper(),
    "toLocaleLowerCase": lambda s, *_: s.lower(),
    "trim": lambda s: s.strip(),
    "trimStart": lambda s: s.lstrip(),
    "trimEnd": lambda s: s.rstrip(),
    "trimLeft": lambda s: s.lstrip(),
    "trimRight": lambda s: s.rstrip(),
    "startsWith": lambda s, x, pos=0: s.startswith(js_str_concat(x), max(int_arg(pos, 0), 0)),
    "endsWith": lambda s, x, end=UNDEFINED: s[: int_arg(end, len(s))].endswith(js_str_concat(x)),
    "includes": lambda s, x, pos=0: js_str_concat(x) in s[max(int_arg(pos, 0), 0) :],
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "slice": lambda s, start=0, end=UNDEFINED: s[slice(*_js_slice_bounds(len(s), start, end))],
    "substring": _substring,
    "substr": _substr,
    "split": _split,
    "replace": replace_text,
    "replaceAll": lambda s, a, b: replace_text(s, a, b, count=0),
    "padStart": lambda s, n, fill=" ": _pad(s, n, fill, start=True),
    "padEnd": lambda s, n, fill=" ": _pad(s, n, fill, start=False),
    "repeat": _repeat,
    "charAt": lambda s, i=0: s[int_arg(i, 0)] if 0 <= int_arg(i, 0) < len(s) else "",
    "at": _at,
    "concat": lambda s, *xs: js_add(s, "".join(js_str_concat(x) for x in xs)),
    "toString": lambda s: s,
    "localeCompare": lambda s, o: (s > js_string(o)) - (s < js_string(o)),
}

_LIST_METHODS: dict[str, Callable[..., Any]] = {
    "includes": lambda xs, x: any(_strict_equal(v, x) for v in xs),
    "indexOf": _index_of,
    "lastIndexOf": _last_index_of,
    "join": join_values,
    "slice": lambda xs, start=0, end=UNDEFINED: list(
        xs[slice(*_js_slice_bounds(len(xs), start, end))]
    ),
    "concat": _list_concat,
    "at": _at,
    "toString": lambda xs: join_values(xs),
}

_NUMBER_METHODS: dict[str, Callable[..., Any]] = {
    "toFixed": _to_fixed,
    "toString": lambda n: js_string(n),
}

#: Python methods Backstage's cookiecutter compatibility (Nunjucks' installJinjaCompat) adds.
_PY_STRING_METHODS: dict[str, Callable[..., Any]] = {
    "upper": lambda s: s.upper(),
    "lower": lambda s: s.lower(),
    "capitalize": lambda s: s.capitalize(),
    "title": lambda s: s.title(),
    "strip": lambda s, chars=None: s.strip(chars),
    "lstrip": lambda s, chars=None: s.lstrip(chars),
    "rstrip": lambda s, chars=None: s.rstrip(chars),
    "startswith": lambda s, x: s.startswith(x),
    "endswith": lambda s, x: s.endswith(x),
    "find": lambda s, x: s.find(x),
    "rfind": lambda s, x: s.rfind(x),
    "count": lambda s, x: s.count(x),
    "isdigit": lambda s: s.isdigit(),
    "isalpha": lambda s: s.isalpha(),
    "isalnum": lambda s: s.isalnum(),
    "islower": lambda s: s.islower(),
    "isupper": lambda s: s.isupper(),
    "splitlines": lambda s: s.splitlines(),
    "split": lambda s, sep=None, maxsplit=-1: _py_split(s, sep, maxsplit),
    "replace": lambda s, old, new, count=-1: _py_replace(s, old, new, count),
}
_PY_MAPPING_METHODS: dict[str, Callable[..., Any]] = {
    "items": lambda d: list(d.items()),
    "keys": lambda d: list(d.keys()),
    "values": lambda d: list(d.values()),
    "get": lambda d, k, default=None: d.get(k, default),
}


def js_member(obj: Any, name: str, *, python_methods: bool = False) -> Any:
    """``obj.name`` for JSON values, or ``UNDEFINED``; ``NotImplemented`` for other objects."""
    if isinstance(obj, Mapping):
        if name in obj:
            return obj[name]
        if python_methods and name in _PY_MAPPING_METHODS:
            return partial(_PY_MAPPING_METHODS[name], obj)
        return UNDEFINED
    if isinstance(obj, str):
        if name == "length":
            return len(obj)
        # Cookiecutter templates are Jinja: there ``split()`` and ``replace()`` are Python's.
        method = (python_methods and _PY_STRING_METHODS.get(name)) or _STRING_METHODS.get(name)
        return UNDEFINED if method is None else partial(method, obj)
    if isinstance(obj, list | tuple):
        if name == "length":
            return len(obj)
        method = _LIST_METHODS.get(name)
        return UNDEFINED if method is None else partial(method, obj)
    if isinstance(obj, bool) or obj is None:
        return UNDEFINED
    if isinstance(obj, int | float):
        method = _NUMBER_METHODS.get(name)
        return UNDEFINED if method is None else partial(method, obj)
    return NotImplemented


def _py_split(s: str, sep: Any = None, maxsplit: Any = -1) -> list[str]:
    return s.split(None if sep is None or is_undefined(sep) else str(sep), int_arg(maxsplit, -1))


def _py_replace(s: str, old: Any, new: Any, count: Any = -1) -> str:
    return replace_text(s, old, new, count=max(int_arg(count, -1), 0))


def js_item(obj: Any, key: Any, *, python_methods: bool = False) -> Any:
    """``obj[key]`` for JSON values (``UNDEFINED`` when absent); ``NotImplemented`` otherwise."""
    if isinstance(obj, Mapping):
        try:
            if key in obj:
                return obj[key]
        except TypeError:  # an unhashable key
            return UNDEFINED
        return obj.get(js_string(key), UNDEFINED)
    if isinstance(obj, list | tuple | str):
        if isinstance(key, slice):
            return obj[key]
        if isinstance(key, bool):
            return UNDEFINED
        if isinstance(key, int | float):
            if isinstance(key, float) and not key.is_integer():
                return UNDEFINED
            index = int(key)
            return obj[index] if 0 <= index < len(obj) else UNDEFINED
        if isinstance(key, str):
            if key.isdigit():
                return js_item(obj, int(key))
            return js_member(obj, key, python_methods=python_methods)
        return UNDEFINED
    if obj is None or isinstance(obj, bool | int | float):
        if isinstance(key, str):
            return js_member(obj, key, python_methods=python_methods)
        return UNDEFINED
    return NotImplemented
