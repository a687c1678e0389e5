"""A template's parameter pages: the schema forms are built from, defaults, validation.

Every page is a JSON Schema (draft-07) and, as Backstage does, every page is checked against
the whole set of answers. ``ui:*`` keys are form hints: JSON Schema ignores unknown keywords,
so they pass through untouched.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError, ValidationError

from goldpath.core.errors import InputError
from goldpath.scaffolder.model import TemplateSpec

_SECRET_FIELDS = ("Secret",)
_SECRET_WIDGETS = ("password",)


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str
    page: int | None = None


def parameter_schema(spec: TemplateSpec) -> dict[str, Any]:
    """``GET /v2/templates/:ns/:kind/:name/parameter-schema``."""
    body: dict[str, Any] = {
        "title": spec.title or spec.name,
        "description": spec.description,
        "steps": [
            {
                "title": page.title or f"Page {i + 1}",
                "description": page.description,
                "schema": page.schema_,
            }
            for i, page in enumerate(spec.parameters)
        ],
    }
    if spec.presentation:
        body["presentation"] = spec.presentation
    return body


def _properties(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Properties of a page, including those its ``dependencies``/``if``/``oneOf`` add."""
    found: dict[str, Any] = dict(schema.get("properties") or {})
    branches: list[Any] = []
    for dep in (schema.get("dependencies") or {}).values():
        if isinstance(dep, Mapping):
            branches.append(dep)
            branches.extend(dep.get("oneOf") or [])
    for key in ("then", "else"):
        if isinstance(schema.get(key), Mapping):
            branches.append(schema[key])
    for key in ("oneOf", "anyOf", "allOf"):
        branches.extend(b for b in schema.get(key) or [] if isinstance(b, Mapping))
    for branch in branches:
        for name, prop in (branch.get("properties") or {}).items():
            if isinstance(prop, Mapping) and name not in found:
                found[name] = prop
    return found


def secret_fields(spec: TemplateSpec) -> set[str]:
    """Top-level answers that are secrets (``ui:field: Secret`` or ``ui:widget: password``)."""
    names = set()
    for page in spec.parameters:
        for name, prop in _properties(page.schema_).items():
            if not isinstance(prop, Mapping):
                continue
            if prop.get("ui:field") in _SECRET_FIELDS or prop.get("ui:widget") in _SECRET_WIDGETS:
                names.add(name)
    return names


def _fill(schema: Mapping[str, Any], values: dict[str, Any]) -> None:
    for name, prop in (schema.get("properties") or {}).items():
        if not isinstance(prop, Mapping):
            continue
        if name not in values and "default" in prop:
            values[name] = copy.deepcopy(prop["default"])
        if isinstance(values.get(name), dict) and isinstance(prop.get("properties"), Mapping):
            _fill(prop, values[name])


def apply_defaults(spec: TemplateSpec, values: Mapping[str, Any]) -> dict[str, Any]:
    """Answers with every absent property that has a ``default`` filled in, as forms do."""
    filled = copy.deepcopy(dict(values))
    for page in spec.parameters:
        _fill(page.schema_, filled)
    return filled


def _field(error: ValidationError) -> str:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required" and isinstance(error.validator_value, list):
        # "'name' is a required property": the field is the missing one, not its parent.
        missing = error.message.split("'")[1] if error.message.count("'") >= 2 else ""
        path.append(missing)
    elif error.validator == "dependencies" and error.message.count("'") >= 2:
        path.append(error.message.split("'")[1])
    return ".".join(p for p in path if p) or "(answers)"


def _message(error: ValidationError) -> str:
    node = error.schema if isinstance(error.schema, Mapping) else {}
    custom = node.get("errorMessage") or node.get("ui:errorMessage")
    if isinstance(custom, str):
        return custom
    if isinstance(custom, Mapping) and isinstance(custom.get(str(error.validator)), str):
        return str(custom[str(error.validator)])
    validator = error.validator
    if validator == "required":
        return "is required"
    if validator == "pattern":
        return f"must match {error.validator_value}"
    if validator == "enum":
        return "must be one of " + ", ".join(repr(v) for v in error.validator_value)
    if validator == "type":
        return f"must be of type {error.validator_value}"
    if validator == "dependencies":
        return "is required by another answer"
    if validator in ("minLength", "maxLength", "minimum", "maximum", "minItems", "maxItems"):
        return error.message.split(" is ", 1)[-1] if " is " in error.message else error.message
    return error.message


def _leaf_errors(error: ValidationError) -> list[ValidationError]:
    """For ``oneOf``/``anyOf``, the errors of the branch that came closest, not the summary."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        best = jsonschema.exceptions.best_match(error.context)
        if best is not None:
            branch = [
                e
                for e in error.context
                if e.relative_schema_path[0] == best.relative_schema_path[0]
            ]
            return [leaf for e in branch for leaf in _leaf_errors(e)]
    return [error]


def validate_values(spec: TemplateSpec, values: Mapping[str, Any]) -> list[FieldError]:
    """Per-field problems with the answers; empty when they are valid."""
    errors: list[FieldError] = []
    seen: set[str] = set()
    for index, page in enumerate(spec.parameters):
        schema = page.schema_
        try:
            validator_cls = jsonschema.validators.validator_for(schema, jsonschema.Draft7Validator)
            validator_cls.check_schema(schema)
        except SchemaError as exc:
            raise InputError(
                f"{spec.entity_ref}: parameter page {index + 1} is not a valid JSON Schema: "
                f"{exc.message}",
                where=f"spec.parameters[{index}]",
            ) from exc
        validator = validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER)
        for error in sorted(validator.iter_errors(dict(values)), key=lambda e: list(e.path)):
            for leaf in _leaf_errors(error):
                field = _field(leaf)
                if field in seen:
                    continue
                seen.add(field)
                errors.append(FieldError(field, _message(leaf), index))
    return errors
