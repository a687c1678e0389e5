"""Entity references: ``[<kind>:][<namespace>/]<name>`` and ``{kind, namespace, name}``.

Parsing follows Backstage's ``parseEntityRef``: no part is checked against the name formats
(a ref to an entity that could never exist still parses), and a missing kind or namespace is
taken from the caller's defaults.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from goldpath.catalog.model import DEFAULT_NAMESPACE
from goldpath.core.errors import InputError

_FORM = "[<kind>:][<namespace>/]<name>"


@dataclass(frozen=True, slots=True)
class EntityRef:
    """One entity's identity. Equality and hashing ignore case, as the catalog does."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        # The name keeps its case so it reads as written; compare with ``key``.
        return f"{self.kind.lower()}:{self.namespace.lower()}/{self.name}"

    @property
    def key(self) -> str:
        """The whole ref lower-cased: the catalog's identity for the entity."""
        return f"{self.kind}:{self.namespace}/{self.name}".lower()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EntityRef):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)


def split_entity_ref(ref: str) -> tuple[str | None, str | None, str]:
    """The parts of a string ref as written: ``(kind or None, namespace or None, name)``.

    Only the first ``:`` and the first ``/`` separate, and a ``:`` after the first ``/`` is
    part of the name, so ``ns/a:b`` is the name ``a:b`` in namespace ``ns``.
    """
    colon = ref.find(":")
    slash = ref.find("/")
    if slash != -1 and slash < colon:
        colon = -1
    kind = None if colon == -1 else ref[:colon]
    namespace = None if slash == -1 else ref[colon + 1 : slash]
    name = ref[max(colon + 1, slash + 1) :]
    if kind == "" or namespace == "" or name == "":
        raise InputError(f"Entity reference {_text(ref)} was not on the form {_FORM}")
    return kind, namespace, name


def parse_entity_ref(
    ref: str | Mapping[str, Any],
    *,
    default_kind: str | None = None,
    default_namespace: str = DEFAULT_NAMESPACE,
) -> EntityRef:
    """Parse a string or compound ref, filling a missing kind/namespace from the defaults.

    Raises :class:`InputError` when the ref is empty, malformed, of the wrong type, or has no
    kind and no ``default_kind`` is given.
    """
    if ref is None or ref == "":
        raise InputError("Entity reference must not be empty")
    default_namespace = default_namespace or DEFAULT_NAMESPACE
    kind: Any
    namespace: Any
    name: Any
    if isinstance(ref, str):
        kind, namespace, name = split_entity_ref(ref)
    elif isinstance(ref, Mapping):
        kind, namespace, name = ref.get("kind"), ref.get("namespace"), ref.get("name")
        for part, value in (("kind", kind), ("namespace", namespace), ("name", name)):
            if value is not None and not isinstance(value, str):
                raise InputError(f"Entity reference {_text(ref)} has a {part} that is not a string")
    else:
        raise InputError(
            f"Entity reference must be a string on the form {_FORM} or a mapping with "
            f"kind, namespace and name, not {type(ref).__name__} {_text(ref)}"
        )
    kind = default_kind if kind is None else kind
    namespace = default_namespace if namespace is None else namespace
    if not kind:
        raise InputError(
            f"Entity reference {_text(ref)} had missing or empty kind "
            '(e.g. did not start with "component:" or similar)'
        )
    if not namespace:
        raise InputError(f"Entity reference {_text(ref)} had missing or empty namespace")
    if not name:
        raise InputError(f"Entity reference {_text(ref)} had missing or empty name")
    return EntityRef(kind, namespace, name)


def entity_ref_of(entity: Mapping[str, Any]) -> EntityRef:
    """The ref of an entity: its kind, ``metadata.namespace`` (default ``default``) and name."""
    if not isinstance(entity, Mapping):
        raise InputError(f"an entity must be a mapping, not {type(entity).__name__}")
    kind = entity.get("kind")
    if not isinstance(kind, str) or not kind:
        raise InputError("entity has no kind", where="kind")
    metadata = entity.get("metadata")
    if not isinstance(metadata, Mapping):
        raise InputError("entity has no metadata", where="metadata")
    name = metadata.get("name")
    if not isinstance(name, str) or not name:
        raise InputError("entity has no metadata.name", where="metadata.name")
    # Backstage's getCompoundEntityRef uses `||`: an empty namespace means the default one.
    namespace = metadata.get("namespace") or DEFAULT_NAMESPACE
    if not isinstance(namespace, str):
        raise InputError("metadata.namespace must be a string", where="metadata.namespace")
    return EntityRef(kind, namespace, name)


def _text(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)
