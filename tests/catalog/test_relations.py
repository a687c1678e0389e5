"""relations_for: what Backstage's BuiltinKindsEntityProcessor (and the scaffolder's) emit."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from goldpath.catalog.model import REVERSE_RELATION
from goldpath.catalog.refs import EntityRef
from goldpath.catalog.relations import Relation, relations_for
from shared_fixtures import conformance_dir


def _entity(
    kind: str,
    spec: dict[str, Any],
    *,
    namespace: str | None = None,
    api_version: str = "backstage.io/v1alpha1",
) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "n"}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, "spec": spec}


def _triples(relations: list[Relation]) -> set[tuple[str, str, str]]:
    return {(str(r.source), r.type, str(r.target)) for r in relations}


def _ok(entity: dict[str, Any]) -> list[Relation]:
    relations, problems = relations_for(entity)
    assert problems == []
    return relations


def test_component_relations_both_ways_with_default_kinds() -> None:
    # The case of Backstage's own BuiltinKindsEntityProcessor test: 14 relations.
    relations = _ok(
        _entity(
            "Component",
            {
                "type": "service",
                "lifecycle": "l",
                "owner": "o",
                "subcomponentOf": "s",
                "providesApis": ["b"],
                "consumesApis": ["c"],
                "dependsOn": ["Resource:r", "Component:d"],
                "system": "s",
            },
        )
    )
    assert len(relations) == 14
    assert _triples(relations) == {
        ("component:default/n", "ownedBy", "group:default/o"),
        ("group:default/o", "ownerOf", "component:default/n"),
        ("component:default/n", "partOf", "component:default/s"),
        ("component:default/s", "hasPart", "component:default/n"),
        ("component:default/n", "providesApi", "api:default/b"),
        ("api:default/b", "apiProvidedBy", "component:default/n"),
        ("component:default/n", "consumesApi", "api:default/c"),
        ("api:default/c", "apiConsumedBy", "component:default/n"),
        ("component:default/n", "dependsOn", "resource:default/r"),
        ("resource:default/r", "dependencyOf", "component:default/n"),
        ("component:default/n", "dependsOn", "component:default/d"),
        ("component:default/d", "dependencyOf", "component:default/n"),
        ("component:default/n", "partOf", "system:default/s"),
        ("system:default/s", "hasPart", "component:default/n"),
    }
    # Each forward relation is followed by its reverse.
    for forward, reverse in zip(relations[::2], relations[1::2], strict=True):
        assert reverse == Relation(forward.target, REVERSE_RELATION[forward.type], forward.source)


def test_component_dependency_of_reverses_into_depends_on() -> None:
    assert _triples(_ok(_entity("Component", {"dependencyOf": ["component:web"]}))) == {
        ("component:default/n", "dependencyOf", "component:default/web"),
        ("component:default/web", "dependsOn", "component:default/n"),
    }


def test_depends_on_without_a_kind_is_a_problem_on_that_ref_only() -> None:
    relations, problems = relations_for(
        _entity(
            "Component",
            {
                "owner": "team-a",
                "dependsOn": ["resource:db", "cache"],
            },
        )
    )
    assert [p.path for p in problems] == ["spec.dependsOn[1]"]
    assert '"cache" names no kind' in problems[0].message
    assert _triples(relations) == {
        ("component:default/n", "ownedBy", "group:default/team-a"),
        ("group:default/team-a", "ownerOf", "component:default/n"),
        ("component:default/n", "dependsOn", "resource:default/db"),
        ("resource:default/db", "dependencyOf", "component:default/n"),
    }


def test_defaults_use_the_entitys_namespace_and_explicit_parts_win() -> None:
    relations = _ok(
        _entity(
            "Component",
            {
                "owner": "team-a",
                "system": "shared/platform",
                "providesApis": ["api:other/x"],
                "consumesApis": ["user:y"],
            },
            namespace="payments",
        )
    )
    me = "component:payments/n"
    outgoing = {(r.type, str(r.target)) for r in relations if str(r.source) == me}
    assert outgoing == {
        ("ownedBy", "group:payments/team-a"),
        ("partOf", "system:shared/platform"),
        ("providesApi", "api:other/x"),
        # The field's default kind is only a default: Backstage keeps the kind written.
        ("consumesApi", "user:payments/y"),
    }


def test_api_resource_system_domain_relations() -> None:
    assert _triples(_ok(_entity("API", {"owner": "o", "system": "s", "definition": "d"}))) == {
        ("api:default/n", "ownedBy", "group:default/o"),
        ("group:default/o", "ownerOf", "api:default/n"),
        ("api:default/n", "partOf", "system:default/s"),
        ("system:default/s", "hasPart", "api:default/n"),
    }
    resource = _ok(
        _entity(
            "Resource",
            {
                "owner": "o",
                "dependsOn": ["Component:c"],
                "dependencyOf": ["Component:d"],
                "system": "s",
            },
        )
    )
    assert len(resource) == 8
    assert ("resource:default/n", "dependencyOf", "component:default/d") in _triples(resource)
    assert ("component:default/d", "dependsOn", "resource:default/n") in _triples(resource)
    assert _triples(_ok(_entity("System", {"owner": "o", "domain": "d"}))) == {
        ("system:default/n", "ownedBy", "group:default/o"),
        ("group:default/o", "ownerOf", "system:default/n"),
        ("system:default/n", "partOf", "domain:default/d"),
        ("domain:default/d", "hasPart", "system:default/n"),
    }
    assert _triples(_ok(_entity("Domain", {"owner": "o", "subdomainOf": "parent"}))) == {
        ("domain:default/n", "ownedBy", "group:default/o"),
        ("group:default/o", "ownerOf", "domain:default/n"),
        ("domain:default/n", "partOf", "domain:default/parent"),
        ("domain:default/parent", "hasPart", "domain:default/n"),
    }


def test_group_and_user_relations() -> None:
    assert _triples(
        _ok(
            _entity(
                "Group",
                {
                    "type": "team",
                    "parent": "p",
                    "children": ["c"],
                    "members": ["m"],
                },
            )
        )
    ) == {
        ("group:default/n", "childOf", "group:default/p"),
        ("group:default/p", "parentOf", "group:default/n"),
        ("group:default/n", "parentOf", "group:default/c"),
        ("group:default/c", "childOf", "group:default/n"),
        ("group:default/n", "hasMember", "user:default/m"),
        ("user:default/m", "memberOf", "group:default/n"),
    }
    assert _triples(_ok(_entity("User", {"memberOf": ["g"]}))) == {
        ("user:default/n", "memberOf", "group:default/g"),
        ("group:default/g", "hasMember", "user:default/n"),
    }


def test_template_owner_only_for_v1beta3() -> None:
    spec = {"type": "service", "owner": "user:guest", "steps": []}
    template = _entity("Template", spec, api_version="scaffolder.backstage.io/v1beta3")
    assert _triples(_ok(template)) == {
        ("template:default/n", "ownedBy", "user:default/guest"),
        ("user:default/guest", "ownerOf", "template:default/n"),
    }
    assert _ok(_entity("Template", spec, api_version="backstage.io/v1beta2")) == []


@pytest.mark.parametrize("kind", ["Location", "Widget", "component"])
def test_kinds_without_relation_fields_give_none(kind: str) -> None:
    assert relations_for(_entity(kind, {"owner": "o", "targets": ["./a.yaml"]})) == ([], [])


def test_empty_and_missing_fields_give_nothing() -> None:
    assert _ok(_entity("Component", {"owner": "", "providesApis": [], "system": None})) == []
    assert relations_for(
        {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "n"}}
    ) == ([], [])


def test_bad_refs_become_problems_not_exceptions() -> None:
    relations, problems = relations_for(
        _entity(
            "Group",
            {
                "type": "team",
                "parent": "group:/x",
                "children": ["", 3, "ok"],
                "members": "alice",
            },
        )
    )
    assert [p.path for p in problems] == ["spec.parent", "spec.children[0]", "spec.children[1]"]
    assert "not on the form" in problems[0].message
    assert "must not be empty" in problems[1].message
    # A single string where a list is expected still relates, as Backstage's [x].flat() does.
    assert _triples(relations) == {
        ("group:default/n", "parentOf", "group:default/ok"),
        ("group:default/ok", "childOf", "group:default/n"),
        ("group:default/n", "hasMember", "user:default/alice"),
        ("user:default/alice", "memberOf", "group:default/n"),
    }


def test_an_entity_without_a_name_is_a_problem() -> None:
    relations, problems = relations_for({"kind": "Component", "metadata": {}, "spec": {}})
    assert relations == [] and [p.path for p in problems] == ["metadata.name"]


def test_the_same_target_twice_is_related_once() -> None:
    relations = _ok(_entity("Component", {"dependsOn": ["component:a", "Component:A"]}))
    assert len(relations) == 2


def test_shared_backstage_examples_relate_as_a_real_backstage_did() -> None:
    examples = conformance_dir("catalog", "backstage-examples")
    found: set[tuple[str, str, str]] = set()
    for path in examples.rglob("*.yaml"):
        if "broken" in path.parts:
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and "kind" in doc:
                found |= _triples(_ok(doc))
    # The relations ../shared/conformance/catalog/README.md lists for a real Backstage.
    assert {
        ("component:default/artist-lookup", "ownedBy", "group:default/team-a"),
        ("group:default/team-a", "ownerOf", "component:default/artist-lookup"),
        ("component:default/artist-lookup", "partOf", "system:default/artist-engagement-portal"),
        ("component:default/artist-lookup", "dependsOn", "resource:default/artists-db"),
        ("resource:default/artists-db", "dependencyOf", "component:default/artist-lookup"),
        ("component:default/petstore", "providesApi", "api:default/petstore"),
        ("system:default/audio-playback", "partOf", "domain:default/playback"),
        ("component:default/playback-order", "ownedBy", "user:default/guest"),
    } <= found


_refs = st.one_of(
    st.text(max_size=12),
    st.integers(),
    st.none(),
    st.lists(st.one_of(st.text(max_size=12), st.integers()), max_size=3),
)


@given(
    kind=st.sampled_from(["Component", "API", "Resource", "System", "Domain", "Group", "User"]),
    spec=st.dictionaries(
        st.sampled_from(
            [
                "owner",
                "system",
                "dependsOn",
                "dependencyOf",
                "providesApis",
                "memberOf",
                "children",
                "members",
                "parent",
                "domain",
                "subdomainOf",
            ]
        ),
        _refs,
    ),
    namespace=st.sampled_from([None, "default", "Payments"]),
)
def test_every_relation_comes_with_its_reverse(
    kind: str, spec: dict[str, Any], namespace: str | None
) -> None:
    relations, problems = relations_for(_entity(kind, spec, namespace=namespace))
    self_ref = EntityRef(kind, namespace or "default", "n")
    assert len(relations) % 2 == 0
    for forward, reverse in zip(relations[::2], relations[1::2], strict=True):
        assert forward.source == self_ref
        assert reverse == Relation(forward.target, REVERSE_RELATION[forward.type], self_ref)
    for problem in problems:
        assert problem.path.startswith("spec.") and problem.message.startswith(problem.path)
