"""Backstage's catalog-backed form fields: OwnerPicker, EntityPicker and RepoUrlPicker.

OwnerPicker and EntityPicker offer the catalog's entities that match ``ui:options``
``catalogFilter`` (one filter object or a list of them, OR'ed; each key's value a string, a
list of strings, or ``{exists: true}``), the way Backstage's pickers query the catalog. Their
answer is the entity's reference, ``group:default/team-payments``. RepoUrlPicker's answer is
``host?owner=o&repo=r``; its host comes from ``allowedHosts`` (goldpath's own hosted git if
none are given).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

if TYPE_CHECKING:
    from goldpath.core.platform import Platform

#: At most this many entities are offered by one picker.
PICKER_LIMIT = 500
#: OwnerPicker's kinds when the template names none (as Backstage's).
OWNER_KINDS = ("Group", "User")
#: The RepoUrlPicker host that always means this goldpath's hosted git (``publish:git``).
HOSTED_GIT = "goldpath"
_FIELDS = [
    "kind",
    "metadata.name",
    "metadata.namespace",
    "metadata.title",
    "spec.profile.displayName",
]


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    group: str = ""


def catalog_filters(options: Mapping[str, Any], *, owner: bool) -> list[str] | None:
    """``ui:options`` as the catalog's ``filter`` parameters (None: every entity)."""
    raw = options.get("catalogFilter")
    if raw is None:
        kinds = options.get("allowedKinds") or (list(OWNER_KINDS) if owner else None)
        raw = {"kind": kinds} if kinds else None
    if raw is None:
        return None
    filters = []
    for group in raw if isinstance(raw, list) else [raw]:
        if not isinstance(group, Mapping):
            continue
        statements: list[str] = []
        for key, value in group.items():
            if isinstance(value, Mapping):
                if value.get("exists") is True:
                    statements.append(str(key))
            elif isinstance(value, list):
                statements.extend(f"{key}={item}" for item in value)
            elif value is not None:
                statements.append(f"{key}={value}")
        if statements:
            filters.append(",".join(statements))
    return filters or None


def entity_ref(entity: Mapping[str, Any]) -> str:
    meta = entity.get("metadata") or {}
    kind = str(entity.get("kind") or "").lower()
    return f"{kind}:{str(meta.get('namespace') or 'default').lower()}/{meta.get('name')}"


def _label(entity: Mapping[str, Any]) -> str:
    meta = entity.get("metadata") or {}
    profile = (entity.get("spec") or {}).get("profile") or {}
    name = str(meta.get("name"))
    shown = meta.get("title") or (profile.get("displayName") if isinstance(profile, dict) else None)
    return f"{shown} ({name})" if shown and shown != name else name


class CatalogLookup:
    """Picker options for one request, each distinct query run once (none without a
    platform: the fields' structure alone)."""

    def __init__(self, platform: Platform | None) -> None:
        self.platform = platform
        self._cache: dict[tuple[str, ...], list[Option]] = {}

    def entities(self, options: Mapping[str, Any], *, owner: bool) -> list[Option]:
        from goldpath.catalog.service import get_catalog

        filters = catalog_filters(options, owner=owner)
        key = tuple(filters or ["*"])
        if self.platform is None:
            return []
        if key not in self._cache:
            page = get_catalog(self.platform).queries.query_entities(
                filter=filters,
                fields=_FIELDS,
                order_fields="metadata.name,asc",
                limit=PICKER_LIMIT,
            )
            items = page["items"]
            kinds = {str(item.get("kind")) for item in items}
            self._cache[key] = [
                Option(
                    entity_ref(item),
                    _label(item),
                    str(item.get("kind")) if len(kinds) > 1 else "",
                )
                for item in sorted(items, key=lambda i: (str(i.get("kind")), _label(i).lower()))
            ]
        return self._cache[key]

    def repo_hosts(self, options: Mapping[str, Any]) -> list[Option]:
        hosts = options.get("allowedHosts")
        names = [str(h) for h in hosts if h] if isinstance(hosts, list) else []
        return [
            Option(host, "goldpath (this portal's hosted git)" if host == HOSTED_GIT else host)
            for host in names or [HOSTED_GIT]
        ]


def split_repo_url(value: Any) -> dict[str, str]:
    """``host?owner=o&repo=r`` → ``{host, owner, repo}`` (empty strings for missing parts)."""
    parts = {"host": "", "owner": "", "repo": ""}
    if isinstance(value, str) and value:
        host, _, query = value.partition("?")
        parts["host"] = host
        for key, item in parse_qsl(query, keep_blank_values=True):
            if key in ("owner", "repo"):
                parts[key] = item
    return parts


def compose_repo_url(host: str, owner: str, repo: str) -> str:
    """As Backstage's RepoUrlPicker writes it: empty parts are left out."""
    query = urlencode([(k, v) for k, v in (("owner", owner), ("repo", repo)) if v])
    return f"{host}?{query}"
