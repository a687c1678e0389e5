"""Entity refs: Backstage's parseEntityRef / stringifyEntityRef / getCompoundEntityRef rules."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from goldpath.catalog.refs import EntityRef, entity_ref_of, parse_entity_ref, split_entity_ref
from goldpath.core.errors import InputError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("component:default/artist-lookup", ("component", "default", "artist-lookup")),
        ("Group:Ops/Team-A", ("Group", "Ops", "Team-A")),
        ("user:guest", ("user", "default", "guest")),
        ("platform/team-a", ("Group", "platform", "team-a")),
        ("team-a", ("Group", "default", "team-a")),
        # Only the first ':' and '/' separate; the rest belongs to the next part.
        ("a:b:c/d", ("a", "b:c", "d")),
        ("a:b/c/d", ("a", "b", "c/d")),
        ("a/b/c", ("Group", "a", "b/c")),
        # A ':' after the first '/' is part of the name, not a kind separator.
        ("ns/a:b", ("Group", "ns", "a:b")),
    ],
)
def test_parse_string_refs_with_defaults(text: str, expected: tuple[str, str, str]) -> None:
    ref = parse_entity_ref(text, default_kind="Group")
    assert (ref.kind, ref.namespace, ref.name) == expected


def test_default_namespace_is_used_when_the_ref_has_none() -> None:
    ref = parse_entity_ref("team-a", default_kind="Group", default_namespace="platform")
    assert ref == EntityRef("Group", "platform", "team-a")
    # An explicit namespace wins over the default.
    explicit = parse_entity_ref("x/team-a", default_kind="Group", default_namespace="p")
    assert explicit.namespace == "x"
    # An empty default namespace means Backstage's "default".
    assert parse_entity_ref("user:a", default_namespace="").namespace == "default"


@pytest.mark.parametrize("text", [":b/c", "a:/c", "a:b/", "a:", "/c", "a:b/"])
def test_empty_parts_are_rejected(text: str) -> None:
    with pytest.raises(InputError, match=r"not on the form \[<kind>:\]\[<namespace>/\]<name>"):
        parse_entity_ref(text, default_kind="Group")


def test_missing_kind_without_default_is_rejected() -> None:
    with pytest.raises(InputError, match='"r" had missing or empty kind'):
        parse_entity_ref("r")


def test_empty_ref_is_rejected() -> None:
    with pytest.raises(InputError, match="must not be empty"):
        parse_entity_ref("", default_kind="Group")


@pytest.mark.parametrize("bad", [5, ["group:a"], True, 1.5])
def test_refs_of_other_shapes_are_rejected(bad: Any) -> None:
    with pytest.raises(InputError, match="must be a string"):
        parse_entity_ref(bad, default_kind="Group")


def test_compound_refs() -> None:
    assert parse_entity_ref({"kind": "API", "namespace": "ns", "name": "petstore"}) == EntityRef(
        "API", "ns", "petstore"
    )
    assert parse_entity_ref({"name": "petstore"}, default_kind="API") == EntityRef(
        "API", "default", "petstore"
    )
    with pytest.raises(InputError, match="missing or empty kind"):
        parse_entity_ref({"kind": "", "name": "x"}, default_kind="API")
    with pytest.raises(InputError, match="missing or empty name"):
        parse_entity_ref({"kind": "API"})
    with pytest.raises(InputError, match="name that is not a string"):
        parse_entity_ref({"kind": "API", "name": 3})


def test_str_lowercases_kind_and_namespace_and_key_lowercases_everything() -> None:
    ref = EntityRef("Component", "Payments", "CheckoutService")
    assert str(ref) == "component:payments/CheckoutService"
    assert ref.key == "component:payments/checkoutservice"


def test_refs_compare_case_insensitively() -> None:
    a = EntityRef("Component", "default", "Foo")
    b = EntityRef("component", "DEFAULT", "foo")
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b}) == 1
    assert a != EntityRef("Component", "default", "bar")


def test_entity_ref_of_fills_the_default_namespace() -> None:
    entity = {"kind": "Component", "metadata": {"name": "artist-lookup"}}
    assert entity_ref_of(entity) == EntityRef("Component", "default", "artist-lookup")
    assert str(entity_ref_of(entity)) == "component:default/artist-lookup"
    entity["metadata"]["namespace"] = ""
    assert entity_ref_of(entity).namespace == "default"
    entity["metadata"]["namespace"] = "payments"
    assert entity_ref_of(entity).namespace == "payments"


@pytest.mark.parametrize(
    ("entity", "where"),
    [
        ({"metadata": {"name": "x"}}, "kind"),
        ({"kind": "Component"}, "metadata"),
        ({"kind": "Component", "metadata": {}}, "metadata.name"),
        ({"kind": "Component", "metadata": {"name": 3}}, "metadata.name"),
    ],
)
def test_entity_ref_of_names_what_is_missing(entity: dict[str, Any], where: str) -> None:
    with pytest.raises(InputError) as info:
        entity_ref_of(entity)
    assert info.value.where == where


_kinds = st.from_regex(r"[a-zA-Z][a-zA-Z0-9]{0,20}", fullmatch=True)
_namespaces = st.from_regex(r"[a-z0-9]{1,10}(-[a-z0-9]{1,10}){0,3}", fullmatch=True)


@given(kind=_kinds, namespace=_namespaces, name=st.text(min_size=1, max_size=40))
def test_stringified_refs_parse_back_to_the_same_ref(kind: str, namespace: str, name: str) -> None:
    # Any name survives the round trip, even with ':' and '/' in it, once kind and
    # namespace are written out.
    ref = EntityRef(kind, namespace, name)
    parsed = parse_entity_ref(str(ref))
    assert parsed == ref
    assert parsed.name == name
    assert parsed.kind == kind.lower()
    assert parse_entity_ref(ref.key) == ref


@given(st.text(max_size=30), st.sampled_from([None, "Group"]))
def test_parsing_any_text_gives_a_ref_or_an_input_error(
    text: str, default_kind: str | None
) -> None:
    try:
        ref = parse_entity_ref(text, default_kind=default_kind)
    except InputError:
        return
    assert ref.kind and ref.namespace and ref.name
    kind, namespace, name = split_entity_ref(text)
    assert ref.name == name
    assert ref.kind == (kind if kind is not None else default_kind)
