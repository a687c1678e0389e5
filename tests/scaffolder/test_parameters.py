"""Template parsing and answer validation: per-field errors, defaults, secrets."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from goldpath.core.errors import InputError
from goldpath.scaffolder.model import parse_template
from goldpath.scaffolder.parameters import (
    apply_defaults,
    parameter_schema,
    secret_fields,
    validate_values,
)

TEMPLATE = yaml.safe_load(
    """
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: microservice-golden-path
  title: Production-Ready Microservice
  annotations:
    goldpath.dev/template-version: 2.1.0
    backstage.io/managed-by-location: file:/srv/templates/svc/template.yaml
spec:
  owner: platform-team
  type: service
  presentation: {buttonLabels: {createButtonText: Go}}
  parameters:
    - title: Service Details
      required: [name, owner, language]
      properties:
        name: {title: Service Name, type: string, pattern: '^[a-z][a-z0-9-]*$'}
        owner: {title: Owning Team, type: string, ui:field: OwnerPicker}
        language: {title: Language, type: string, enum: [go, python, typescript, java]}
        database: {title: Database, type: string, enum: [postgres, mongodb, none], default: none}
      dependencies:
        database:
          oneOf:
            - properties:
                database: {enum: [none]}
            - properties:
                database: {enum: [postgres, mongodb]}
                size: {type: string, enum: [small, large]}
              required: [size]
    - title: Deployment
      properties:
        replicas: {type: integer, minimum: 1, default: 2}
        public: {type: boolean, default: false}
        apiToken: {type: string, ui:field: Secret}
        password: {type: string, ui:widget: password}
      if:
        properties: {public: {const: true}}
      then:
        required: [domain]
        properties:
          domain: {type: string, format: hostname}
  steps:
    - {id: fetch, name: Fetch, action: fetch:template, input: {url: ./skeleton}}
    - {name: Register, action: catalog:register, if: '${{ parameters.register }}'}
  output:
    links: [{title: Repo, url: 'https://example.test'}]
"""
)


def test_a_template_parses_with_its_version_and_location() -> None:
    spec = parse_template(TEMPLATE)
    assert spec.entity_ref == "template:default/microservice-golden-path"
    assert spec.version == "2.1.0"
    assert spec.base_url == "file:/srv/templates/svc/template.yaml"
    assert [s.id for s in spec.steps] == ["fetch", "step-2"]
    assert spec.steps[1].if_ == "${{ parameters.register }}"
    assert [p.title for p in spec.parameters] == ["Service Details", "Deployment"]


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda t: t.update(apiVersion="scaffolder.backstage.io/v1beta2"), "apiVersion"),
        (lambda t: t["spec"]["steps"][0].pop("action"), "spec.steps[0].action"),
        (lambda t: t["spec"]["steps"][1].update(id="fetch"), "spec.steps[1].id"),
        (lambda t: t["spec"].update(steps={"a": 1}), "spec.steps"),
        (
            lambda t: t["metadata"]["annotations"].update({"goldpath.dev/template-version": "two"}),
            "metadata.annotations[goldpath.dev/template-version]",
        ),
    ],
)
def test_template_errors_name_the_field(change: Any, where: str) -> None:
    broken = yaml.safe_load(yaml.safe_dump(TEMPLATE))
    change(broken)
    with pytest.raises(InputError) as caught:
        parse_template(broken)
    assert caught.value.where == where
    assert "template:default/microservice-golden-path" in str(caught.value)


def test_parameter_schema_has_backstages_shape() -> None:
    body = parameter_schema(parse_template(TEMPLATE))
    assert body["title"] == "Production-Ready Microservice"
    assert body["presentation"] == {"buttonLabels": {"createButtonText": "Go"}}
    first = body["steps"][0]
    assert first["title"] == "Service Details"
    assert first["schema"]["properties"]["owner"]["ui:field"] == "OwnerPicker"


def _errors(values: dict[str, Any]) -> dict[str, str]:
    spec = parse_template(TEMPLATE)
    return {e.field: e.message for e in validate_values(spec, apply_defaults(spec, values))}


def test_valid_answers_pass() -> None:
    assert _errors({"name": "payments", "owner": "team-a", "language": "python"}) == {}


def test_each_problem_names_its_field() -> None:
    errors = _errors({"name": "Payments!", "language": "cobol", "replicas": 0})
    assert errors["name"] == "must match ^[a-z][a-z0-9-]*$"
    assert errors["owner"] == "is required"
    assert errors["language"].startswith("must be one of 'go'")
    assert "replicas" in errors


def test_dependencies_with_one_of_and_if_then() -> None:
    base = {"name": "svc", "owner": "team-a", "language": "go"}
    assert _errors({**base, "database": "postgres"}) == {"size": "is required"}
    assert _errors({**base, "database": "postgres", "size": "small"}) == {}
    assert _errors({**base, "public": True}) == {"domain": "is required"}
    assert _errors({**base, "public": True, "domain": "svc.example.com"}) == {}


def test_defaults_and_secrets() -> None:
    spec = parse_template(TEMPLATE)
    filled = apply_defaults(spec, {"name": "svc"})
    assert filled == {"name": "svc", "database": "none", "replicas": 2, "public": False}
    assert secret_fields(spec) == {"apiToken", "password"}


def test_a_broken_page_schema_is_reported_as_the_templates_fault() -> None:
    broken = yaml.safe_load(yaml.safe_dump(TEMPLATE))
    broken["spec"]["parameters"][1]["properties"]["replicas"]["type"] = "whole-number"
    with pytest.raises(InputError, match="parameter page 2 is not a valid JSON Schema"):
        validate_values(parse_template(broken), {})
