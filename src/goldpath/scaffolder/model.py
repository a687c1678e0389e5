"""The Template entity (``scaffolder.backstage.io/v1beta3``) as the engine reads it.

Follows Backstage's ``TemplateEntityV1beta3`` and ``Template.v1beta3.schema.json``: ``spec.type``
and ``spec.steps`` are required, ``parameters`` is one JSON Schema or a list of them (form
pages), each step needs an ``action``, and ``id``/``name`` are filled in the way Backstage's
``POST /v2/tasks`` fills them (``step-<n>`` and the action's name).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import SchemaError, best_match
from jsonschema.validators import validator_for
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from goldpath.core.errors import InputError

API_VERSION = "scaffolder.backstage.io/v1beta3"
VERSION_ANNOTATION = "goldpath.dev/template-version"
LOCATION_ANNOTATION = "backstage.io/managed-by-location"
PERMISSIONS_KEY = "backstage:permissions"
#: Backstage's parameter-schema route titles untitled pages with this.
DEFAULT_PAGE_TITLE = "Please enter the following information"

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
_OLD_API_VERSIONS = ("v1beta2", "v1alpha1")


class TemplateStep(BaseModel):
    """One step; unknown keys (``backstage:permissions`` and future ones) are kept as extras."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str
    name: str
    action: str
    input: dict[str, Any] = Field(default_factory=dict)
    if_: Any = Field(default=None, alias="if")
    each: Any = None

    @property
    def permission_tags(self) -> list[str]:
        permissions = (self.model_extra or {}).get(PERMISSIONS_KEY) or {}
        return [str(t) for t in permissions.get("tags") or []]


class TemplateOutput(BaseModel):
    """``spec.output``: ``links`` and ``text`` for the portal, any other keys kept as given."""

    model_config = ConfigDict(extra="allow")

    links: list[dict[str, Any]] = Field(default_factory=list)
    text: list[dict[str, Any]] = Field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump()


class TemplateParameterPage(BaseModel):
    """One form page. ``schema`` is the whole page object, ``ui:*`` hints included."""

    model_config = ConfigDict(populate_by_name=True)

    title: str | None = None
    description: str | None = None
    #: Backstage's conditional pages: ``${{ parameters.x === 'y' }}``; shown when truthy.
    when: Any = None
    # ``schema`` itself would shadow BaseModel.schema(); the alias keeps the wire name.
    schema_: dict[str, Any] = Field(alias="schema")
    _validator: Any = PrivateAttr(default=None)

    def check(self) -> None:
        """Raise ``SchemaError`` when the page is not a valid JSON Schema."""
        check_schema(self.schema_)

    def validator(self, format_checker: FormatChecker | None = None) -> Any:
        """A draft-07 (or the page's own ``$schema``) validator, built once per page."""
        if self._validator is None:
            check_schema(self.schema_)
            cls = validator_for(self.schema_, default=Draft7Validator)
            self._validator = cls(self.schema_, format_checker=format_checker or cls.FORMAT_CHECKER)
        return self._validator


def check_schema(schema: Mapping[str, Any]) -> None:
    """Raise ``SchemaError`` when ``schema`` is not a valid JSON Schema (draft-07 unless it
    names its own ``$schema``)."""
    # Checking against the meta-schema costs about a millisecond a page, and the same
    # templates are parsed on every request: remember the ones that passed.
    _check_schema_text(json.dumps(schema, sort_keys=True, default=str))


@functools.lru_cache(maxsize=1024)
def _check_schema_text(text: str) -> None:
    schema = json.loads(text)
    validator_for(schema, default=Draft7Validator).check_schema(schema)


class TemplateSpec(BaseModel):
    entity_ref: str
    name: str
    namespace: str
    title: str | None = None
    description: str | None = None
    owner: str | None = None
    type: str | None = None
    lifecycle: str | None = None
    tags: list[str] = Field(default_factory=list)
    #: ``metadata.annotations["goldpath.dev/template-version"]``, a semantic version.
    version: str | None = None
    parameters: list[TemplateParameterPage] = Field(default_factory=list)
    steps: list[TemplateStep] = Field(default_factory=list)
    output: TemplateOutput = Field(default_factory=TemplateOutput)
    presentation: dict[str, Any] | None = None
    #: ``spec.secrets.schema``: what ``secrets`` sent with a task must satisfy.
    secrets_schema: dict[str, Any] | None = None
    #: ``metadata["ui:options"]``, passed through to the form as Backstage does.
    ui_options: dict[str, Any] | None = None
    form_decorators: list[dict[str, Any]] | None = None
    #: ``backstage.io/managed-by-location``: relative ``fetch:*`` URLs resolve against it.
    base_url: str | None = None


def _fail(ref: str, where: str, message: str) -> InputError:
    # ``where`` is the field; the template goes in the message so one line names both.
    return InputError(
        f"{message} (in {ref})",
        where=where,
        details=[{"template": ref, "field": where, "message": message}],
    )


def parse_template(entity: Mapping[str, Any]) -> TemplateSpec:
    """Read a Template entity; errors name the template and the field (``spec.steps[2].action``)."""
    if not isinstance(entity, Mapping):
        raise InputError("a template must be an object", where="template")
    metadata = entity.get("metadata")
    if not isinstance(metadata, Mapping):
        metadata = {}
    name = metadata.get("name")
    namespace = metadata.get("namespace") or "default"
    kind = entity.get("kind")
    ref = f"template:{namespace}/{name or '<unnamed>'}".lower()
    if not isinstance(name, str) or not name:
        raise _fail(ref, "metadata.name", "required, a non-empty string")
    if not isinstance(namespace, str):
        raise _fail(ref, "metadata.namespace", "must be a string")
    _check_api_version(ref, entity.get("apiVersion"))
    if not isinstance(kind, str) or kind.lower() != "template":
        raise _fail(ref, "kind", f"expected Template, got {kind!r}")
    spec = entity.get("spec")
    if not isinstance(spec, Mapping):
        raise _fail(ref, "spec", "required, an object")
    annotations = metadata.get("annotations") or {}
    if not isinstance(annotations, Mapping):
        raise _fail(ref, "metadata.annotations", "must be an object")
    tags = metadata.get("tags") or []
    if not isinstance(tags, list):
        raise _fail(ref, "metadata.tags", "must be an array of strings")
    ui_options = metadata.get("ui:options")
    return TemplateSpec(
        entity_ref=ref,
        name=name,
        namespace=namespace,
        title=_optional_text(ref, "metadata.title", metadata.get("title")),
        description=_optional_text(ref, "metadata.description", metadata.get("description")),
        owner=_optional_text(ref, "spec.owner", spec.get("owner")),
        type=_required_text(ref, "spec.type", spec.get("type")),
        lifecycle=_optional_text(ref, "spec.lifecycle", spec.get("lifecycle")),
        tags=[str(t) for t in tags],
        version=_version(ref, annotations.get(VERSION_ANNOTATION)),
        parameters=_pages(ref, spec.get("parameters")),
        steps=_steps(ref, spec.get("steps")),
        output=_output(ref, spec.get("output")),
        presentation=_optional_object(ref, "spec.presentation", spec.get("presentation")),
        secrets_schema=_secrets_schema(ref, spec.get("secrets")),
        ui_options=dict(ui_options) if isinstance(ui_options, Mapping) else None,
        form_decorators=_decorators(ref, spec),
        base_url=_optional_text(
            ref,
            f"metadata.annotations[{LOCATION_ANNOTATION}]",
            annotations.get(LOCATION_ANNOTATION),
        ),
    )


def _check_api_version(ref: str, api_version: Any) -> None:
    if api_version == API_VERSION:
        return
    text = str(api_version)
    if any(text.endswith(old) for old in _OLD_API_VERSIONS):
        raise _fail(
            ref,
            "apiVersion",
            f"{text} templates are no longer supported (Backstage dropped them too); "
            f"migrate the template to {API_VERSION}: ${{{{ }}}} expressions instead of "
            "{{ }} handlebars",
        )
    raise _fail(ref, "apiVersion", f"expected {API_VERSION}, got {api_version!r}")


def _optional_text(ref: str, where: str, value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(ref, where, "must be a string")
    return value


def _required_text(ref: str, where: str, value: Any) -> str:
    if value is None:
        raise _fail(ref, where, "required")
    if not isinstance(value, str) or not value:
        raise _fail(ref, where, "must be a non-empty string")
    return value


def _optional_object(ref: str, where: str, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _fail(ref, where, "must be an object")
    return dict(value)


def _version(ref: str, version: Any) -> str | None:
    if version is None:
        return None
    if not isinstance(version, str) or not _SEMVER.match(version):
        raise _fail(
            ref,
            f"metadata.annotations[{VERSION_ANNOTATION}]",
            f"{version!r} is not a semantic version (MAJOR.MINOR.PATCH, e.g. '1.2.0', quoted)",
        )
    return version


def _pages(ref: str, raw: Any) -> list[TemplateParameterPage]:
    if raw is None:
        return []
    if not isinstance(raw, Mapping | list):
        raise _fail(ref, "spec.parameters", "must be an object or an array of objects")
    pages = raw if isinstance(raw, list) else [raw]
    out = []
    for index, page in enumerate(pages):
        where = f"spec.parameters[{index}]" if isinstance(raw, list) else "spec.parameters"
        if not isinstance(page, Mapping):
            raise _fail(ref, where, "must be an object (a JSON Schema)")
        for key in ("properties", "dependencies"):
            if key in page and not isinstance(page[key], Mapping):
                raise _fail(ref, f"{where}.{key}", "must be an object")
        permissions = page.get(PERMISSIONS_KEY)
        if permissions is not None and not isinstance(permissions, Mapping):
            raise _fail(ref, f"{where}.{PERMISSIONS_KEY}", "must be an object")
        title = page.get("title")
        description = page.get("description")
        parsed = TemplateParameterPage(
            title=title if isinstance(title, str) else None,
            description=description if isinstance(description, str) else None,
            when=page.get("when"),
            schema=dict(page),
        )
        try:
            parsed.check()
        except SchemaError as exc:
            raise _fail(ref, where, _schema_problem(index, parsed.title, exc)) from exc
        out.append(parsed)
    return out


def _schema_problem(index: int, title: str | None, exc: SchemaError) -> str:
    return f"{page_name(index, title)} is not a valid JSON Schema: {schema_error_text(exc)}"


def page_name(index: int, title: str | None) -> str:
    return f"parameter page {index + 1}" + (f" ({title!r})" if title else "")


def schema_error_text(exc: SchemaError) -> str:
    """The most specific reason a schema is invalid, and where in the schema."""
    error: Any = exc
    # The meta-schema's ``anyOf``s (e.g. for ``type``) hide the useful message one level down.
    while error.context:
        error = best_match(error.context)
    at = ".".join(str(p) for p in exc.absolute_path)
    return error.message + (f" at {at}" if at else "")


def _steps(ref: str, raw: Any) -> list[TemplateStep]:
    if raw is None:
        raise _fail(ref, "spec.steps", "required")
    if not isinstance(raw, list):
        raise _fail(ref, "spec.steps", "must be an array")
    steps: list[TemplateStep] = []
    seen: dict[str, int] = {}
    for index, step in enumerate(raw):
        where = f"spec.steps[{index}]"
        if not isinstance(step, Mapping):
            raise _fail(ref, where, "must be an object")
        action = step.get("action")
        if action is None:
            raise _fail(ref, f"{where}.action", "required")
        if not isinstance(action, str) or not action:
            raise _fail(ref, f"{where}.action", "must be a non-empty string")
        step_id = step.get("id")
        if step_id is None:
            step_id = f"step-{index + 1}"
        elif not isinstance(step_id, str) or not step_id:
            raise _fail(ref, f"{where}.id", "must be a non-empty string")
        # Later steps read ``steps.<id>.output``: two steps with one id would be ambiguous.
        if step_id in seen:
            raise _fail(
                ref,
                f"{where}.id",
                f"duplicate step id {step_id!r} (also spec.steps[{seen[step_id]}])",
            )
        seen[step_id] = index
        name = step.get("name")
        if name is not None and not isinstance(name, str):
            raise _fail(ref, f"{where}.name", "must be a string")
        step_input = step.get("input")
        if step_input is not None and not isinstance(step_input, Mapping):
            raise _fail(ref, f"{where}.input", "must be an object")
        condition = step.get("if")
        if condition is not None and not isinstance(condition, str | bool):
            raise _fail(ref, f"{where}.if", "must be a string (an expression) or a boolean")
        each = step.get("each")
        if each is not None and not isinstance(each, str | list | Mapping):
            raise _fail(ref, f"{where}.each", "must be an expression, an array or an object")
        permissions = step.get(PERMISSIONS_KEY)
        if permissions is not None and not isinstance(permissions, Mapping):
            raise _fail(ref, f"{where}.{PERMISSIONS_KEY}", "must be an object")
        extra = {k: v for k, v in step.items() if k not in ("id", "name", "action", "input", "if")}
        steps.append(
            TemplateStep.model_validate(
                {
                    **extra,
                    "id": step_id,
                    "name": name or action,
                    "action": action,
                    "input": dict(step_input or {}),
                    "if": condition,
                }
            )
        )
    return steps


def _output(ref: str, raw: Any) -> TemplateOutput:
    if raw is None:
        return TemplateOutput()
    if not isinstance(raw, Mapping):
        raise _fail(ref, "spec.output", "must be an object")
    for key in ("links", "text"):
        items = raw.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            raise _fail(ref, f"spec.output.{key}", "must be an array")
        for index, item in enumerate(items):
            if not isinstance(item, Mapping):
                raise _fail(ref, f"spec.output.{key}[{index}]", "must be an object")
    return TemplateOutput.model_validate(
        {
            **raw,
            "links": [dict(i) for i in raw.get("links") or []],
            "text": [dict(i) for i in raw.get("text") or []],
        }
    )


def _secrets_schema(ref: str, raw: Any) -> dict[str, Any] | None:
    secrets = _optional_object(ref, "spec.secrets", raw)
    if secrets is None:
        return None
    schema = _optional_object(ref, "spec.secrets.schema", secrets.get("schema"))
    if schema is not None:
        try:
            check_schema(schema)
        except SchemaError as exc:
            raise _fail(
                ref, "spec.secrets.schema", f"is not a valid JSON Schema: {schema_error_text(exc)}"
            ) from exc
    return schema


def _decorators(ref: str, spec: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    key = "formDecorators" if "formDecorators" in spec else "EXPERIMENTAL_formDecorators"
    raw = spec.get(key)
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(d, Mapping) for d in raw):
        raise _fail(ref, f"spec.{key}", "must be an array of objects")
    return [dict(d) for d in raw]
