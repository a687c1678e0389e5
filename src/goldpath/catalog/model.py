"""Names of Backstage's entity model: kinds, apiVersions, relation types, annotations.

Values follow @backstage/catalog-model (1.10) and the catalog backend's built-in processors;
``Template`` follows @backstage/plugin-scaffolder-common, which knows only v1beta3 (the old
``backstage.io/v1beta2`` templates were dropped from Backstage and are rejected here too).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

DEFAULT_NAMESPACE = "default"

API_VERSION_V1ALPHA1 = "backstage.io/v1alpha1"
API_VERSION_V1BETA1 = "backstage.io/v1beta1"
API_VERSION_SCAFFOLDER_V1BETA3 = "scaffolder.backstage.io/v1beta3"

KIND_COMPONENT = "Component"
KIND_API = "API"
KIND_RESOURCE = "Resource"
KIND_SYSTEM = "System"
KIND_DOMAIN = "Domain"
KIND_GROUP = "Group"
KIND_USER = "User"
KIND_LOCATION = "Location"
KIND_TEMPLATE = "Template"

_CORE_VERSIONS = (API_VERSION_V1ALPHA1, API_VERSION_V1BETA1)

#: Built-in kind -> the apiVersions Backstage accepts for it. Kinds are case-sensitive.
BUILTIN_KINDS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        KIND_COMPONENT: _CORE_VERSIONS,
        KIND_API: _CORE_VERSIONS,
        KIND_RESOURCE: _CORE_VERSIONS,
        KIND_SYSTEM: _CORE_VERSIONS,
        KIND_DOMAIN: _CORE_VERSIONS,
        KIND_GROUP: _CORE_VERSIONS,
        KIND_USER: _CORE_VERSIONS,
        KIND_LOCATION: _CORE_VERSIONS,
        KIND_TEMPLATE: (API_VERSION_SCAFFOLDER_V1BETA3,),
    }
)

RELATION_OWNED_BY = "ownedBy"
RELATION_OWNER_OF = "ownerOf"
RELATION_PART_OF = "partOf"
RELATION_HAS_PART = "hasPart"
RELATION_DEPENDS_ON = "dependsOn"
RELATION_DEPENDENCY_OF = "dependencyOf"
RELATION_PROVIDES_API = "providesApi"
RELATION_API_PROVIDED_BY = "apiProvidedBy"
RELATION_CONSUMES_API = "consumesApi"
RELATION_API_CONSUMED_BY = "apiConsumedBy"
RELATION_MEMBER_OF = "memberOf"
RELATION_HAS_MEMBER = "hasMember"
RELATION_CHILD_OF = "childOf"
RELATION_PARENT_OF = "parentOf"

#: Each relation type with the type that describes the same edge seen from the other end.
RELATION_PAIRS: tuple[tuple[str, str], ...] = (
    (RELATION_OWNED_BY, RELATION_OWNER_OF),
    (RELATION_PART_OF, RELATION_HAS_PART),
    (RELATION_DEPENDS_ON, RELATION_DEPENDENCY_OF),
    (RELATION_PROVIDES_API, RELATION_API_PROVIDED_BY),
    (RELATION_CONSUMES_API, RELATION_API_CONSUMED_BY),
    (RELATION_MEMBER_OF, RELATION_HAS_MEMBER),
    (RELATION_CHILD_OF, RELATION_PARENT_OF),
)

#: Relation type -> its reverse, in both directions (``ownedBy`` <-> ``ownerOf``...).
REVERSE_RELATION: Mapping[str, str] = MappingProxyType(
    {a: b for a, b in RELATION_PAIRS} | {b: a for a, b in RELATION_PAIRS}
)

ANNOTATION_LOCATION = "backstage.io/managed-by-location"
ANNOTATION_ORIGIN_LOCATION = "backstage.io/managed-by-origin-location"
ANNOTATION_ORPHAN = "backstage.io/orphan"
ANNOTATION_SOURCE_LOCATION = "backstage.io/source-location"
ANNOTATION_VIEW_URL = "backstage.io/view-url"
ANNOTATION_EDIT_URL = "backstage.io/edit-url"
ANNOTATION_TECHDOCS_REF = "backstage.io/techdocs-ref"

#: The only root fields an entity descriptor may have (Backstage's
#: NoForeignRootFieldsEntityPolicy); ``relations`` and ``status`` are computed by the catalog.
ROOT_FIELDS: frozenset[str] = frozenset({"apiVersion", "kind", "metadata", "spec"})
