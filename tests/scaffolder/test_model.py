"""Reading Template entities: what the engine sees, and errors that name the field."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from goldpath.core.errors import InputError
from goldpath.scaffolder.model import TemplateSpec, parse_template

DATA = Path(__file__).parent / "data"

# SPEC.md's template.yaml, verbatim.
SPEC_EXAMPLE = yaml.safe_load(
    """
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: microservice-golden-path, title: Production-Ready Microservice}
spec:
  owner: platform-team
  type: service
  parameters:
    - title: Service Details
      required: [name, owner, language]
      properties:
        name: {title: Service Name, type: string, pattern: '^[a-z][a-z0-9-]*$'}
        owner: {title: Owning Team, type: string, ui:field: OwnerPicker}
        language: {title: Language, type: string, enum: [go, python, typescript, java]}
        database: {title: Database, type: string, enum: [postgres, mongodb, none], default: none}
  steps:
    - {id: scaffold, name: Generate Code, action: fetch:template, input: {url: './skeleton/${{ parameters.language }}'}}
    - {id: catalog, name: Register in Service Catalog, action: catalog:register}
"""  # noqa: E501
)

# One schema object instead of a list of pages, nested objects, a step with an `each` object.
SINGLE_PAGE = yaml.safe_load(
    """
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: Nightly-Pipeline
  annotations:
    goldpath.dev/template-version: 0.4.0
spec:
  type: data-pipeline
  parameters:
    required: [name, schedule]
    properties:
      name: {type: string}
      schedule: {type: string, default: '0 2 * * *'}
      warehouse:
        type: object
        properties:
          dataset: {type: string}
          partitions: {type: integer, default: 30}
  steps:
    - id: tables
      action: debug:log
      each: {raw: landing, clean: curated}
      input:
        message: ${{ each.key }} -> ${{ each.value }}
"""
)


def _load(name: str) -> dict[str, Any]:
    loaded = yaml.safe_load((DATA / name).read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_the_spec_example_parses() -> None:
    spec = parse_template(SPEC_EXAMPLE)
    assert spec.entity_ref == "template:default/microservice-golden-path"
    assert (spec.name, spec.namespace) == ("microservice-golden-path", "default")
    assert spec.title == "Production-Ready Microservice"
    assert (spec.owner, spec.type, spec.version, spec.base_url) == (
        "platform-team",
        "service",
        None,
        None,
    )
    [page] = spec.parameters
    assert page.title == "Service Details"
    assert page.schema_["required"] == ["name", "owner", "language"]
    assert page.schema_["properties"]["owner"]["ui:field"] == "OwnerPicker"
    assert [(s.id, s.name, s.action) for s in spec.steps] == [
        ("scaffold", "Generate Code", "fetch:template"),
        ("catalog", "Register in Service Catalog", "catalog:register"),
    ]
    assert spec.steps[0].input == {"url": "./skeleton/${{ parameters.language }}"}
    assert spec.steps[1].input == {}
    assert spec.output.links == [] and spec.output.text == []


def test_a_multi_page_template_keeps_everything_backstage_defines() -> None:
    spec = parse_template(_load("event-consumer.yaml"))
    assert spec.entity_ref == "template:platform/event-consumer"
    assert spec.version == "3.2.1-rc.1"
    assert spec.base_url == (
        "url:https://git.example.test/platform/templates/blob/main/consumer/template.yaml"
    )
    assert (spec.lifecycle, spec.tags) == ("production", ["python", "events"])
    assert spec.presentation == {
        "buttonLabels": {
            "backButtonText": "Back",
            "createButtonText": "Scaffold",
            "reviewButtonText": "Check",
        }
    }
    assert spec.ui_options == {"layout": "wide"}
    assert spec.form_decorators == [
        {"id": "github:credentials", "input": {"hosts": ["github.com"]}}
    ]
    assert spec.secrets_schema is not None and spec.secrets_schema["required"] == ["apiToken"]
    assert [p.title for p in spec.parameters] == ["Service", "Storage", "Exposure"]
    first = spec.parameters[0]
    assert first.description == "What the consumer is called and who owns it."
    # The page is the whole object: permissions and ui:* hints stay for the form.
    assert first.schema_["backstage:permissions"] == {"tags": ["basics"]}
    assert first.schema_["properties"]["name"]["ui:field"] == "EntityNamePicker"


def test_steps_get_backstages_ids_and_names_and_keep_if_each_and_permissions() -> None:
    steps = parse_template(_load("event-consumer.yaml")).steps
    # Backstage's POST /v2/tasks: id `step-<n>` (1-based), name defaults to the action.
    assert (steps[1].id, steps[1].name) == ("step-2", "debug:log")
    assert steps[2].each == "${{ parameters.topics }}"
    assert steps[3].each == ["main", "retry"]
    assert steps[4].if_ == "${{ parameters.database !== 'none' }}"
    assert steps[5].if_ is True
    assert steps[0].if_ is None and steps[0].each is None
    assert steps[4].permission_tags == ["infra"]
    assert steps[0].permission_tags == []
    dumped = steps[4].model_dump(by_alias=True)
    assert dumped["if"] == "${{ parameters.database !== 'none' }}"
    assert dumped["backstage:permissions"] == {"tags": ["infra"]}


def test_output_keeps_links_text_and_other_keys() -> None:
    output = parse_template(_load("event-consumer.yaml")).output
    assert [link["title"] for link in output.links] == ["Repository", "Open in catalog"]
    assert output.links[1]["entityRef"] == "${{ steps.register.output.entityRef }}"
    assert output.text == [{"title": "Next steps", "content": "Push to **main** to deploy."}]
    assert output.as_dict()["remoteUrl"] == "${{ steps.publish.output.remoteUrl }}"


def test_parameters_may_be_one_object_and_each_an_object() -> None:
    spec = parse_template(SINGLE_PAGE)
    # Backstage lower-cases refs; the name itself is kept as written.
    assert spec.entity_ref == "template:default/nightly-pipeline"
    assert spec.name == "Nightly-Pipeline"
    assert spec.version == "0.4.0"
    [page] = spec.parameters
    assert page.title is None
    assert page.schema_["properties"]["warehouse"]["properties"]["partitions"]["default"] == 30
    assert spec.steps[0].each == {"raw": "landing", "clean": "curated"}
    assert spec.steps[0].name == "debug:log"


def test_a_template_without_parameters_has_no_pages() -> None:
    template = copy.deepcopy(SPEC_EXAMPLE)
    del template["spec"]["parameters"]
    assert parse_template(template).parameters == []


def _broken(change: Callable[[dict[str, Any]], Any]) -> InputError:
    template = copy.deepcopy(_load("event-consumer.yaml"))
    change(template)
    with pytest.raises(InputError) as caught:
        parse_template(template)
    return caught.value


def _steps(t: dict[str, Any]) -> list[dict[str, Any]]:
    steps = t["spec"]["steps"]
    assert isinstance(steps, list)
    return steps


@pytest.mark.parametrize(
    ("change", "where", "says"),
    [
        (lambda t: _steps(t)[2].pop("action"), "spec.steps[2].action", "required"),
        (lambda t: _steps(t)[2].update(action=""), "spec.steps[2].action", "non-empty"),
        (lambda t: _steps(t).__setitem__(1, "debug:log"), "spec.steps[1]", "must be an object"),
        (lambda t: _steps(t)[3].update(id="fetch"), "spec.steps[3].id", "duplicate step id"),
        # An explicit id may collide with one Backstage generates for an anonymous step.
        (lambda t: _steps(t)[0].update(id="step-2"), "spec.steps[1].id", "'step-2'"),
        (lambda t: _steps(t)[0].update(id=7), "spec.steps[0].id", "non-empty string"),
        (lambda t: _steps(t)[0].update(name=["x"]), "spec.steps[0].name", "string"),
        (lambda t: _steps(t)[0].update(input=["x"]), "spec.steps[0].input", "object"),
        (lambda t: _steps(t)[4].update({"if": 1}), "spec.steps[4].if", "string"),
        (lambda t: _steps(t)[2].update(each=3), "spec.steps[2].each", "expression"),
        (
            lambda t: _steps(t)[4].update({"backstage:permissions": ["infra"]}),
            "spec.steps[4].backstage:permissions",
            "object",
        ),
        (lambda t: t["spec"].pop("steps"), "spec.steps", "required"),
        (lambda t: t["spec"].update(steps={"a": 1}), "spec.steps", "must be an array"),
        (lambda t: t["spec"].pop("type"), "spec.type", "required"),
        (lambda t: t["spec"].update(owner=["team"]), "spec.owner", "string"),
        (lambda t: t.pop("spec"), "spec", "required"),
        (lambda t: t.update(kind="Component"), "kind", "expected Template"),
        (lambda t: t["metadata"].pop("name"), "metadata.name", "required"),
        (lambda t: t["metadata"].update(tags="python"), "metadata.tags", "array"),
        (
            lambda t: t.update(apiVersion="backstage.io/v1alpha1"),
            "apiVersion",
            "no longer supported",
        ),
        (
            lambda t: t.update(apiVersion="scaffolder.backstage.io/v2"),
            "apiVersion",
            "expected scaffolder.backstage.io/v1beta3",
        ),
        (
            lambda t: t["spec"].update(parameters="name"),
            "spec.parameters",
            "an object or an array of objects",
        ),
        (
            lambda t: t["spec"]["parameters"].__setitem__(1, "storage"),
            "spec.parameters[1]",
            "must be an object (a JSON Schema)",
        ),
        (
            lambda t: t["spec"]["parameters"][0].update(properties=["name"]),
            "spec.parameters[0].properties",
            "must be an object",
        ),
        (
            lambda t: t["spec"]["parameters"][0]["properties"]["retries"].update(
                type="whole-number"
            ),
            "spec.parameters[0]",
            "parameter page 1 ('Service') is not a valid JSON Schema: 'whole-number' is not one "
            "of ['array', 'boolean', 'integer', 'null', 'number', 'object', 'string'] "
            "at properties.retries.type",
        ),
        (
            lambda t: t["spec"]["parameters"][0]["properties"]["name"].update(pattern="[a-"),
            "spec.parameters[0]",
            "'[a-' is not a 'regex'",
        ),
        (
            lambda t: t["spec"]["parameters"][2].update(required="domain"),
            "spec.parameters[2]",
            "'domain' is not of type 'array'",
        ),
        (
            lambda t: t["metadata"]["annotations"].update({"goldpath.dev/template-version": "two"}),
            "metadata.annotations[goldpath.dev/template-version]",
            "'two' is not a semantic version",
        ),
        (
            # YAML reads an unquoted 1.0 as a number: say so rather than guess 1.0.0.
            lambda t: t["metadata"]["annotations"].update({"goldpath.dev/template-version": 1.0}),
            "metadata.annotations[goldpath.dev/template-version]",
            "1.0 is not a semantic version",
        ),
        (lambda t: t["spec"]["output"].update(links={}), "spec.output.links", "array"),
        (lambda t: t["spec"]["output"]["text"].append("x"), "spec.output.text[1]", "object"),
        (lambda t: t["spec"].update(output=[]), "spec.output", "must be an object"),
        (lambda t: t["spec"].update(presentation="wide"), "spec.presentation", "object"),
        (
            lambda t: t["spec"]["secrets"]["schema"].update(required="apiToken"),
            "spec.secrets.schema",
            "not a valid JSON Schema",
        ),
        (
            lambda t: t["spec"].update(EXPERIMENTAL_formDecorators={"id": "x"}),
            "spec.EXPERIMENTAL_formDecorators",
            "array of objects",
        ),
    ],
)
def test_errors_name_the_template_and_the_field(
    change: Callable[[dict[str, Any]], Any], where: str, says: str
) -> None:
    error = _broken(change)
    assert error.where == where
    assert says in error.message
    assert "(in template:platform/" in str(error)
    assert error.details[0]["field"] == where


def test_an_error_reads_as_one_line_with_field_message_and_template() -> None:
    error = _broken(lambda t: _steps(t)[2].pop("action"))
    assert str(error) == "spec.steps[2].action: required (in template:platform/event-consumer)"
    assert error.status_code == 400


def test_old_template_versions_are_refused_with_a_migration_hint() -> None:
    with pytest.raises(InputError) as caught:
        parse_template(_load("backstage-v1beta2-demo.yaml"))
    assert caught.value.where == "apiVersion"
    assert "backstage.io/v1beta2 templates are no longer supported" in caught.value.message
    assert "scaffolder.backstage.io/v1beta3" in caught.value.message
    legacy = _load("backstage-v1beta2-demo.yaml")
    legacy["apiVersion"] = "scaffolder.backstage.io/v1beta2"
    with pytest.raises(InputError, match="no longer supported"):
        parse_template(legacy)


def test_something_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InputError, match="must be an object"):
        parse_template(["not", "a", "template"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name", ["backstage-v1beta3-demo.yaml", "backstage-conditional-pages.yaml"]
)
def test_backstage_sample_templates_parse(name: str) -> None:
    spec = parse_template(_load(name))
    assert isinstance(spec, TemplateSpec)
    assert spec.steps and all(step.action for step in spec.steps)
    assert spec.parameters


def test_backstage_demo_template_reads_as_backstage_describes_it() -> None:
    spec = parse_template(_load("backstage-v1beta3-demo.yaml"))
    repo = spec.parameters[1].schema_["properties"]["repoUrl"]
    assert repo["ui:field"] == "RepoUrlPicker"
    assert repo["ui:options"] == {"allowedHosts": ["github.com"]}
    assert [s.id for s in spec.steps] == ["fetch-base", "fetch-docs", "publish", "register"]
    assert spec.output.links[1] == {
        "title": "Open in catalog",
        "icon": "catalog",
        "entityRef": "${{ steps['register'].output.entityRef }}",
    }
    conditional = parse_template(_load("backstage-conditional-pages.yaml"))
    assert [p.when for p in conditional.parameters] == [
        None,
        "${{ parameters.cloud === 'AWS' }}",
        "${{ parameters.cloud === 'GCP' }}",
        "${{ parameters.cloud === 'Azure' }}",
        None,
        "${{ parameters.monitoring }}",
    ]
    assert conditional.output.text[1]["if"] == "${{ parameters.cloud === 'GCP' }}"
