"""Answers against a template's parameter pages: form schema, validation, defaults, CLI input."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from goldpath.core.errors import InputError
from goldpath.scaffolder.model import (
    TemplateParameterPage,
    TemplateSpec,
    parse_template,
)
from goldpath.scaffolder.parameters import (
    FieldError,
    apply_defaults,
    coerce_cli_value,
    coerce_value,
    evaluate_when,
    parameter_schema,
    property_schema,
    secret_fields,
    validate_secrets,
    validate_values,
)

DATA = Path(__file__).parent / "data"
OWNER = "group:default/team-a"


def _spec(name: str = "event-consumer.yaml") -> TemplateSpec:
    return parse_template(yaml.safe_load((DATA / name).read_text()))


SPEC = _spec()
BASE = {"name": "orders", "owner": OWNER}


def _errors(values: dict[str, Any], *, defaults: bool = True) -> dict[str, str]:
    answers = apply_defaults(SPEC, values) if defaults else values
    return {e.field: e.message for e in validate_values(SPEC, answers)}


# ------------------------------------------------------------------ parameter-schema
def test_parameter_schema_has_backstages_shape() -> None:
    body = parameter_schema(SPEC)
    assert list(body) == [
        "title",
        "presentation",
        "description",
        "ui:options",
        "steps",
        "formDecorators",
    ]
    assert body["title"] == "Event-driven consumer"
    assert (
        body["description"] == "A queue consumer with a dead-letter queue and an optional database."
    )
    assert body["presentation"]["buttonLabels"]["createButtonText"] == "Scaffold"
    assert body["ui:options"] == {"layout": "wide"}
    assert body["formDecorators"] == [
        {"id": "github:credentials", "input": {"hosts": ["github.com"]}}
    ]
    assert [s["title"] for s in body["steps"]] == ["Service", "Storage", "Exposure"]
    first = body["steps"][0]
    assert first["description"] == "What the consumer is called and who owns it."
    assert first["schema"]["properties"]["owner"]["ui:field"] == "OwnerPicker"
    assert first["schema"]["backstage:permissions"] == {"tags": ["basics"]}
    assert "description" not in body["steps"][1]


def test_parameter_schema_of_a_plain_template_leaves_out_what_it_lacks() -> None:
    spec = _spec("backstage-v1beta3-demo.yaml")
    body = parameter_schema(spec)
    assert set(body) == {"title", "description", "steps"}
    untitled = copy.deepcopy(yaml.safe_load((DATA / "backstage-v1beta3-demo.yaml").read_text()))
    del untitled["metadata"]["title"]
    del untitled["spec"]["parameters"][0]["title"]
    body = parameter_schema(parse_template(untitled))
    # Backstage's fallbacks: the template's name, and its stock page title.
    assert body["title"] == "website-starter"
    assert body["steps"][0]["title"] == "Please enter the following information"


def test_parameter_schema_is_a_copy() -> None:
    body = parameter_schema(SPEC)
    body["steps"][0]["schema"]["required"].append("topics")
    assert SPEC.parameters[0].schema_["required"] == ["name", "owner"]


# ------------------------------------------------------------------ validation
def test_valid_answers_have_no_errors() -> None:
    assert _errors(BASE) == {}
    assert _errors({**BASE, "database": "postgres", "size": "large", "public": True,
                    "domain": "orders.example.com", "apiToken": "********"}) == {}  # fmt: skip


def test_required_fields_are_named_with_their_page() -> None:
    errors = validate_values(SPEC, {})
    assert errors == [
        FieldError("name", "is required", 0),
        FieldError("owner", "is required", 0),
    ]


def test_each_problem_names_its_field_once() -> None:
    errors = _errors(
        {**BASE, "name": "Orders!", "retries": 11, "topics": ["ok", "Bad Topic"], "public": "no"}
    )
    # ui:help is the hint the form shows next to the field: the message carries it too.
    assert errors == {
        "name": "must match ^[a-z][a-z0-9-]*$ (lower-case letters, digits and dashes)",
        "topics.1": "must match ^[a-z.]+$",
        "retries": "must be at most 10",
        "public": "must be true or false",
    }


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"retries": "3"}, {"retries": "must be a whole number"}),
        ({"retries": -1}, {"retries": "must be at least 0"}),
        ({"topics": []}, {"topics": "must have at least 1 item(s)"}),
        (
            {"name": "x" * 41},
            {"name": "must be at most 40 characters long (lower-case letters, digits and dashes)"},
        ),
        ({"database": "oracle"}, {"database": "must be one of: none, postgres, mongodb"}),
        (
            {"deadLetter": {"alertEmail": "nobody", "maxReceives": 0}},
            {
                "deadLetter.maxReceives": "must be at least 1",
                "deadLetter.alertEmail": "must be a valid email",
            },
        ),
        (
            {"backupWindow": "02:00"},
            {"backupRetentionDays": "is required when backupWindow is given"},
        ),
    ],
)
def test_messages_are_human(values: dict[str, Any], expected: dict[str, str]) -> None:
    assert _errors({**BASE, **values}) == expected


def test_dependencies_with_one_of_report_the_branch_that_was_meant() -> None:
    # Without the form's defaults the oneOf branch for postgres wants a size.
    assert _errors({**BASE, "database": "postgres"}, defaults=False) == {"size": "is required"}
    # Not "is not valid under any of the given schemas": the postgres branch's own complaint.
    assert _errors({**BASE, "database": "postgres", "size": "huge"}) == {
        "size": "must be one of: small, medium, large"
    }
    assert _errors({**BASE, "database": "none"}) == {}


def test_if_then_else() -> None:
    assert _errors({**BASE, "public": True}) == {"domain": "is required"}
    # errorMessage is the template's own wording for a bad value.
    assert _errors({**BASE, "public": True, "domain": "not a host!"}) == {
        "domain": "must be a DNS name such as consumer.example.com"
    }
    assert _errors({**BASE, "public": False, "domain": "not a host!"}) == {}


def test_one_of_without_a_shared_discriminator_picks_the_closest_branch() -> None:
    spec = TemplateSpec(
        entity_ref="template:default/x",
        name="x",
        namespace="default",
        parameters=[
            TemplateParameterPage(
                schema={
                    "properties": {"source": {"type": "object"}},
                    "oneOf": [
                        {"required": ["repoUrl"]},
                        {"required": ["archive", "checksum"]},
                    ],
                }
            )
        ],
    )
    assert validate_values(spec, {"archive": "a.tgz"}) == [FieldError("repoUrl", "is required", 0)]
    both = validate_values(spec, {"repoUrl": "x", "archive": "a", "checksum": "c"})
    assert both == [FieldError("(values)", "must match exactly one of the allowed alternatives", 0)]


def test_every_page_is_checked_against_all_answers() -> None:
    spec = TemplateSpec(
        entity_ref="template:default/x",
        name="x",
        namespace="default",
        parameters=[
            TemplateParameterPage(schema={"required": ["name"], "properties": {"name": {}}}),
            # Page 2 constrains an answer from page 1: Backstage validates every page against
            # the whole answers object, so this applies too.
            TemplateParameterPage(
                schema={"properties": {"name": {"maxLength": 3}, "size": {"type": "integer"}}}
            ),
        ],
    )
    assert validate_values(spec, {"name": "long-name", "size": "L"}) == [
        FieldError("name", "must be at most 3 characters long", 1),
        FieldError("size", "must be a whole number", 1),
    ]


def test_custom_error_messages() -> None:
    spec = TemplateSpec(
        entity_ref="template:default/x",
        name="x",
        namespace="default",
        parameters=[
            TemplateParameterPage(
                schema={
                    "required": ["name", "team"],
                    "errorMessage": {"required": {"team": "pick the team that will be on call"}},
                    "properties": {
                        "name": {
                            "type": "string",
                            "pattern": "^[a-z]+$",
                            "errorMessage": {"pattern": "lower-case letters only"},
                        },
                        "team": {"type": "string"},
                    },
                }
            )
        ],
    )
    assert {e.field: e.message for e in validate_values(spec, {"name": "X"})} == {
        "name": "lower-case letters only",
        "team": "pick the team that will be on call",
    }


def test_ui_keys_and_extra_keywords_do_not_disturb_validation() -> None:
    spec = _spec("backstage-v1beta3-demo.yaml")
    answers = {"name": "site", "owner": OWNER, "repoUrl": "github.com?owner=acme&repo=site"}
    assert validate_values(spec, answers) == []
    assert validate_values(spec, {"owner": OWNER}) == [
        FieldError("name", "is required", 0),
        FieldError("repoUrl", "is required", 1),
    ]


def test_answers_that_are_not_an_object() -> None:
    assert validate_values(SPEC, ["name"]) == [  # type: ignore[arg-type]
        FieldError("(values)", "must be an object of answers", None)
    ]


def test_a_broken_page_schema_is_the_templates_fault() -> None:
    spec = TemplateSpec(
        entity_ref="template:default/broken",
        name="broken",
        namespace="default",
        parameters=[
            TemplateParameterPage(schema={"properties": {}}),
            TemplateParameterPage(
                title="Sizing", schema={"properties": {"replicas": {"type": "whole-number"}}}
            ),
        ],
    )
    with pytest.raises(InputError) as caught:
        validate_values(spec, {})
    assert caught.value.where == "spec.parameters[1]"
    assert "parameter page 2 ('Sizing') is not a valid JSON Schema" in caught.value.message
    assert "at properties.replicas.type" in caught.value.message
    assert "template:default/broken" in caught.value.message


@pytest.mark.parametrize(
    ("fmt", "good", "bad"),
    [
        ("hostname", "orders.example.com", "not a host!"),
        ("uri", "https://example.com/x?y=1", "example dot com"),
        ("date-time", "2024-05-01T12:30:00Z", "2024-13-01T12:30:00Z"),
        ("date", "2024-05-01", "01/05/2024"),
        ("time", "12:30:00", "25:00:00"),
        ("email", "dev@example.com", "dev"),
        ("ipv4", "10.0.0.1", "10.0.0.256"),
    ],
)
def test_formats_are_checked(fmt: str, good: str, bad: str) -> None:
    spec = TemplateSpec(
        entity_ref="template:default/x",
        name="x",
        namespace="default",
        parameters=[TemplateParameterPage(schema={"properties": {"v": {"format": fmt}}})],
    )
    assert validate_values(spec, {"v": good}) == []
    assert validate_values(spec, {"v": bad}) == [FieldError("v", f"must be a valid {fmt}", 0)]


# ------------------------------------------------------------------ conditional pages
CONDITIONAL = _spec("backstage-conditional-pages.yaml")


def test_pages_whose_when_does_not_hold_are_not_validated() -> None:
    def errors(values: dict[str, Any]) -> list[FieldError]:
        return validate_values(CONDITIONAL, apply_defaults(CONDITIONAL, values))

    assert errors({"name": "w", "cloud": "GCP"}) == [FieldError("projectId", "is required", 2)]
    assert errors({"name": "w", "cloud": "GCP", "projectId": "p-1"}) == []
    assert errors({"name": "w", "cloud": "AWS", "region": "mars-1"}) == [
        FieldError("region", "must be one of: us-east-1, eu-west-1", 1)
    ]
    azure = {"name": "w", "cloud": "Azure", "subscriptionId": "s"}
    assert errors({**azure, "monitoring": True, "alertEmail": "ops"}) == [
        FieldError("alertEmail", "must be a valid email", 5)
    ]


def test_defaults_come_only_from_pages_that_are_shown() -> None:
    assert apply_defaults(CONDITIONAL, {"name": "w", "cloud": "GCP"}) == {
        "name": "w",
        "cloud": "GCP",
        "gcpRegion": "europe-west1",
        "monitoring": False,
    }
    with_alerts = apply_defaults(CONDITIONAL, {"name": "w", "cloud": "AWS", "monitoring": True})
    assert with_alerts["threshold"] == 90 and "gcpRegion" not in with_alerts


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (None, True),
        (True, True),
        (False, False),
        ("", True),
        ("${{ }}", True),
        ("${{ parameters.cloud === 'GCP' }}", True),
        ('${{ parameters.cloud === "AWS" }}', False),
        ("${{ parameters.cloud !== 'AWS' }}", True),
        ("parameters.cloud == 'GCP'", True),
        ("${{ parameters.count === 3 }}", True),
        ("${{ parameters.count === '3' }}", False),
        ("${{ parameters.count == '3' }}", True),
        ("${{ parameters.count != 3.0 }}", False),
        ("${{ parameters.missing == null }}", True),
        ("${{ parameters.missing === null }}", False),
        ("${{ parameters.flag }}", True),
        ("${{ !parameters.flag }}", False),
        ("${{ parameters.off }}", False),
        ("${{ parameters.empty }}", False),
        ("${{ parameters.nested.on }}", True),
        ("${{ parameters.nested.missing.deeper }}", False),
        ("${{ user.entity }}", False),
        ("${{ parameters.flag === true }}", True),
    ],
)
def test_when_conditions_follow_backstages_evaluator(condition: Any, expected: bool) -> None:
    answers = {
        "cloud": "GCP",
        "count": 3,
        "flag": True,
        "off": 0,
        "empty": [],
        "nested": {"on": "yes"},
    }
    assert evaluate_when(condition, answers) is expected


# ------------------------------------------------------------------ defaults
def test_defaults_fill_what_the_form_would() -> None:
    filled = apply_defaults(SPEC, BASE)
    assert filled == {
        **BASE,
        "topics": ["orders.created"],
        "retries": 3,
        "database": "none",
        # A nested object with defaults is created, as the form creates it.
        "deadLetter": {"enabled": True, "maxReceives": 5},
        "public": False,
        # `else` of if/then/else: public is false.
        "internalPort": 8080,
    }


def test_defaults_follow_dependencies_and_if_then() -> None:
    filled = apply_defaults(
        SPEC, {**BASE, "database": "postgres", "public": True, "deadLetter": {"enabled": False}}
    )
    assert (filled["size"], filled["backups"]) == ("small", True)
    assert filled["deadLetter"] == {"enabled": False, "maxReceives": 5}
    assert "internalPort" not in filled


def test_defaults_never_replace_answers_or_touch_the_input() -> None:
    given = {**BASE, "retries": 0, "topics": [], "database": "mongodb", "size": "large"}
    before = copy.deepcopy(given)
    filled = apply_defaults(SPEC, given)
    assert given == before
    assert (filled["retries"], filled["topics"], filled["size"]) == (0, [], "large")
    filled["topics"].append("x")
    assert SPEC.parameters[0].schema_["properties"]["topics"]["default"] == ["orders.created"]


def test_defaults_of_single_page_templates_and_array_items() -> None:
    template = yaml.safe_load(
        """
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: jobs}
spec:
  type: data-pipeline
  parameters:
    properties:
      warehouse:
        type: object
        properties:
          dataset: {type: string}
          partitions: {type: integer, default: 30}
      jobs:
        type: array
        items:
          type: object
          properties:
            name: {type: string}
            schedule: {type: string, default: '@daily'}
  steps: [{action: debug:log}]
"""
    )
    spec = parse_template(template)
    filled = apply_defaults(spec, {"jobs": [{"name": "a"}, {"name": "b", "schedule": "@hourly"}]})
    assert filled == {
        "warehouse": {"partitions": 30},
        "jobs": [{"name": "a", "schedule": "@daily"}, {"name": "b", "schedule": "@hourly"}],
    }


# ------------------------------------------------------------------ secrets
def test_secret_fields() -> None:
    assert secret_fields(SPEC) == {"dbPassword", "apiToken"}
    assert secret_fields(_spec("backstage-v1beta3-demo.yaml")) == set()


def test_secrets_are_checked_against_the_templates_secrets_schema() -> None:
    assert validate_secrets(SPEC, {"apiToken": "long-enough"}) == []
    assert validate_secrets(SPEC, {}) == [FieldError("apiToken", "is required")]
    assert validate_secrets(SPEC, {"apiToken": "short"}) == [
        FieldError("apiToken", "must be at least 8 characters long")
    ]
    assert validate_secrets(_spec("backstage-v1beta3-demo.yaml"), {}) == []


# ------------------------------------------------------------------ CLI input
@pytest.mark.parametrize(
    ("key", "text", "expected"),
    [
        ("retries", "5", 5),
        ("retries", " 7 ", 7),
        ("retries", "5.0", 5),
        ("retries", "five", "five"),
        ("public", "true", True),
        ("public", "Yes", True),
        ("public", "no", False),
        ("public", "off", False),
        ("public", "maybe", "maybe"),
        ("topics", "orders.created, orders.paid", ["orders.created", "orders.paid"]),
        ("topics", '["a.b", "c"]', ["a.b", "c"]),
        ("topics", "", []),
        ("deadLetter", '{"enabled": false}', {"enabled": False}),
        ("deadLetter", "{not json", "{not json"),
        ("deadLetter.maxReceives", "9", 9),
        ("deadLetter.enabled", "false", False),
        ("size", "large", "large"),
        ("backups", "yes", True),
        ("internalPort", "9090", 9090),
        ("name", "42", "42"),
        ("nope", "42", "42"),
        ("nope.deeper", "1", "1"),
    ],
)
def test_cli_values_take_the_declared_type(key: str, text: str, expected: Any) -> None:
    value = coerce_cli_value(SPEC, key, text)
    assert value == expected and type(value) is type(expected)


def test_cli_coercion_of_numbers_enums_and_type_lists() -> None:
    assert coerce_value({"type": "number"}, "2.5") == 2.5
    assert coerce_value({"type": "number"}, "2") == 2
    assert coerce_value({"type": "number"}, "nan") == "nan"
    assert coerce_value({"type": "array", "items": {"type": "integer"}}, "1, 2,3") == [1, 2, 3]
    assert coerce_value({"enum": [1, 2, 3]}, "2") == 2
    assert coerce_value({"enum": ["1", 2]}, "1") == "1"
    assert coerce_value({"type": ["integer", "null"]}, "null") is None
    assert coerce_value({"type": ["integer", "null"]}, "4") == 4
    assert coerce_value({"type": ["string", "integer"]}, "4") == 4
    assert coerce_value(None, "x") == "x"


def test_property_schema_finds_properties_in_branches() -> None:
    assert property_schema(SPEC, "size") == {
        "title": "Size",
        "type": "string",
        "enum": ["small", "medium", "large"],
        "default": "small",
    }
    # The plain declaration wins over the narrowed copy in a oneOf branch.
    database = property_schema(SPEC, "database")
    assert database is not None and database["type"] == "string"
    assert property_schema(SPEC, "domain") is not None
    assert property_schema(SPEC, "missing") is None


# ------------------------------------------------------------------ Backstage's samples
@pytest.mark.parametrize(
    ("name", "answers"),
    [
        (
            "backstage-v1beta3-demo.yaml",
            {"name": "site", "owner": OWNER, "repoUrl": "github.com?owner=acme&repo=site"},
        ),
        ("backstage-conditional-pages.yaml", {"name": "w", "cloud": "AWS", "region": "eu-west-1"}),
        (
            "backstage-conditional-pages.yaml",
            {
                "name": "w",
                "cloud": "Azure",
                "subscriptionId": "sub-1",
                "monitoring": True,
                "alertEmail": "ops@example.com",
            },
        ),  # fmt: skip
    ],
)
def test_backstage_samples_accept_sample_answers(name: str, answers: dict[str, Any]) -> None:
    spec = _spec(name)
    body = parameter_schema(spec)
    assert len(body["steps"]) == len(spec.parameters)
    assert validate_values(spec, apply_defaults(spec, answers)) == []
