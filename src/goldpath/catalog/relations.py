"""Relations an entity's spec implies, both ways, as Backstage's built-in processors emit them.

The table follows the catalog backend's ``BuiltinKindsEntityProcessor`` and the scaffolder
module's ``ScaffolderEntitiesProcessor``: each spec field, its relation and reverse, and the
kind assumed when a ref names none. The namespace assumed is always the entity's own.
``dependsOn``/``dependencyOf`` assume no kind, so ``dependsOn: [db]`` is an error there (the
whole entity fails in Backstage; here it is a problem on that one ref).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from goldpath.catalog import model
from goldpath.catalog.refs import EntityRef, entity_ref_of, parse_entity_ref, split_entity_ref
from goldpath.catalog.validation import FieldProblem
from goldpath.core.errors import InputError


@dataclass(frozen=True, slots=True)
class Relation:
    source: EntityRef
    type: str
    target: EntityRef


@dataclass(frozen=True, slots=True)
class SpecRelation:
    """``spec.<field>`` holds refs (one or a list) to entities of ``default_kind``."""

    field: str
    default_kind: str | None
    type: str
    reverse: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "reverse", model.REVERSE_RELATION[self.type])


_OWNER = SpecRelation("owner", model.KIND_GROUP, model.RELATION_OWNED_BY)
_SYSTEM = SpecRelation("system", model.KIND_SYSTEM, model.RELATION_PART_OF)
_DEPENDS_ON = SpecRelation("dependsOn", None, model.RELATION_DEPENDS_ON)
_DEPENDENCY_OF = SpecRelation("dependencyOf", None, model.RELATION_DEPENDENCY_OF)

#: Built-in kind -> the spec fields that produce relations, in Backstage's emit order.
SPEC_RELATIONS: Mapping[str, tuple[SpecRelation, ...]] = {
    model.KIND_COMPONENT: (
        _OWNER,
        SpecRelation("subcomponentOf", model.KIND_COMPONENT, model.RELATION_PART_OF),
        SpecRelation("providesApis", model.KIND_API, model.RELATION_PROVIDES_API),
        SpecRelation("consumesApis", model.KIND_API, model.RELATION_CONSUMES_API),
        _DEPENDS_ON,
        _DEPENDENCY_OF,
        _SYSTEM,
    ),
    model.KIND_API: (_OWNER, _SYSTEM),
    model.KIND_RESOURCE: (_OWNER, _DEPENDS_ON, _DEPENDENCY_OF, _SYSTEM),
    model.KIND_USER: (SpecRelation("memberOf", model.KIND_GROUP, model.RELATION_MEMBER_OF),),
    model.KIND_GROUP: (
        SpecRelation("parent", model.KIND_GROUP, model.RELATION_CHILD_OF),
        SpecRelation("children", model.KIND_GROUP, model.RELATION_PARENT_OF),
        SpecRelation("members", model.KIND_USER, model.RELATION_HAS_MEMBER),
    ),
    model.KIND_SYSTEM: (
        _OWNER,
        SpecRelation("domain", model.KIND_DOMAIN, model.RELATION_PART_OF),
    ),
    model.KIND_DOMAIN: (
        _OWNER,
        SpecRelation("subdomainOf", model.KIND_DOMAIN, model.RELATION_PART_OF),
    ),
    model.KIND_TEMPLATE: (_OWNER,),
}


def relations_for(entity: Mapping[str, Any]) -> tuple[list[Relation], list[FieldProblem]]:
    """Every relation ``entity``'s spec implies, each followed by its reverse.

    Targets need not exist. A ref that cannot be parsed is reported as a problem on its own
    field (``spec.dependsOn[1]``) and the other refs still give their relations.
    """
    try:
        self_ref = entity_ref_of(entity)
    except InputError as exc:
        return [], [FieldProblem(exc.where or "entity", exc.message)]
    fields = SPEC_RELATIONS.get(self_ref.kind, ())
    # The scaffolder only relates the Template version it knows.
    if self_ref.kind == model.KIND_TEMPLATE and (
        entity.get("apiVersion") != model.API_VERSION_SCAFFOLDER_V1BETA3
    ):
        fields = ()
    if not fields:
        return [], []
    spec = entity.get("spec")
    if not isinstance(spec, Mapping):
        if spec is None:
            return [], []
        return [], [FieldProblem("spec", "spec must be an object to hold relations")]

    relations: list[Relation] = []
    problems: list[FieldProblem] = []
    seen: set[tuple[str, str]] = set()
    for rel in fields:
        value = spec.get(rel.field)
        # Backstage skips any falsy value: a missing field, "" or [].
        if not value:
            continue
        path = f"spec.{rel.field}"
        items = (
            [(path, value)]
            if not isinstance(value, list)
            else [(f"{path}[{i}]", item) for i, item in enumerate(value)]
        )
        for where, raw in items:
            target = _target(rel, where, raw, self_ref.namespace, problems)
            if target is None or (rel.type, target.key) in seen:
                continue
            seen.add((rel.type, target.key))
            relations.append(Relation(self_ref, rel.type, target))
            relations.append(Relation(target, rel.reverse, self_ref))
    return relations, problems


# Owners, systems and APIs recur across thousands of entities; refs are immutable.
@lru_cache(maxsize=65536)
def _parse(raw: str, default_kind: str | None, namespace: str) -> EntityRef:
    return parse_entity_ref(raw, default_kind=default_kind, default_namespace=namespace)


def _target(
    rel: SpecRelation, where: str, raw: Any, namespace: str, problems: list[FieldProblem]
) -> EntityRef | None:
    if not isinstance(raw, str):
        kind_of = "null" if raw is None else type(raw).__name__
        problems.append(
            FieldProblem(where, f"{where} must be an entity reference string, found {kind_of}")
        )
        return None
    try:
        if rel.default_kind is None and raw and split_entity_ref(raw)[0] is None:
            problems.append(
                FieldProblem(
                    where,
                    f'{where} "{raw}" names no kind, and {rel.field} has no default kind; '
                    f'write it with one, e.g. "component:{raw}" or "resource:{raw}"',
                )
            )
            return None
        return _parse(raw, rel.default_kind, namespace)
    except InputError as exc:
        problems.append(
            FieldProblem(where, f"{where} is not a valid entity reference: {exc.message}")
        )
        return None
