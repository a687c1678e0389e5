"""Search documents, as Backstage's collators shape them, from entities and TechDocs pages.

An entity becomes one ``software-catalog`` document (Backstage's catalog collator fields:
title, text, location, kind, namespace, type, componentType, lifecycle, owner), or a
``software-template`` document when it is a Template. A TechDocs page becomes one
``techdocs`` document, and each of its sections another, carrying the entity's kind,
namespace, name, owner and lifecycle so the same filters apply.

Besides the document as served, each row has what the index needs: the searchable columns
(title, names, meta, body: weighted in that order), lower-cased filter values, and a hash
that lets an unchanged document be skipped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from goldpath.search.model import CATALOG, TECHDOCS, TEMPLATE
from goldpath.search.terms import normalise_text

#: Stored text per document, in characters: a snippet needs a window, not a book.
MAX_BODY_CHARS = 20_000
MAX_PAGES = 5_000
MAX_SECTIONS = 500


@dataclass
class IndexRow:
    doc_key: str
    type: str
    entity_key: str
    title: str
    body: str
    document: dict[str, Any]
    names: str = ""
    meta: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    owner: str = ""
    lifecycle: str = ""
    spec_type: str = ""
    sort_key: str = ""
    tags: list[str] = field(default_factory=list)
    hash: str = ""

    def filter_tokens(self) -> str:
        """The filter values as full-text tokens (see ``filter_token``)."""
        pairs = [
            ("type", self.type),
            ("kind", self.kind),
            ("namespace", self.namespace),
            ("name", self.name),
            ("owner", self.owner),
            ("lifecycle", self.lifecycle),
            ("spec_type", self.spec_type),
        ] + [("tags", tag) for tag in self.tags]
        return " ".join(filter_token(column, value) for column, value in pairs if value)

    def seal(self) -> IndexRow:
        payload = (
            self.type,
            self.entity_key,
            self.title,
            self.body,
            self.document,
            self.names,
            self.meta,
            self.kind,
            self.namespace,
            self.name,
            self.owner,
            self.lifecycle,
            self.spec_type,
            self.sort_key,
            self.tags,
        )
        digest = hashlib.blake2b(orjson.dumps(payload), digest_size=16)
        self.hash = digest.hexdigest()
        return self


def filter_token(column: str, value: str) -> str:
    """A filter value as one word of the full-text index (``f`` and 16 hex digits), so a
    term and its filters are matched by the index together; it sits in a column of its own
    that user words are never matched against."""
    digest = hashlib.blake2b(f"{column}={value}".encode(), digest_size=8).hexdigest()
    return "f" + digest


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _clip(text: str, limit: int = MAX_BODY_CHARS) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit]


def owner_ref(owner: str, namespace: str = "default") -> str:
    """``team-a`` → ``group:default/team-a``: owners default to Groups, as in Backstage."""
    owner = owner.strip().lower()
    if not owner:
        return ""
    kind, sep, rest = owner.partition(":")
    if not sep:
        kind, rest = "group", owner
    ns, sep, name = rest.rpartition("/")
    return f"{kind}:{ns if sep else namespace}/{name}"


@dataclass(frozen=True)
class EntityFacts:
    """What every document of an entity (its own and its docs pages) carries."""

    key: str
    kind: str
    namespace: str
    name: str
    title: str
    owner: str
    owner_ref: str
    lifecycle: str
    spec_type: str
    tags: tuple[str, ...]

    @classmethod
    def of(cls, entity: dict[str, Any]) -> EntityFacts | None:
        metadata = entity.get("metadata")
        if not isinstance(metadata, dict):
            return None
        kind, name = _str(entity.get("kind")), _str(metadata.get("name"))
        if not kind or not name:
            return None
        namespace = _str(metadata.get("namespace")) or "default"
        spec = entity.get("spec") if isinstance(entity.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        owner = _str(spec.get("owner"))
        owned_by = next(
            (
                r["targetRef"]
                for r in entity.get("relations") or []
                if isinstance(r, dict) and r.get("type") == "ownedBy" and r.get("targetRef")
            ),
            None,
        )
        raw_type = spec.get("type")
        tags = metadata.get("tags") if isinstance(metadata.get("tags"), list) else []
        assert isinstance(tags, list)
        return cls(
            key=f"{kind}:{namespace}/{name}".lower(),
            kind=kind,
            namespace=namespace,
            name=name,
            title=_str(metadata.get("title")) or name,
            owner=owner,
            owner_ref=str(owned_by).lower() if owned_by else owner_ref(owner, namespace),
            lifecycle=_str(spec.get("lifecycle")),
            spec_type=str(raw_type) if isinstance(raw_type, str | int | float) else "",
            tags=tuple(dict.fromkeys(t.lower() for t in tags if isinstance(t, str) and t)),
        )

    def ref(self) -> str:
        return f"{self.kind}:{self.namespace}/{self.name}"

    def columns(self) -> dict[str, Any]:
        return {
            "entity_key": self.key,
            "kind": self.kind.lower(),
            "namespace": self.namespace.lower(),
            "name": self.name.lower(),
            "owner": self.owner_ref,
            "lifecycle": self.lifecycle.lower(),
            "spec_type": self.spec_type.lower(),
            "tags": list(self.tags),
        }


def _entity_text(entity: dict[str, Any]) -> str:
    """Backstage's catalog collator text: description, and a person's or team's profile."""
    metadata = entity.get("metadata") or {}
    spec = entity.get("spec") if isinstance(entity.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    parts = [_str(metadata.get("description"))]
    profile = spec.get("profile") if isinstance(spec.get("profile"), dict) else {}
    assert isinstance(profile, dict)
    if entity.get("kind") in ("User", "Group"):
        parts.append(_str(profile.get("displayName")))
    if entity.get("kind") == "User":
        parts.append(_str(profile.get("email")))
    return " : ".join(p for p in parts if p)


#: Kinds not worth finding: a Location is plumbing (the files an entity was read from).
UNINDEXED_KINDS = frozenset({"location"})


def entity_row(entity: dict[str, Any], facts: EntityFacts | None = None) -> IndexRow | None:
    facts = facts or EntityFacts.of(entity)
    if facts is None or facts.kind.lower() in UNINDEXED_KINDS:
        return None
    spec = entity.get("spec") if isinstance(entity.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    template = facts.kind.lower() == "template"
    text = _clip(_entity_text(entity))
    resource = {"resourceRef": facts.ref().lower()}
    if template:
        doc_type = TEMPLATE
        document: dict[str, Any] = {
            "location": f"/create/templates/{facts.namespace}/{facts.name}".lower(),
            "kind": facts.kind,
            "namespace": facts.namespace,
            "name": facts.name,
            "type": facts.spec_type,
            "lifecycle": facts.lifecycle,
            "owner": facts.owner,
            "tags": list(facts.tags),
            "authorization": resource,
        }
    else:
        doc_type = CATALOG
        document = {
            "location": f"/catalog/{facts.namespace}/{facts.kind}/{facts.name}".lower(),
            "kind": facts.kind,
            "namespace": facts.namespace,
            "componentType": facts.spec_type or "other",
            "type": facts.spec_type or "other",
            "lifecycle": facts.lifecycle,
            "owner": facts.owner,
            "tags": list(facts.tags),
            "authorization": resource,
        }
    owner_name = facts.owner_ref.rpartition("/")[2]
    system = _str(spec.get("system"))
    meta = [facts.kind, facts.spec_type, owner_name, facts.lifecycle, system]
    return IndexRow(
        doc_key=f"{doc_type}|{facts.key}",
        type=doc_type,
        title=facts.title,
        body=text,
        document=document,
        names=normalise_text(" ".join((facts.name, *facts.tags))),
        meta=normalise_text(" ".join(meta)),
        sort_key=facts.title.lower()[:200],
        **facts.columns(),
    ).seal()


def _sections(page: dict[str, Any]) -> list[dict[str, str]]:
    raw = page.get("sections")
    out = []
    for section in raw if isinstance(raw, list) else []:
        if isinstance(section, dict) and isinstance(section.get("id"), str) and section["id"]:
            out.append(
                {
                    "id": section["id"].lstrip("#"),
                    "title": _str(section.get("title")),
                    "text": _str(section.get("text")),
                }
            )
    return out[:MAX_SECTIONS]


def page_rows(entity: dict[str, Any], pages: Iterable[Any]) -> list[IndexRow]:
    """The ``techdocs`` documents of an entity's site: a page, then each of its sections.

    A page's own text drops what its sections say, when it repeats them, so a word found in a
    section is one hit (the section), not two.
    """
    facts = EntityFacts.of(entity)
    if facts is None:
        return []
    base = f"/docs/{facts.namespace}/{facts.kind}/{facts.name}/".lower()
    rows: list[IndexRow] = []
    seen: set[str] = set()
    for page_index, page in enumerate(p for p in pages if isinstance(p, dict)):
        if page_index >= MAX_PAGES:
            break
        path = _str(page.get("path")).lstrip("/")
        title = _str(page.get("title")) or path or facts.title
        sections = _sections(page)
        text = _str(page.get("text"))
        for section in sections:
            if len(section["text"]) > 20 and section["text"] in text:
                text = text.replace(section["text"], " ", 1)
        entries = [(path, title, " ".join(text.split()), "")]
        entries += [(f"{path}#{s['id']}", s["title"] or title, s["text"], title) for s in sections]
        for section_index, (where, doc_title, body, page_title) in enumerate(entries):
            if where in seen:
                continue
            seen.add(where)
            rows.append(
                IndexRow(
                    doc_key=f"{TECHDOCS}|{facts.key}|{where}",
                    type=TECHDOCS,
                    title=doc_title,
                    body=_clip(body),
                    document={
                        "location": base + where,
                        "path": where,
                        "kind": facts.kind,
                        "namespace": facts.namespace,
                        "name": facts.name,
                        "lifecycle": facts.lifecycle,
                        "owner": facts.owner,
                        "entityTitle": facts.title,
                    },
                    names=normalise_text(f"{page_title} {facts.name}"),
                    sort_key=f"{facts.key}\t{page_index:05d}\t{section_index:04d}",
                    **facts.columns(),
                ).seal()
            )
    return rows


def with_entity_facts(row: IndexRow, facts: EntityFacts) -> IndexRow:
    """A stored techdocs row with its entity's current owner, lifecycle, type and tags."""
    document = {
        **row.document,
        "kind": facts.kind,
        "namespace": facts.namespace,
        "name": facts.name,
        "lifecycle": facts.lifecycle,
        "owner": facts.owner,
        "entityTitle": facts.title,
    }
    columns = facts.columns()
    return IndexRow(
        doc_key=row.doc_key,
        type=row.type,
        title=row.title,
        body=row.body,
        document=document,
        names=row.names,
        meta=row.meta,
        sort_key=row.sort_key,
        **columns,
    ).seal()
