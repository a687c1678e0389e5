"""validate_entity: Backstage's envelope, metadata-format and per-kind spec rules."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from goldpath.catalog.validation import FieldProblem, is_valid_url, validate_entity
from shared_fixtures import conformance_dir

# The Component from Backstage's "Descriptor Format of Catalog Entities" page.
ARTIST_WEB: dict[str, Any] = {
    "apiVersion": "backstage.io/v1alpha1",
    "kind": "Component",
    "metadata": {
        "name": "artist-web",
        "description": "The place to be, for great artists",
        "labels": {"example.com/custom": "custom_label_value"},
        "annotations": {
            "example.com/service-discovery": "artistweb",
            "circleci.com/project-slug": "github/example-org/artist-website",
        },
        "tags": ["java"],
        "links": [
            {
                "url": "https://admin.example-org.com",
                "title": "Admin Dashboard",
                "icon": "dashboard",
                "type": "admin-dashboard",
            }
        ],
    },
    "spec": {
        "type": "website",
        "lifecycle": "production",
        "owner": "artist-relations-team",
        "system": "public-websites",
    },
}

# The examples of Backstage's kind schemas (kinds/*.schema.json, Template.v1beta3.schema.json).
KIND_EXAMPLES: list[dict[str, Any]] = [
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "API",
        "metadata": {"name": "artist-api", "description": "Retrieve artist details"},
        "spec": {
            "type": "openapi",
            "lifecycle": "production",
            "owner": "artist-relations-team",
            "system": "artist-engagement-portal",
            "definition": 'openapi: "3.0.0"\ninfo:...',
        },
    },
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Resource",
        "metadata": {"name": "artists-db", "description": "Stores artist details"},
        "spec": {
            "type": "database",
            "owner": "artist-relations-team",
            "system": "artist-engagement-portal",
        },
    },
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "System",
        "metadata": {"name": "artist-engagement-portal"},
        "spec": {"owner": "artist-relations-team", "domain": "artists"},
    },
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Domain",
        "metadata": {"name": "artists", "description": "Everything about artists"},
        "spec": {"owner": "artist-relations-team", "subdomainOf": "audio", "type": "product"},
    },
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Group",
        "metadata": {"name": "infrastructure", "description": "The infra business unit"},
        "spec": {
            "type": "business-unit",
            "profile": {
                "displayName": "Infrastructure",
                "email": "infrastructure@example.com",
                "picture": "https://example.com/groups/bu-infrastructure.jpeg",
            },
            "parent": "ops",
            "children": ["backstage", "other"],
        },
    },
    {
        "apiVersion": "backstage.io/v1beta1",
        "kind": "User",
        "metadata": {"name": "jdoe"},
        "spec": {
            "profile": {"displayName": "Jenny Doe", "email": "jenny-doe@example.com"},
            "memberOf": ["team-b", "employees"],
        },
    },
    {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Location",
        "metadata": {"name": "org-data"},
        "spec": {
            "type": "url",
            "targets": [
                "http://github.com/myorg/myproject/org-data-dump/catalog-info-staff.yaml",
                "http://github.com/myorg/myproject/org-data-dump/catalog-info-consultants.yaml",
            ],
            "presence": "optional",
        },
    },
    {
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": {
            "name": "react-ssr-template",
            "title": "React SSR Template",
            "tags": ["recommended", "react"],
        },
        "spec": {
            "owner": "artist-relations-team",
            "type": "website",
            "parameters": [
                {
                    "title": "Name",
                    "required": ["name"],
                    "properties": {"name": {"type": "string"}},
                    "backstage:permissions": {"tags": ["beta"]},
                },
                {"properties": {"repoUrl": {"type": "string", "ui:field": "RepoUrlPicker"}}},
            ],
            "steps": [
                {
                    "id": "fetch",
                    "name": "Fetch",
                    "action": "fetch:plain",
                    "input": {"url": "./template"},
                },
                {
                    "id": "publish",
                    "action": "publish:github",
                    "input": {"repoUrl": "${{ parameters.repoUrl }}"},
                    "if": "${{ parameters.repoUrl }}",
                },
            ],
            "output": {
                "links": [{"title": "Repository", "url": "${{ steps.publish.output.remoteUrl }}"}],
                "text": [{"title": "Next", "content": "Open a PR"}],
                "catalogInfoUrl": "${{ steps.publish.output.catalogInfoUrl }}",
            },
        },
    },
]


def _paths(problems: list[FieldProblem]) -> list[str]:
    return [p.path for p in problems]


def test_backstage_documentation_examples_are_valid() -> None:
    assert validate_entity(ARTIST_WEB) == []
    for entity in KIND_EXAMPLES:
        assert validate_entity(entity) == [], entity["kind"]


def _example_documents() -> list[tuple[str, dict[str, Any]]]:
    examples = conformance_dir("catalog", "backstage-examples")
    found = []
    for path in sorted(examples.rglob("*.yaml")):
        if "broken" in path.relative_to(examples).parts:
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            # apis/inventory.oas.yaml is the OpenAPI document an API points at, not an entity.
            if not isinstance(doc, dict) or "kind" not in doc:
                continue
            if isinstance(doc.get("spec", {}).get("definition"), dict):
                continue  # a $text placeholder, valid only once resolved
            found.append((str(path.relative_to(examples)), doc))
    return found


def test_shared_backstage_examples_are_valid() -> None:
    documents = _example_documents()
    assert len(documents) >= 15  # the Locations, 8 Components, an API, Systems, Domain...
    for where, doc in documents:
        assert validate_entity(doc) == [], where


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation setting a dotted path (``spec.owner``) on an entity."""

    def mutate(entity: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = entity
        for part in parents:
            target = target[part]
        target[last] = value

    return mutate


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def mutate(entity: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = entity
        for part in parents:
            target = target[part]
        del target[last]

    return mutate


REJECTIONS: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    (
        "bad name",
        _set("metadata.name", "Bad Name!"),
        "metadata.name",
        'metadata.name "Bad Name!" is not valid; expected',
    ),
    ("name too long", _set("metadata.name", "a" * 64), "metadata.name", "at most 63"),
    ("name ends with dash", _set("metadata.name", "a-"), "metadata.name", "not valid"),
    ("name with trailing newline", _set("metadata.name", "ok\n"), "metadata.name", "not valid"),
    ("name missing", _delete("metadata.name"), "metadata.name", "metadata.name is required"),
    ("name not a string", _set("metadata.name", 42), "metadata.name", "found a number (42)"),
    (
        "uppercase namespace",
        _set("metadata.namespace", "Payments"),
        "metadata.namespace",
        "[a-z0-9] separated by [-]",
    ),
    ("null namespace", _set("metadata.namespace", None), "metadata.namespace", "found null"),
    ("empty title", _set("metadata.title", ""), "metadata.title", "non-empty string"),
    (
        "description not a string",
        _set("metadata.description", ["x"]),
        "metadata.description",
        "must be a string",
    ),
    ("uid not a string", _set("metadata.uid", 5), "metadata.uid", "non-empty string"),
    ("etag empty", _set("metadata.etag", ""), "metadata.etag", "non-empty string"),
    (
        "label key with two slashes",
        _set("metadata.labels", {"a/b/c": "x"}),
        "metadata.labels.a/b/c",
        'key "a/b/c" is not valid',
    ),
    (
        "label key with uppercase prefix",
        _set("metadata.labels", {"Example.com/x": "y"}),
        "metadata.labels.Example.com/x",
        "is not valid",
    ),
    (
        "label value with a space",
        _set("metadata.labels", {"team": "a b"}),
        "metadata.labels.team",
        '"a b" is not valid',
    ),
    (
        "label value not a string",
        _set("metadata.labels", {"tier": 1}),
        "metadata.labels.tier",
        "must be a string",
    ),
    (
        "labels not a mapping",
        _set("metadata.labels", ["x"]),
        "metadata.labels",
        "must be an object",
    ),
    (
        "annotation value not a string",
        _set("metadata.annotations", {"example.com/on": True}),
        "metadata.annotations.example.com/on",
        "found a boolean (true)",
    ),
    (
        "annotation key too long",
        _set("metadata.annotations", {"x" * 64: "y"}),
        f"metadata.annotations.{'x' * 64}",
        "is not valid",
    ),
    (
        "uppercase tag",
        _set("metadata.tags", ["java", "Python"]),
        "metadata.tags[1]",
        '"Python" is not valid',
    ),
    ("tag with double dash", _set("metadata.tags", ["a--b"]), "metadata.tags[0]", "not valid"),
    ("tag with underscore", _set("metadata.tags", ["tier_gold"]), "metadata.tags[0]", "not valid"),
    ("tags not a list", _set("metadata.tags", "java"), "metadata.tags", "a list of strings"),
    (
        "link without url",
        _set("metadata.links", [{"title": "x"}]),
        "metadata.links[0].url",
        "metadata.links[0].url is required",
    ),
    (
        "link url not a URL",
        _set("metadata.links", [{"url": "example.com/x"}]),
        "metadata.links[0].url",
        "absolute URL",
    ),
    (
        "blank link title",
        _set("metadata.links", [{"url": "https://a.b", "title": "  "}]),
        "metadata.links[0].title",
        "non-empty string",
    ),
    (
        "link icon not a string",
        _set("metadata.links", [{"url": "https://a.b", "icon": 3}]),
        "metadata.links[0].icon",
        "non-empty string",
    ),
    (
        "empty link type",
        _set("metadata.links", [{"url": "https://a.b", "type": ""}]),
        "metadata.links[0].type",
        "non-empty string",
    ),
    (
        "link not an object",
        _set("metadata.links", ["https://a.b"]),
        "metadata.links[0]",
        "an object",
    ),
    ("metadata missing", _delete("metadata"), "metadata", "metadata is required"),
    ("metadata not an object", _set("metadata", "x"), "metadata", "must be an object"),
    ("apiVersion missing", _delete("apiVersion"), "apiVersion", "apiVersion is required"),
    (
        "apiVersion malformed",
        _set("apiVersion", "backstage.io/v1/alpha"),
        "apiVersion",
        "is not valid",
    ),
    (
        "apiVersion unknown for the kind",
        _set("apiVersion", "backstage.io/v2"),
        "apiVersion",
        'apiVersion "backstage.io/v2" is not supported for kind Component',
    ),
    ("kind missing", _delete("kind"), "kind", "kind is required"),
    ("kind malformed", _set("kind", "My-Kind"), "kind", "is not valid"),
    ("kind unknown", _set("kind", "Widget"), "kind", 'kind "Widget" is not known'),
    ("kind miscased", _set("kind", "component"), "kind", 'use "Component"'),
    ("foreign root field", _set("status", {}), "status", "not allowed at the top level"),
    (
        "relations given in the descriptor",
        _set("relations", []),
        "relations",
        "not allowed at the top level",
    ),
    ("spec missing", _delete("spec"), "spec", "spec is required for kind Component"),
    ("spec not an object", _set("spec", []), "spec", "must be an object"),
    (
        "owner missing",
        _delete("spec.owner"),
        "spec.owner",
        "spec.owner is required for kind Component",
    ),
    ("lifecycle empty", _set("spec.lifecycle", ""), "spec.lifecycle", "found an empty string"),
    ("type not a string", _set("spec.type", 3), "spec.type", "non-empty string"),
    ("system null", _set("spec.system", None), "spec.system", "found null"),
    (
        "providesApis not a list",
        _set("spec.providesApis", "petstore"),
        "spec.providesApis",
        "a list of strings",
    ),
    (
        "dependsOn item not a string",
        _set("spec.dependsOn", ["resource:db", 7]),
        "spec.dependsOn[1]",
        "found a number (7)",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [pytest.param(m, p, f, id=name) for name, m, p, f in REJECTIONS],
)
def test_each_rule_rejects_a_bad_value_naming_the_field(
    mutate: Callable[[dict[str, Any]], None], path: str, fragment: str
) -> None:
    entity = copy.deepcopy(ARTIST_WEB)
    mutate(entity)
    problems = validate_entity(entity)
    matching = [p for p in problems if p.path == path]
    assert matching, problems
    assert any(fragment in p.message for p in matching), matching
    # The message names the field itself (for a label key: the labels it sits in).
    assert all(p.message.startswith(".".join(path.split(".")[:2])) for p in matching)


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("API", "definition"),
        ("API", "lifecycle"),
        ("Resource", "type"),
        ("System", "owner"),
        ("Domain", "owner"),
        ("Group", "children"),
        ("Group", "type"),
        ("User", "memberOf"),
        ("Template", "steps"),
        ("Template", "type"),
    ],
)
def test_required_spec_fields_per_kind(kind: str, field: str) -> None:
    entity = copy.deepcopy(next(e for e in KIND_EXAMPLES if e["kind"] == kind))
    del entity["spec"][field]
    assert validate_entity(entity) == [
        FieldProblem(f"spec.{field}", f"spec.{field} is required for kind {kind}")
    ]


def test_location_needs_no_spec_field_but_presence_is_an_enum() -> None:
    location = {
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Location",
        "metadata": {"name": "l"},
        "spec": {},
    }
    assert validate_entity(location) == []
    location["spec"] = {"target": "./a.yaml", "presence": "maybe"}
    assert _paths(validate_entity(location)) == ["spec.presence"]
    location["spec"] = {"targets": ["./a.yaml", "", 3]}
    assert _paths(validate_entity(location)) == ["spec.targets[1]", "spec.targets[2]"]


def test_an_unresolved_definition_placeholder_is_invalid() -> None:
    api = copy.deepcopy(KIND_EXAMPLES[0])
    api["spec"]["definition"] = {"$text": "./openapi.yaml"}
    [problem] = validate_entity(api)
    assert problem.path == "spec.definition"
    assert "unresolved placeholder" in problem.message and "$text" in problem.message
    api["spec"]["definition"] = {"openapi": "3.0.0"}
    assert _paths(validate_entity(api)) == ["spec.definition"]


def test_template_rules() -> None:
    template = copy.deepcopy(KIND_EXAMPLES[-1])
    spec = template["spec"]
    spec["steps"] = [{"id": "x"}, {"action": "debug:log", "if": 1, "input": []}, "log"]
    spec["parameters"] = "name"
    spec["output"] = {"links": [{"url": ""}], "remoteUrl": {"nested": True}}
    assert sorted(_paths(validate_entity(template))) == [
        "spec.output.links[0].url",
        "spec.output.remoteUrl",
        "spec.parameters",
        "spec.steps[0].action",
        "spec.steps[1].if",
        "spec.steps[1].input",
        "spec.steps[2]",
    ]


def test_v1beta2_templates_are_not_accepted() -> None:
    template = copy.deepcopy(KIND_EXAMPLES[-1])
    template["apiVersion"] = "backstage.io/v1beta2"
    [problem] = validate_entity(template)
    assert problem.path == "apiVersion"
    assert "scaffolder.backstage.io/v1beta3" in problem.message
    # And a Template is not a core backstage.io kind either.
    template["apiVersion"] = "backstage.io/v1alpha1"
    assert _paths(validate_entity(template)) == ["apiVersion"]


def test_unknown_kinds_can_be_allowed_and_get_envelope_rules_only() -> None:
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"anything": [1, 2]},
    }
    assert _paths(validate_entity(widget)) == ["kind"]
    assert validate_entity(widget, allowed_kinds=["widget"]) == []
    assert validate_entity(widget, allow_unknown_kinds=True) == []
    widget["metadata"]["name"] = "not ok"
    assert _paths(validate_entity(widget, allow_unknown_kinds=True)) == ["metadata.name"]
    widget["metadata"]["name"] = "w"
    widget["spec"] = "x"
    assert _paths(validate_entity(widget, allow_unknown_kinds=True)) == ["spec"]
    # Allowing a kind by name does not let a miscased built-in kind skip its rules.
    component = copy.deepcopy(ARTIST_WEB)
    component["kind"] = "COMPONENT"
    assert _paths(validate_entity(component, allowed_kinds=["component"])) == ["kind"]


def test_every_problem_is_reported_at_once() -> None:
    entity = copy.deepcopy(ARTIST_WEB)
    entity["metadata"]["name"] = "Bad Name!"
    entity["metadata"]["tags"] = ["Java"]
    del entity["spec"]["owner"]
    entity["spec"]["system"] = 5
    assert _paths(validate_entity(entity)) == [
        "metadata.name",
        "metadata.tags[0]",
        "spec.owner",
        "spec.system",
    ]


@pytest.mark.parametrize("entity", [None, [ARTIST_WEB], "kind: Component", 3])
def test_a_non_mapping_is_one_problem(entity: Any) -> None:
    [problem] = validate_entity(entity)
    assert problem.path == "entity"


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com",
        "http://localhost:7007/catalog?x=1#y",
        "https://user:pw@example.com:8443/a",
        "http://[::1]:80/",
        "http:example.com",  # WHATWG reads this as http://example.com/
        "mailto:team@example.com",
        "slack://channel?id=1",
        "file:///tmp/x",
        "  https://example.com  ",
    ],
)
def test_urls_that_javascript_accepts(url: str) -> None:
    assert is_valid_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "example.com",
        "/relative/path",
        "https://",
        "http://exa mple.com",
        "https://example.com:99999",
        "https://example.com:port",
        "1http://example.com",
    ],
)
def test_urls_that_javascript_rejects(url: str) -> None:
    assert not is_valid_url(url)


_names = st.from_regex(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?", fullmatch=True)


@given(name=_names)
def test_every_name_of_backstages_format_is_accepted(name: str) -> None:
    entity = copy.deepcopy(ARTIST_WEB)
    entity["metadata"]["name"] = name
    entity["metadata"]["labels"] = {f"example.com/{name}": name}
    assert validate_entity(entity) == []


@given(name=st.text(min_size=1, max_size=70))
def test_a_name_is_accepted_exactly_when_it_matches_the_format(name: str) -> None:
    entity = copy.deepcopy(ARTIST_WEB)
    entity["metadata"]["name"] = name
    expected_ok = (
        len(name) <= 63
        and name.isascii()
        and name[0].isalnum()
        and name[-1].isalnum()
        and all(c.isalnum() or c in "-_." for c in name)
    )
    assert (validate_entity(entity) == []) == expected_ok


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)


@given(
    kind=st.sampled_from(["Component", "API", "Group", "User", "Template", "Location", "X"]),
    metadata=st.dictionaries(
        st.sampled_from(
            [
                "name",
                "namespace",
                "title",
                "labels",
                "annotations",
                "tags",
                "links",
                "description",
                "uid",
            ]
        ),
        _json,
    ),
    spec=_json,
)
def test_any_json_gives_problems_not_exceptions(kind: str, metadata: Any, spec: Any) -> None:
    api_version = (
        "scaffolder.backstage.io/v1beta3" if kind == "Template" else "backstage.io/v1alpha1"
    )
    entity = {"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec}
    for problem in validate_entity(entity):
        assert problem.path and problem.message
