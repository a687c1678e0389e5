"""How the portal names and links entities: from refs alone, so a page of 50 rows needs no
lookups of the entities it points at."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from goldpath.catalog.model import DEFAULT_NAMESPACE

#: Link schemes a catalog file may point a browser at; anything else (``javascript:``) is
#: shown as text, never as a link.
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})


def split_ref(ref: str) -> tuple[str, str, str]:
    """``kind:namespace/name`` (as relations store them) into its parts; the namespace
    defaults to ``default`` and the kind to ``""`` when absent."""
    kind, sep, rest = ref.partition(":")
    if not sep:
        kind, rest = "", ref
    namespace, slash, name = rest.partition("/")
    if not slash:
        namespace, name = DEFAULT_NAMESPACE, rest
    return kind, namespace, name


def entity_href(ref: str) -> str:
    """The entity page of a ref, ``/catalog/:namespace/:kind/:name`` (kind lower-cased)."""
    kind, namespace, name = split_ref(ref)
    parts = (namespace, kind.lower(), name)
    return "/catalog/" + "/".join(quote(part, safe="") for part in parts)


def ref_of(entity: Mapping[str, Any]) -> str:
    meta = entity.get("metadata") or {}
    kind = str(entity.get("kind", "")).lower()
    return f"{kind}:{meta.get('namespace') or DEFAULT_NAMESPACE}/{meta.get('name', '')}"


def humanize(ref: str, default_kind: str | None = None) -> str:
    """Backstage's ``humanizeEntityRef``: the kind is left out when it is ``default_kind``,
    the namespace when it is ``default``."""
    kind, namespace, name = split_ref(ref)
    text = name if namespace.lower() == DEFAULT_NAMESPACE else f"{namespace}/{name}"
    if kind and (default_kind is None or kind.lower() != default_kind.lower()):
        text = f"{kind.lower()}:{text}"
    return text


def kind_of(ref: str) -> str:
    return split_ref(ref)[0].lower()


def safe_url(url: Any) -> str | None:
    """``url`` when a browser may follow it from our page, else None."""
    if not isinstance(url, str) or not url.strip():
        return None
    scheme = urlsplit(url.strip()).scheme.lower()
    return url.strip() if scheme in SAFE_SCHEMES else None


def location_url(value: Any) -> str | None:
    """A link for a location annotation (``url:https://…``), when it names a web page."""
    if not isinstance(value, str):
        return None
    kind, _, target = value.partition(":")
    if kind == "url":
        return safe_url(target)
    return None


def targets(entity: Mapping[str, Any], relation_type: str, kind: str | None = None) -> list[str]:
    """Target refs of one relation type, optionally only those of one kind."""
    out = []
    for relation in entity.get("relations") or []:
        if not isinstance(relation, Mapping) or relation.get("type") != relation_type:
            continue
        target = relation.get("targetRef")
        if isinstance(target, str) and (kind is None or kind_of(target) == kind):
            out.append(target)
    return out


def display_name(entity: Mapping[str, Any]) -> str:
    meta = entity.get("metadata") or {}
    return str(meta.get("title") or meta.get("name") or "")


def truncate(text: Any, limit: int = 140) -> str:
    """At most ``limit`` characters, cut at a word with an ellipsis."""
    value = " ".join(str(text or "").split())
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;.-") + "…"


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def summary(entity: Mapping[str, Any]) -> dict[str, Any]:
    """What a row of the list and the header of the entity page show, from the entity's
    own body: owners and systems come from its relation refs."""
    meta = mapping(entity.get("metadata"))
    spec = mapping(entity.get("spec"))
    ref = ref_of(entity)
    tags = meta.get("tags")
    return {
        "ref": ref,
        "href": entity_href(ref),
        "title": display_name(entity),
        "name": text(meta.get("name")),
        "namespace": text(meta.get("namespace")) or DEFAULT_NAMESPACE,
        "kind": text(entity.get("kind")),
        "type": text(spec.get("type")),
        "lifecycle": text(spec.get("lifecycle")),
        "owners": [(entity_href(r), humanize(r, "group"), r) for r in targets(entity, "ownedBy")],
        "systems": [
            (entity_href(r), humanize(r, "system"), r)
            for r in targets(entity, "partOf", kind="system")
        ],
        "tags": [str(t) for t in tags] if isinstance(tags, list) else [],
        "description": text(meta.get("description")),
    }


def entity_links(entity: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``metadata.links``; ``href`` is None for a link no browser should follow."""
    out = []
    for link in mapping(entity.get("metadata")).get("links") or []:
        if isinstance(link, Mapping):
            url = link.get("url")
            out.append({"href": safe_url(url), "url": url, "title": link.get("title") or url})
    return out
