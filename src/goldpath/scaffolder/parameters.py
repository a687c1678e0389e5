"""A template's parameter pages: the form schema, defaults, validation, secrets, CLI input.

Every page is a JSON Schema (draft-07) and, as Backstage's ``POST /v2/tasks`` does, every page
is checked against the whole set of answers. ``ui:*`` keys are form hints that JSON Schema
ignores. Pages with a ``when`` condition that does not hold are skipped, as the form skips them.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import SchemaError, ValidationError
from jsonschema.validators import validator_for

from goldpath.core.errors import InputError
from goldpath.scaffolder.model import (
    DEFAULT_PAGE_TITLE,
    TemplateParameterPage,
    TemplateSpec,
    page_name,
    schema_error_text,
)

#: Backstage's secret inputs: their values travel in ``secrets``, never in ``parameters``.
SECRET_FIELDS = frozenset({"Secret"})
SECRET_WIDGETS = frozenset({"password"})
ROOT_FIELD = "(values)"


@dataclass(frozen=True)
class FieldError:
    #: Dotted path of the answer: ``name``, ``database.size``, ``regions.1``.
    field: str
    message: str
    #: Index into ``spec.parameters`` (and the parameter-schema ``steps``) of the page.
    page: int | None = None


# ------------------------------------------------------------------ schema for the form
def parameter_schema(spec: TemplateSpec) -> dict[str, Any]:
    """Body of ``GET /v2/templates/:namespace/:kind/:name/parameter-schema``."""
    body: dict[str, Any] = {"title": spec.title or spec.name}
    if spec.presentation:
        body["presentation"] = copy.deepcopy(spec.presentation)
    if spec.description is not None:
        body["description"] = spec.description
    if spec.ui_options is not None:
        body["ui:options"] = copy.deepcopy(spec.ui_options)
    steps = []
    for page in spec.parameters:
        step: dict[str, Any] = {"title": page.title or DEFAULT_PAGE_TITLE}
        if page.description is not None:
            step["description"] = page.description
        # A copy: the page's cached validator holds the original.
        step["schema"] = copy.deepcopy(page.schema_)
        steps.append(step)
    body["steps"] = steps
    if spec.form_decorators is not None:
        body["formDecorators"] = copy.deepcopy(spec.form_decorators)
    return body


def property_schema(spec: TemplateSpec, key: str) -> dict[str, Any] | None:
    """The schema of answer ``key`` (dotted for nested objects), from whichever page has it."""
    parts = key.split(".")
    for page in spec.parameters:
        node: Any = page.schema_
        for part in parts:
            node = _all_properties(node).get(part) if isinstance(node, Mapping) else None
            if node is None:
                break
        if isinstance(node, Mapping):
            return dict(node)
    return None


def _all_properties(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Properties of a schema, including those its ``dependencies``/``if``/``oneOf`` add.

    The first definition of a name wins, so the plain ``properties`` (which usually carry the
    type and title) beat the narrowed copies inside ``oneOf`` branches.
    """
    found: dict[str, Any] = {}
    pending: list[Any] = [schema]
    while pending:
        node = pending.pop(0)
        if not isinstance(node, Mapping):
            continue
        for name, prop in (node.get("properties") or {}).items():
            if isinstance(prop, Mapping):
                found.setdefault(name, prop)
        deps = node.get("dependencies")
        if isinstance(deps, Mapping):
            pending.extend(d for d in deps.values() if isinstance(d, Mapping))
        pending.extend(node.get(key) for key in ("then", "else"))
        for key in ("allOf", "oneOf", "anyOf"):
            branches = node.get(key)
            if isinstance(branches, list):
                pending.extend(branches)
    return found


def secret_fields(spec: TemplateSpec) -> set[str]:
    """Top-level answers that are secrets (``ui:field: Secret`` or ``ui:widget: password``)."""
    names = set()
    for page in spec.parameters:
        for name, prop in _all_properties(page.schema_).items():
            if prop.get("ui:field") in SECRET_FIELDS or prop.get("ui:widget") in SECRET_WIDGETS:
                names.add(name)
    return names


# ------------------------------------------------------------------ conditional pages
_UNDEFINED: Any = object()
_OPERAND = r"\w+(?:\.\w+)*|'[^']*'|\"[^\"]*\"|-?\d+(?:\.\d+)?"
_COMPARISON = re.compile(rf"^({_OPERAND})\s*(===|!==|==|!=)\s*({_OPERAND})$", re.ASCII)
_WRAPPED = re.compile(r"^\$\{\{([\s\S]*)\}\}$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$", re.ASCII)


def page_visible(page: TemplateParameterPage, values: Mapping[str, Any]) -> bool:
    """Whether the form shows ``page`` for these answers (its ``when`` holds)."""
    return evaluate_when(page.when, values)


def evaluate_when(condition: Any, values: Mapping[str, Any]) -> bool:
    """Backstage's small ``when`` language, not the full expression engine: a comparison
    (``===``, ``!==``, ``==``, ``!=``) of ``parameters.*`` paths and literals, a negation, or a
    plain truthiness check, optionally wrapped in ``${{ }}``."""
    if condition is None:
        return True
    if isinstance(condition, bool):
        return condition
    if not isinstance(condition, str):
        return _truthy(condition)
    text = condition.strip()
    wrapped = _WRAPPED.match(text)
    expression = wrapped.group(1).strip() if wrapped else text
    if not expression:
        return True
    comparison = _COMPARISON.match(expression)
    if comparison:
        left = _resolve(comparison.group(1).strip(), values)
        right = _resolve(comparison.group(3).strip(), values)
        operator = comparison.group(2)
        if operator in ("===", "!=="):
            same = _strict_equal(left, right)
        else:
            same = _loose_equal(left, right)
        return same if operator in ("===", "==") else not same
    if expression.startswith("!"):
        return not _truthy(_resolve(expression[1:].strip(), values))
    return _truthy(_resolve(expression, values))


def _resolve(token: str, values: Mapping[str, Any]) -> Any:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "'\"":
        return token[1:-1]
    if _NUMBER.match(token):
        return float(token) if "." in token else int(token)
    literals = {"true": True, "false": False, "null": None}
    if token in literals:
        return literals[token]
    parts = token.split(".")
    if parts[0] != "parameters":
        return _UNDEFINED
    current: Any = values
    for part in parts[1:]:
        if not isinstance(current, Mapping) or part not in current:
            return _UNDEFINED
        current = current[part]
    return current


def _kind(value: Any) -> str:
    if value is _UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def _strict_equal(left: Any, right: Any) -> bool:
    kind = _kind(left)
    if kind != _kind(right):
        return False
    if kind == "object":
        return left is right
    return bool(left == right)


def _loose_equal(left: Any, right: Any) -> bool:
    kinds = {_kind(left), _kind(right)}
    if kinds <= {"null", "undefined"}:
        return True
    if len(kinds) == 1:
        return _strict_equal(left, right)
    if kinds & {"null", "undefined", "object"}:
        return False
    return _to_number(left) == _to_number(right)


def _to_number(value: Any) -> float:
    if isinstance(value, str):
        try:
            return float(value.strip() or 0)
        except ValueError:
            return math.nan
    return float(value)


def _truthy(value: Any) -> bool:
    if value is _UNDEFINED or value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    if isinstance(value, Mapping):
        return True  # an object is truthy in JavaScript, even an empty one
    return bool(value)


# ------------------------------------------------------------------ defaults
def apply_defaults(spec: TemplateSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """The answers with absent properties' ``default``s filled in, as the form does before it
    submits: nested objects, items of arrays of objects, and the properties that
    ``dependencies``, ``if/then/else`` and ``allOf`` bring in for these answers."""
    filled = copy.deepcopy(dict(values))
    for page in spec.parameters:
        # Pages are filled in order: an earlier page's default may decide a later ``when``.
        if page_visible(page, filled):
            _fill(page.schema_, filled)
    return filled


def _fill(schema: Mapping[str, Any], values: dict[str, Any]) -> None:
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        for name, prop in properties.items():
            if isinstance(prop, Mapping):
                _fill_property(name, prop, values)
    dependencies = schema.get("dependencies")
    if isinstance(dependencies, Mapping):
        for key, dependency in dependencies.items():
            if key in values and isinstance(dependency, Mapping):
                _fill(dependency, values)
                branch = _dependency_branch(key, dependency, values)
                if branch is not None:
                    _fill(branch, values)
    condition = schema.get("if")
    if isinstance(condition, Mapping):
        chosen = schema.get("then") if _matches(condition, values) else schema.get("else")
        if isinstance(chosen, Mapping):
            _fill(chosen, values)
    for branch in schema.get("allOf") or []:
        if isinstance(branch, Mapping):
            _fill(branch, values)


def _fill_property(name: str, prop: Mapping[str, Any], values: dict[str, Any]) -> None:
    if name not in values:
        if "default" in prop:
            values[name] = copy.deepcopy(prop["default"])
        elif isinstance(prop.get("properties"), Mapping):
            nested: dict[str, Any] = {}
            _fill(prop, nested)
            if nested:
                values[name] = nested
            return
        else:
            return
    current = values[name]
    if isinstance(current, dict) and isinstance(prop.get("properties"), Mapping):
        _fill(prop, current)
    elif isinstance(current, list) and isinstance(prop.get("items"), Mapping):
        for item in current:
            if isinstance(item, dict):
                _fill(prop["items"], item)


def _dependency_branch(
    key: str, dependency: Mapping[str, Any], values: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    """The one ``oneOf`` branch of a dependency whose copy of ``key`` accepts its value (how
    react-jsonschema-form picks the fields a dependency adds)."""
    branches = dependency.get("oneOf")
    if not isinstance(branches, list):
        return None
    matching = [
        branch
        for branch in branches
        if isinstance(branch, Mapping)
        and isinstance((branch.get("properties") or {}).get(key), Mapping)
        and _matches(branch["properties"][key], values[key])
    ]
    return matching[0] if len(matching) == 1 else None


def _matches(schema: Mapping[str, Any], instance: Any) -> bool:
    try:
        return bool(Draft7Validator(schema).is_valid(instance))
    except (SchemaError, TypeError, ValueError):
        return False


# ------------------------------------------------------------------ validation
#: jsonschema checks only the formats whose optional packages are installed (here email, ipv4,
#: ipv6, date, regex); Backstage's validator also checks these common ones, so we do too.
FORMATS = FormatChecker()
_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$", re.ASCII)
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S*$")
_DATE_TIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$", re.ASCII
)
_TIME = re.compile(
    r"^([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?([Zz]|[+-]\d{2}:\d{2})?$", re.ASCII
)


@FORMATS.checks("hostname")
def _is_hostname(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return len(value) <= 253 and all(_HOST_LABEL.match(label) for label in value.split("."))


@FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    return not isinstance(value, str) or bool(_URI.match(value))


@FORMATS.checks("uri-reference")
def _is_uri_reference(value: object) -> bool:
    return not isinstance(value, str) or not any(c.isspace() for c in value)


@FORMATS.checks("date-time")
def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.match(value):
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


@FORMATS.checks("time")
def _is_time(value: object) -> bool:
    return not isinstance(value, str) or bool(_TIME.match(value))


def validate_values(spec: TemplateSpec, values: Mapping[str, Any]) -> list[FieldError]:
    """Per-field problems with the answers, one per field; empty when they are valid."""
    if not isinstance(values, Mapping):
        return [FieldError(ROOT_FIELD, "must be an object of answers")]
    answers = dict(values)
    errors: list[FieldError] = []
    seen: set[str] = set()
    for index, page in enumerate(spec.parameters):
        if not page_visible(page, answers):
            continue
        validator = _page_validator(spec, index, page)
        for error in validator.iter_errors(answers):
            for leaf in _leaves(error):
                for field, message in _describe(leaf):
                    if field not in seen:
                        seen.add(field)
                        errors.append(FieldError(field, message, index))
    return errors


def validate_secrets(spec: TemplateSpec, secrets: Mapping[str, Any]) -> list[FieldError]:
    """Problems with ``secrets`` against ``spec.secrets.schema``; empty when there is none."""
    if spec.secrets_schema is None:
        return []
    cls = validator_for(spec.secrets_schema, default=Draft7Validator)
    validator = cls(spec.secrets_schema, format_checker=FORMATS)
    errors: list[FieldError] = []
    seen: set[str] = set()
    for error in validator.iter_errors(dict(secrets)):
        for leaf in _leaves(error):
            for field, message in _describe(leaf):
                if field not in seen:
                    seen.add(field)
                    errors.append(FieldError(field, message))
    return errors


def _page_validator(spec: TemplateSpec, index: int, page: TemplateParameterPage) -> Any:
    try:
        return page.validator(FORMATS)
    except SchemaError as exc:
        raise InputError(
            f"{page_name(index, page.title)} is not a valid JSON Schema: "
            f"{schema_error_text(exc)} (in {spec.entity_ref})",
            where=f"spec.parameters[{index}]",
        ) from exc


def _leaves(error: ValidationError) -> list[ValidationError]:
    """For ``oneOf``/``anyOf``, the errors of the branch the answers were meant for rather
    than "is not valid under any of the given schemas"."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        return [leaf for e in _closest_branch(error) for leaf in _leaves(e)]
    return [error]


def _closest_branch(error: ValidationError) -> list[ValidationError]:
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context or []:
        branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    schemas = error.validator_value if isinstance(error.validator_value, list) else []
    shared = _shared_properties(schemas)

    def rank(index: int) -> tuple[bool, int, int]:
        # A branch that rejects the value of a property every branch declares (the
        # discriminator, like ``database: {enum: [none]}``) was not the one meant.
        found = branches[index]
        mismatched = any(
            e.validator in ("enum", "const")
            and len(e.relative_path) == 1
            and e.relative_path[0] in shared
            for e in found
        )
        return (mismatched, len(found), index)

    return branches[min(branches, key=rank)]


def _shared_properties(schemas: Iterable[Any]) -> set[str]:
    names: set[str] | None = None
    for schema in schemas:
        props = schema.get("properties") if isinstance(schema, Mapping) else None
        keys = set(props) if isinstance(props, Mapping) else set()
        names = keys if names is None else names & keys
    return names or set()


_TYPE_NAMES = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "empty",
}


def _describe(error: ValidationError) -> list[tuple[str, str]]:
    """``(field, message)`` pairs for one jsonschema error."""
    path = [str(p) for p in error.absolute_path]
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    instance = error.instance
    keyword = str(error.validator)
    if keyword == "required" and isinstance(instance, Mapping):
        missing = _quoted_name(error.message, error.validator_value)
        prop = (schema.get("properties") or {}).get(missing)
        # A plain-string errorMessage describes a bad value, not a missing one.
        custom = _custom(prop, "required", keyed_only=True) or _custom_required(schema, missing)
        return [(_join(path, missing), custom or "is required")]
    if keyword in ("dependencies", "dependentRequired") and isinstance(instance, Mapping):
        pair = _dependency_pair(error)
        if pair is not None:
            needed, by = pair
            return [(_join(path, needed), f"is required when {by} is given")]
    if keyword == "additionalProperties" and isinstance(instance, Mapping):
        extras = _unexpected(schema, instance)
        if extras:
            return [(_join(path, name), "is not an allowed answer") for name in extras]
    field = _join(path)
    custom = _custom(schema, keyword)
    if custom:
        return [(field, custom)]
    message = _message(keyword, error)
    hint = schema.get("ui:help")
    if isinstance(hint, str) and hint.strip():
        message = f"{message} ({hint.strip()})"
    return [(field, message)]


def _join(path: list[str], *more: str) -> str:
    return ".".join([*path, *more]) or ROOT_FIELD


def _quoted_name(message: str, names: Any) -> str:
    for name in names if isinstance(names, list) else []:
        if message.startswith(f"{name!r} "):
            return str(name)
    return message.split("'")[1] if message.count("'") >= 2 else ""


def _dependency_pair(error: ValidationError) -> tuple[str, str] | None:
    dependencies = error.validator_value if isinstance(error.validator_value, Mapping) else {}
    for by, needed in dependencies.items():
        if isinstance(needed, list):
            for name in needed:
                if error.message == f"{name!r} is a dependency of {by!r}":
                    return str(name), str(by)
    return None


def _unexpected(schema: Mapping[str, Any], instance: Mapping[str, Any]) -> list[str]:
    declared = schema.get("properties") or {}
    patterns = list((schema.get("patternProperties") or {}).keys())
    return [
        str(name)
        for name in instance
        if name not in declared and not any(re.search(p, str(name)) for p in patterns)
    ]


def _custom(schema: Any, keyword: str, *, keyed_only: bool = False) -> str | None:
    """A template's own wording: ``errorMessage`` (ajv-errors style, a string or a map from
    keyword to message) on the property."""
    if not isinstance(schema, Mapping):
        return None
    custom = schema.get("errorMessage")
    if isinstance(custom, str) and not keyed_only:
        return custom
    if isinstance(custom, Mapping) and isinstance(custom.get(keyword), str):
        return str(custom[keyword])
    return None


def _custom_required(schema: Mapping[str, Any], name: str) -> str | None:
    """ajv-errors puts messages for missing properties on the parent:
    ``errorMessage: {required: {name: '...'}}``."""
    custom = schema.get("errorMessage")
    required = custom.get("required") if isinstance(custom, Mapping) else None
    if isinstance(required, Mapping) and isinstance(required.get(name), str):
        return str(required[name])
    return None


def _show(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _message(keyword: str, error: ValidationError) -> str:
    expected = error.validator_value
    if keyword == "pattern":
        return f"must match {expected}"
    if keyword == "enum" and isinstance(expected, list):
        return "must be one of: " + ", ".join(_show(v) for v in expected)
    if keyword == "const":
        return f"must be {_show(expected)}"
    if keyword == "type":
        kinds = expected if isinstance(expected, list) else [expected]
        return "must be " + " or ".join(_TYPE_NAMES.get(str(k), str(k)) for k in kinds)
    if keyword == "format":
        return f"must be a valid {expected}"
    simple = {
        "minLength": f"must be at least {expected} characters long",
        "maxLength": f"must be at most {expected} characters long",
        "minimum": f"must be at least {expected}",
        "maximum": f"must be at most {expected}",
        "exclusiveMinimum": f"must be greater than {expected}",
        "exclusiveMaximum": f"must be less than {expected}",
        "multipleOf": f"must be a multiple of {expected}",
        "minItems": f"must have at least {expected} item(s)",
        "maxItems": f"must have at most {expected} item(s)",
        "uniqueItems": "must not contain duplicates",
        "minProperties": f"must have at least {expected} entries",
        "maxProperties": f"must have at most {expected} entries",
        "oneOf": "must match exactly one of the allowed alternatives",
        "anyOf": "must match one of the allowed alternatives",
        "not": "is not an allowed value",
    }
    return simple.get(keyword, error.message)


# ------------------------------------------------------------------ CLI input
_BOOLEAN_WORDS = {
    "true": True,
    "yes": True,
    "y": True,
    "on": True,
    "1": True,
    "false": False,
    "no": False,
    "n": False,
    "off": False,
    "0": False,
}
_INTEGER = re.compile(r"^[-+]?\d+$", re.ASCII)


def coerce_cli_value(spec: TemplateSpec, key: str, text: str) -> Any:
    """``goldpath create --set key=value``: the text as the property's declared type.

    ``key`` may be dotted (``database.size``); the caller builds the nested object. Text that
    does not convert is returned as is, so validation reports it against the field.
    """
    return coerce_value(property_schema(spec, key), text)


def coerce_value(prop: Mapping[str, Any] | None, text: str) -> Any:
    """``text`` converted to the JSON type ``prop`` declares (or to one of its ``enum``s)."""
    if not prop:
        return text
    enum = prop.get("enum")
    if isinstance(enum, list):
        for option in enum:
            if _show(option) == text:
                return option
    declared = prop.get("type")
    kinds = declared if isinstance(declared, list) else [declared]
    for kind in ("null", "boolean", "integer", "number", "array", "object"):
        if kind in kinds:
            converted = _convert(kind, prop, text)
            if converted is not _UNDEFINED:
                return converted
    return text


def _convert(kind: str, prop: Mapping[str, Any], text: str) -> Any:
    stripped = text.strip()
    if kind == "null":
        return None if stripped == "null" else _UNDEFINED
    if kind == "boolean":
        return _BOOLEAN_WORDS.get(stripped.lower(), _UNDEFINED)
    if kind == "integer":
        if _INTEGER.match(stripped):
            return int(stripped)
        number = _number(stripped)
        return int(number) if isinstance(number, float) and number.is_integer() else _UNDEFINED
    if kind == "number":
        if _INTEGER.match(stripped):
            return int(stripped)
        return _number(stripped)
    if kind == "array":
        if stripped.startswith("["):
            loaded = _json(stripped)
            return loaded if isinstance(loaded, list) else _UNDEFINED
        items = prop.get("items") if isinstance(prop.get("items"), Mapping) else None
        parts = [part.strip() for part in text.split(",")]
        return [coerce_value(items, part) for part in parts if part]
    if kind == "object":
        loaded = _json(stripped)
        return loaded if isinstance(loaded, dict) else _UNDEFINED
    return _UNDEFINED


def _number(text: str) -> Any:
    try:
        number = float(text)
    except ValueError:
        return _UNDEFINED
    return number if math.isfinite(number) else _UNDEFINED


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return _UNDEFINED
