"""A template's parameter pages as HTML form fields (``formdata`` fills them with answers
and reads submitted forms back).

The fields follow react-jsonschema-form, which Backstage's scaffolder renders: one input per
property, ``ui:*`` hints for widgets, ``dependencies``/``oneOf``/``if`` fields shown with the
condition that brings them in (the server's validation decides whether they apply). Nothing
here validates answers: ``parameters.validate_values`` does, for the portal as for the API.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from goldpath.scaffolder.parameters import SECRET_FIELDS, SECRET_WIDGETS
from goldpath.scaffolder.pickers import CatalogLookup, Option

#: ``ui:widget`` values that change only the input's HTML type.
_WIDGET_TYPES = {"email": "email", "uri": "url", "date": "date", "color": "color"}
_FORMAT_TYPES = {"email": "email", "uri": "url", "url": "url", "date": "date"}
_ENTITY_FIELDS = frozenset({"EntityPicker", "OwnedEntityPicker", "MyGroupsPicker"})


@dataclass
class FormField:
    """One question on a page; the value parts are filled per request by ``fill``."""

    name: str  # dotted path of the answer: ``database.size``
    title: str
    kind: str  # text textarea password number checkbox select radio checkboxes lines json
    #          # owner entity repo hidden object
    schema: Mapping[str, Any]
    required: bool = False
    condition: str = ""
    description: str = ""
    help: str = ""
    placeholder: str = ""
    autofocus: bool = False
    readonly: bool = False
    input_type: str = "text"
    attrs: dict[str, str] = field(default_factory=dict)
    options: list[Option] = field(default_factory=list)
    arbitrary: bool = False
    hosts: list[Option] = field(default_factory=list)
    children: list[FormField] = field(default_factory=list)
    # Per request:
    text: str = ""
    selected: set[str] = field(default_factory=set)
    checked: bool = False
    parts: dict[str, str] = field(default_factory=dict)
    error: str = ""
    kept_secret: bool = False

    @property
    def id(self) -> str:
        return "f-" + re.sub(r"[^A-Za-z0-9_-]", "-", self.name.replace(".", "__"))

    @property
    def error_text(self) -> str:
        """The problem as a sentence: validation's "is required" reads "Name is required"; a
        template's own message stays as written."""
        return f"{self.title} {self.error}" if self.error[:1].islower() else self.error

    @property
    def secret(self) -> bool:
        return self.kind == "password"

    @property
    def group(self) -> bool:
        """Rendered as a <fieldset> of several inputs rather than one labelled input."""
        return self.kind in ("radio", "checkboxes", "repo", "object")

    @property
    def describedby(self) -> str:
        ids = []
        if self.error:
            ids.append(f"{self.id}-error")
        if self.description or self.condition:
            ids.append(f"{self.id}-desc")
        if self.help:
            ids.append(f"{self.id}-help")
        if self.kept_secret:
            ids.append(f"{self.id}-kept")
        return " ".join(ids)

    def walk(self) -> list[FormField]:
        return [self, *(f for child in self.children for f in child.walk())]


# ------------------------------------------------------------------ schema → fields
@dataclass
class _Prop:
    schema: Mapping[str, Any]
    required: bool
    conditions: list[str]
    always: bool


def page_fields(schema: Mapping[str, Any], lookup: CatalogLookup) -> list[FormField]:
    """The fields of one parameter page (or of a nested object), in ``ui:order``."""
    return _fields(schema, "", lookup)


def _fields(schema: Mapping[str, Any], prefix: str, lookup: CatalogLookup) -> list[FormField]:
    found: dict[str, _Prop] = {}
    titles = {
        name: str(prop.get("title") or name)
        for name, prop in (schema.get("properties") or {}).items()
        if isinstance(prop, Mapping)
    }
    _collect(schema, None, found, titles)
    fields = []
    for name in _ordered(list(found), schema.get("ui:order")):
        prop = found[name]
        unique = list(dict.fromkeys(prop.conditions))
        condition = ("Asked only " + " or ".join(unique) + ".") if unique else ""
        fields.append(_field(prefix + name, prop.schema, prop.required, condition, lookup))
    return fields


def _collect(
    node: Any, condition: str | None, found: dict[str, _Prop], titles: dict[str, str]
) -> None:
    """Every property ``node`` may ask for, with the conditions under which it is asked
    (the first definition of a property keeps its schema; a plain one drops conditions)."""
    if not isinstance(node, Mapping):
        return
    required = set(node.get("required") or [])
    for name, prop in (node.get("properties") or {}).items():
        if not isinstance(prop, Mapping):
            continue
        when = None
        if condition is not None:
            when = condition + (" (and then required)" if name in required else "")
        existing = found.get(name)
        if existing is None:
            found[name] = _Prop(prop, when is None and name in required, [], when is None)
            existing = found[name]
        if when is None:
            existing.always, existing.conditions = True, []
            existing.required = existing.required or name in required
        elif not existing.always:
            existing.conditions.append(when)
    for key, dependency in (node.get("dependencies") or {}).items():
        if not isinstance(dependency, Mapping):
            continue
        label = titles.get(key, key)
        given = f"when {label} is given"
        _collect({k: v for k, v in dependency.items() if k != "oneOf"}, given, found, titles)
        for branch in dependency.get("oneOf") or []:
            values = _branch_values(branch, key)
            _collect(branch, f"when {label} is {values}" if values else given, found, titles)
    for branch in node.get("allOf") or []:
        _collect(branch, condition, found, titles)
    for keyword in ("oneOf", "anyOf"):
        for branch in node.get(keyword) or []:
            _collect(branch, condition or "for some of the alternatives", found, titles)
    if isinstance(node.get("if"), Mapping):
        described = _if_text(node["if"], titles)
        _collect(node.get("then"), described or "depending on other answers", found, titles)
        otherwise = f"unless {described[5:]}" if described else "depending on other answers"
        _collect(node.get("else"), otherwise, found, titles)


def _branch_values(branch: Any, key: str) -> str:
    """``a or b`` for the values of ``key`` a ``oneOf`` branch (or an ``if``) accepts."""
    props = branch.get("properties") if isinstance(branch, Mapping) else None
    prop = props.get(key) if isinstance(props, Mapping) else None
    if not isinstance(prop, Mapping):
        return ""
    values = prop.get("enum") if isinstance(prop.get("enum"), list) else None
    if values is None and "const" in prop:
        values = [prop["const"]]
    return " or ".join(show(v) for v in values or [])


def _if_text(condition: Mapping[str, Any], titles: dict[str, str]) -> str:
    parts = []
    for key, prop in (condition.get("properties") or {}).items():
        values = _branch_values(condition, key)
        if values and isinstance(prop, Mapping):
            parts.append(f"{titles.get(key, key)} is {values}")
    return "when " + " and ".join(parts) if parts else ""


def _ordered(names: list[str], order: Any) -> list[str]:
    """rjsf's ``ui:order``: listed names first, ``*`` standing for all the others."""
    if not isinstance(order, list):
        return names
    listed = [n for n in order if isinstance(n, str) and (n in names or n == "*")]
    rest = [n for n in names if n not in listed]
    if "*" not in listed:
        listed.append("*")
    out: list[str] = []
    for name in listed:
        out.extend(rest if name == "*" else [name])
    return out


def _field(
    name: str, prop: Mapping[str, Any], required: bool, condition: str, lookup: CatalogLookup
) -> FormField:
    raw_options = prop.get("ui:options")
    options: Mapping[str, Any] = raw_options if isinstance(raw_options, Mapping) else {}
    kind = field_kind(prop)
    made = FormField(
        name=name,
        title=str(prop.get("title") or name.rsplit(".", 1)[-1]),
        kind=kind,
        schema=prop,
        required=required,
        condition=condition,
        description=_text(prop.get("description")),
        help=_text(prop.get("ui:help")),
        placeholder=_text(prop.get("ui:placeholder")),
        autofocus=prop.get("ui:autofocus") is True,
        readonly=prop.get("ui:readonly") is True or prop.get("readOnly") is True,
        input_type=_input_type(prop, kind),
        attrs=_attrs(prop, kind, options),
    )
    if kind in ("select", "radio"):
        made.options = enum_options(prop)
    elif kind == "checkboxes":
        made.options = enum_options(prop.get("items") or {})
    elif kind in ("owner", "entity"):
        made.options = lookup.entities(options, owner=kind == "owner")
        made.arbitrary = options.get("allowArbitraryValues") is True
    elif kind == "repo":
        made.hosts = lookup.repo_hosts(options)
    elif kind == "object":
        made.children = _fields(prop, name + ".", lookup)
    return made


def field_kind(prop: Mapping[str, Any]) -> str:
    ui_field, widget = prop.get("ui:field"), prop.get("ui:widget")
    if ui_field in SECRET_FIELDS or widget in SECRET_WIDGETS:
        return "password"
    if ui_field == "OwnerPicker":
        return "owner"
    if ui_field in _ENTITY_FIELDS:
        return "entity"
    if ui_field == "RepoUrlPicker":
        return "repo"
    if widget == "hidden":
        return "hidden"
    kind = json_type(prop)
    if _has_choices(prop) or kind == "boolean" and widget in ("radio", "select"):
        return "radio" if widget == "radio" else "select"
    if kind == "boolean":
        return "checkbox"
    if kind in ("integer", "number"):
        return "number"
    if kind == "array":
        raw_items = prop.get("items")
        items: Mapping[str, Any] = raw_items if isinstance(raw_items, Mapping) else {}
        if _has_choices(items):
            return "checkboxes"
        return "lines" if json_type(items) in ("string", "integer", "number") else "json"
    if kind == "object":
        return "object" if isinstance(prop.get("properties"), Mapping) else "json"
    return "textarea" if widget == "textarea" else "text"


def json_type(prop: Mapping[str, Any]) -> str:
    declared = prop.get("type")
    kinds = declared if isinstance(declared, list) else [declared]
    return next((str(k) for k in kinds if k and k != "null"), "")


def _has_choices(prop: Mapping[str, Any]) -> bool:
    return isinstance(prop.get("enum"), list) or (
        json_type(prop) != "boolean" and bool(enum_options(prop))
    )


def enum_options(prop: Mapping[str, Any]) -> list[Option]:
    """``enum`` (titled by ``enumNames``/``ui:enumNames``) or ``oneOf`` of titled ``const``s."""
    enum = prop.get("enum")
    if isinstance(enum, list):
        names = prop.get("ui:enumNames") or prop.get("enumNames") or []
        names = names if isinstance(names, list) else []
        return [
            Option(show(v), str(names[i]) if i < len(names) else show(v))
            for i, v in enumerate(enum)
        ]
    if json_type(prop) == "boolean":
        return [Option("true", "Yes"), Option("false", "No")]
    branches = prop.get("oneOf") or prop.get("anyOf")
    if (
        isinstance(branches, list)
        and branches
        and all(isinstance(b, Mapping) and "const" in b for b in branches)
    ):
        return [Option(show(b["const"]), str(b.get("title") or show(b["const"]))) for b in branches]
    return []


def _input_type(prop: Mapping[str, Any], kind: str) -> str:
    if kind == "number":
        return "number"
    widget, fmt = prop.get("ui:widget"), prop.get("format")
    if isinstance(widget, str) and widget in _WIDGET_TYPES:
        return _WIDGET_TYPES[widget]
    return _FORMAT_TYPES.get(fmt, "text") if isinstance(fmt, str) else "text"


def _attrs(prop: Mapping[str, Any], kind: str, options: Mapping[str, Any]) -> dict[str, str]:
    """HTML hints (the form is ``novalidate``: the server's validation has the last word)."""
    attrs: dict[str, str] = {}
    names = {"minimum": "min", "maximum": "max", "minLength": "minlength", "maxLength": "maxlength"}
    for keyword, attribute in names.items():
        value = prop.get(keyword)
        if isinstance(value, int | float) and not isinstance(value, bool):
            attrs[attribute] = show(value)
    if kind == "number":
        multiple = prop.get("multipleOf")
        integer = json_type(prop) == "integer"
        step = show(multiple) if isinstance(multiple, int | float) else None
        attrs["step"] = step or ("1" if integer else "any")
    if kind in ("textarea", "lines", "json"):
        rows = options.get("rows")
        attrs["rows"] = str(rows) if isinstance(rows, int) else "4" if kind != "json" else "6"
    return attrs


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def show(value: Any) -> str:
    """How a JSON value is spelled in an input (and matched back by ``coerce_value``)."""
    return value if isinstance(value, str) else json.dumps(value)
