"""Backstage's predicate queries (``@backstage/catalog-client`` >= 1.16), onto the filter plan.

A predicate is JSON::

    {"$all": [p, ...]}   every one holds          {"$any": [p, ...]}   at least one holds
    {"$not": p}          p does not hold           {"a.b": v, "c": w}   each field matches

and a field matches ``"value"`` (a string, number or boolean: equal, case-insensitively, as
filters are), ``{"$in": [v, ...]}`` (one of them) or ``{"$exists": true | false}``. Keys are
dotted paths into the entity, matched case-insensitively like filter keys.

The predicate is brought into disjunctive normal form, an OR of AND-groups of (possibly
negated) conditions, which is exactly the shape ``query.py`` plans and runs: the positive
conditions drive index lookups and the negated ones become ``NOT EXISTS`` probes.
"""

from __future__ import annotations

from typing import Any

from goldpath.catalog.flatten import js_string
from goldpath.catalog.query import Condition, EntityFilter
from goldpath.core.errors import InputError

#: Most AND-groups a predicate may expand to: DNF can grow exponentially (an ``$all`` of
#: ``$any``s), and each group is a statement of its own.
MAX_GROUPS = 64
#: Matches no entity: no search row has an empty key. Stands for an empty ``$any``.
NOTHING: EntityFilter = ((Condition(""),),)

_Dnf = list[tuple[Condition, ...]]


def _fail(message: str, where: str) -> InputError:
    return InputError(f"Invalid query predicate at {where}: {message}", where="query")


def _value(value: Any, where: str) -> str:
    if isinstance(value, str | bool | int | float) and value is not None:
        return js_string(value).lower()
    raise _fail(f"expected a string, number or boolean, got {type(value).__name__}", where)


def _and(a: _Dnf, b: _Dnf, where: str) -> _Dnf:
    out = [tuple(dict.fromkeys(ga + gb)) for ga in a for gb in b]
    if len(out) > MAX_GROUPS:
        raise _fail(f"too complex (more than {MAX_GROUPS} alternatives)", where)
    return out


def _negate(c: Condition) -> Condition:
    return Condition(c.key, c.values, negated=not c.negated)


def _field(key: str, spec: Any, negate: bool, where: str) -> _Dnf:
    if not key or key.startswith("$"):
        raise _fail(f"unknown operator '{key}'", where)
    if isinstance(spec, dict):
        if len(spec) != 1:
            raise _fail("a field's operator object must hold exactly one operator", where)
        [(op, arg)] = spec.items()
        at = f"{where}.{op}"
        if op == "$exists":
            if not isinstance(arg, bool):
                raise _fail("$exists takes true or false", at)
            cond = Condition(key.lower())
            positive = arg
        elif op == "$in":
            if not isinstance(arg, list) or not arg:
                raise _fail("$in takes a non-empty array of values", at)
            values = [_value(v, f"{at}[{i}]") for i, v in enumerate(arg)]
            cond = Condition(key.lower(), tuple(dict.fromkeys(values)))
            positive = True
        else:
            raise _fail(f"unknown operator '{op}'", at)
    elif isinstance(spec, list):
        raise _fail("use {'$in': [...]} to match one of several values", where)
    else:
        cond = Condition(key.lower(), (_value(spec, where),))
        positive = True
    return [((cond if positive != negate else _negate(cond)),)]


def _dnf(node: Any, negate: bool, where: str) -> _Dnf:
    """``node`` (negated when ``negate``) as OR-of-AND groups; [] is false, [()] is true."""
    if not isinstance(node, dict):
        raise _fail(f"expected an object, got {type(node).__name__}", where)
    if len(node) == 1 and next(iter(node)) in ("$all", "$any", "$not"):
        [(op, arg)] = node.items()
        at = f"{where}.{op}"
        if op == "$not":
            return _dnf(arg, not negate, at)
        if not isinstance(arg, list):
            raise _fail(f"{op} takes an array of predicates", at)
        parts = [_dnf(p, negate, f"{at}[{i}]") for i, p in enumerate(arg)]
        # De Morgan: a negated $all is an $any of negations and the other way round.
        conjunction = (op == "$all") != negate
        if not conjunction:
            out: _Dnf = [g for part in parts for g in part]
            if len(out) > MAX_GROUPS:
                raise _fail(f"too complex (more than {MAX_GROUPS} alternatives)", at)
            return out
        result: _Dnf = [()]
        for part in parts:
            result = _and(result, part, at)
        return result
    # A field object: each key must hold (AND), or under $not, at least one must fail (OR).
    fields = [_field(key, spec, negate, f"{where}.{key}") for key, spec in node.items()]
    if negate:
        return [g for part in fields for g in part]
    combined: _Dnf = [()]
    for part in fields:
        combined = _and(combined, part, where)
    return combined


def parse_predicate(predicate: Any) -> EntityFilter | None:
    """A predicate query as the filter plan's OR of AND-groups; None matches everything.

    Raises InputError naming the offending part of the predicate.
    """
    groups = _dnf(predicate, False, "query")
    if not groups:
        return NOTHING
    if any(not g for g in groups):
        return None  # one alternative always holds
    # A group holding a condition and its negation can never hold.
    groups = [g for g in groups if not any(_negate(c) in g for c in g)]
    return tuple(dict.fromkeys(groups)) or NOTHING
