"""The Template entity (``scaffolder.backstage.io/v1beta3``) as the engine reads it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from goldpath.core.errors import InputError

API_VERSION = "scaffolder.backstage.io/v1beta3"
VERSION_ANNOTATION = "goldpath.dev/template-version"
LOCATION_ANNOTATION = "backstage.io/managed-by-location"
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)


class TemplateStep(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str
    name: str
    action: str
    input: dict[str, Any] = Field(default_factory=dict)
    if_: Any = Field(default=None, alias="if")
    each: Any = None


class TemplateParameterPage(BaseModel):
    title: str | None = None
    description: str | None = None
    #: The whole page object: a JSON Schema with ``ui:*`` hints kept for forms.
    schema_: dict[str, Any] = Field(alias="schema")

    model_config = ConfigDict(populate_by_name=True)


class TemplateSpec(BaseModel):
    entity_ref: str
    name: str
    namespace: str
    title: str | None = None
    description: str | None = None
    owner: str | None = None
    type: str | None = None
    tags: list[str] = Field(default_factory=list)
    version: str | None = None
    parameters: list[TemplateParameterPage] = Field(default_factory=list)
    steps: list[TemplateStep] = Field(default_factory=list)
    output: dict[str, Any] = Field(default_factory=dict)
    presentation: dict[str, Any] | None = None
    base_url: str | None = None


def _fail(ref: str, where: str, message: str) -> InputError:
    return InputError(f"{ref}: {where}: {message}", where=where)


def parse_template(entity: Mapping[str, Any]) -> TemplateSpec:
    """Read a Template entity; errors name the template and the field (``spec.steps[2].action``)."""
    metadata = entity.get("metadata") or {}
    name = str(metadata.get("name") or "")
    namespace = str(metadata.get("namespace") or "default")
    ref = f"template:{namespace}/{name}"
    if not name:
        raise _fail(ref, "metadata.name", "required")
    api_version = entity.get("apiVersion")
    if api_version != API_VERSION:
        hint = (
            " (v1beta2 templates use a different expression syntax; migrate them to v1beta3)"
            if str(api_version).endswith("v1beta2")
            else ""
        )
        raise _fail(ref, "apiVersion", f"expected {API_VERSION}, got {api_version!r}{hint}")
    if str(entity.get("kind", "")).lower() != "template":
        raise _fail(ref, "kind", f"expected Template, got {entity.get('kind')!r}")
    spec = entity.get("spec")
    if not isinstance(spec, Mapping):
        raise _fail(ref, "spec", "required, an object")
    annotations = metadata.get("annotations") or {}
    version = annotations.get(VERSION_ANNOTATION)
    if version is not None and not _SEMVER.match(str(version)):
        raise _fail(
            ref,
            f"metadata.annotations[{VERSION_ANNOTATION}]",
            f"{version!r} is not a semantic version (e.g. 1.2.0)",
        )
    return TemplateSpec(
        entity_ref=ref.lower(),
        name=name,
        namespace=namespace,
        title=metadata.get("title"),
        description=metadata.get("description"),
        owner=spec.get("owner"),
        type=spec.get("type"),
        tags=[str(t) for t in metadata.get("tags") or []],
        version=str(version) if version is not None else None,
        parameters=_pages(ref, spec.get("parameters")),
        steps=_steps(ref, spec.get("steps")),
        output=_output(ref, spec.get("output")),
        presentation=spec.get("presentation")
        if isinstance(spec.get("presentation"), dict)
        else None,
        base_url=annotations.get(LOCATION_ANNOTATION),
    )


def _pages(ref: str, raw: Any) -> list[TemplateParameterPage]:
    if raw is None:
        return []
    pages = raw if isinstance(raw, list) else [raw]
    out = []
    for index, page in enumerate(pages):
        where = f"spec.parameters[{index}]" if isinstance(raw, list) else "spec.parameters"
        if not isinstance(page, Mapping):
            raise _fail(ref, where, "each parameter page must be an object (a JSON Schema)")
        out.append(
            TemplateParameterPage(
                title=page.get("title"),
                description=page.get("description"),
                schema=dict(page),
            )
        )
    return out


def _steps(ref: str, raw: Any) -> list[TemplateStep]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _fail(ref, "spec.steps", "must be an array")
    steps: list[TemplateStep] = []
    seen: set[str] = set()
    for index, step in enumerate(raw):
        where = f"spec.steps[{index}]"
        if not isinstance(step, Mapping):
            raise _fail(ref, where, "must be an object")
        action = step.get("action")
        if not isinstance(action, str) or not action:
            raise _fail(ref, f"{where}.action", "required")
        step_id = step.get("id")
        if step_id is None:
            step_id = f"step-{index + 1}"
        elif not isinstance(step_id, str) or not step_id:
            raise _fail(ref, f"{where}.id", "must be a non-empty string")
        if step_id in seen:
            raise _fail(ref, f"{where}.id", f"duplicate step id {step_id!r}")
        seen.add(step_id)
        step_input = step.get("input")
        if step_input is not None and not isinstance(step_input, Mapping):
            raise _fail(ref, f"{where}.input", "must be an object")
        extra = {k: v for k, v in step.items() if k not in ("id", "name", "action", "input")}
        steps.append(
            TemplateStep.model_validate(
                {
                    **extra,
                    "id": step_id,
                    "name": str(step.get("name") or step_id),
                    "action": action,
                    "input": dict(step_input or {}),
                }
            )
        )
    return steps


def _output(ref: str, raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise _fail(ref, "spec.output", "must be an object")
    for key in ("links", "text"):
        if key in raw and not isinstance(raw[key], list):
            raise _fail(ref, f"spec.output.{key}", "must be an array")
    return dict(raw)
