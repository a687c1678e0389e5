"""The template gallery at ``/create``: a card per Template entity, filtered by type, tags
and text, as Backstage's template list is."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from goldpath.core.errors import GoldpathError
from goldpath.scaffolder.model import VERSION_ANNOTATION, parse_template


@dataclass
class Card:
    namespace: str
    name: str
    title: str
    description: str
    type: str
    tags: list[str]
    owner: str
    version: str | None
    error: str | None = None

    @property
    def href(self) -> str:
        return f"/create/templates/{self.namespace}/{self.name}"

    @property
    def owner_href(self) -> str:
        return owner_href(self.owner) if self.owner else ""

    @property
    def ref(self) -> str:
        return f"template:{self.namespace}/{self.name}"

    def matches(self, kind: str, tags: Sequence[str], text: str) -> bool:
        if kind and self.type.lower() != kind.lower():
            return False
        lowered = {t.lower() for t in self.tags}
        if any(t.lower() not in lowered for t in tags):
            return False
        if text:
            haystack = " ".join([self.name, self.title, self.description, *self.tags]).lower()
            return all(word in haystack for word in text.lower().split())
        return True


@dataclass
class Gallery:
    cards: list[Card]
    shown: list[Card]
    types: list[tuple[str, int]] = field(default_factory=list)
    tags: list[tuple[str, int]] = field(default_factory=list)


def card(entity: Mapping[str, Any]) -> Card:
    meta = entity.get("metadata") or {}
    spec = entity.get("spec") or {}
    name = str(meta.get("name"))
    made = Card(
        namespace=str(meta.get("namespace") or "default"),
        name=name,
        title=str(meta.get("title") or name),
        description=str(meta.get("description") or ""),
        type=str(spec.get("type") or ""),
        tags=[str(t) for t in meta.get("tags") or []],
        owner=str(spec.get("owner") or ""),
        version=(meta.get("annotations") or {}).get(VERSION_ANNOTATION),
    )
    try:
        parse_template(entity)
    except GoldpathError as exc:
        made.error = str(exc)
    return made


def gallery(
    entities: Sequence[Mapping[str, Any]], kind: str = "", tags: Sequence[str] = (), text: str = ""
) -> Gallery:
    cards = sorted((card(e) for e in entities), key=lambda c: (c.title.lower(), c.ref))
    shown = [c for c in cards if c.matches(kind.strip(), [t for t in tags if t], text.strip())]
    types = Counter(c.type for c in cards if c.type)
    tag_counts = Counter(t for c in cards for t in dict.fromkeys(c.tags))
    return Gallery(
        cards=cards,
        shown=shown,
        types=sorted(types.items()),
        tags=sorted(tag_counts.items(), key=lambda item: (-item[1], item[0])),
    )


def owner_href(owner: str) -> str:
    """An owner reference's catalog page (a bare name is a Group, as Backstage reads it)."""
    kind, _, rest = owner.rpartition(":")
    namespace, _, name = rest.rpartition("/")
    return f"/catalog/{namespace or 'default'}/{(kind or 'group').lower()}/{name}"
