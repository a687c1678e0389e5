"""Search types: document types, filter fields, and the query and result shapes.

The result set has Backstage's shape (``@backstage/plugin-search-common``'s
``SearchResultSet``): ``results`` of ``{type, document, highlight, rank}``,
``nextPageCursor``, ``previousPageCursor``, ``numberOfResults``; goldpath adds ``facets``,
which Backstage's clients ignore.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

CATALOG = "software-catalog"
TEMPLATE = "software-template"
TECHDOCS = "techdocs"
DOCUMENT_TYPES = (CATALOG, TEMPLATE, TECHDOCS)

#: Filter names (``filters[<name>]=value``) and the index column each one reads. ``type`` is
#: the entity's ``spec.type`` (Backstage's catalog documents call it ``type`` and
#: ``componentType``); the document type is chosen with ``types``.
FILTER_COLUMNS = {
    "kind": "kind",
    "namespace": "namespace",
    "name": "name",
    "owner": "owner",
    "lifecycle": "lifecycle",
    "type": "spec_type",
    "componentType": "spec_type",
    "tags": "tags",
}
#: Facets a response counts, by default all of them; ``types`` counts document types.
FACET_FIELDS = ("types", "kind", "type", "owner", "lifecycle", "tags")

DEFAULT_PAGE_LIMIT = 25
MAX_PAGE_LIMIT = 100
#: Values listed per facet, most frequent first.
FACET_VALUES = 50

#: Marks around matched words in ``highlight.fields``; unlikely in any real text, as
#: Backstage's own (random) tags are.
PRE_TAG = "<gp-hl-7c1e>"
POST_TAG = "</gp-hl-7c1e>"


class SearchQuery(BaseModel):
    """A query as the service takes it; the API and CLI build one from their parameters."""

    model_config = ConfigDict(extra="forbid")

    term: str = ""
    types: list[str] = Field(default_factory=list)
    #: Filter name to accepted values: any value of a filter (OR), every filter (AND).
    filters: dict[str, list[str]] = Field(default_factory=dict)
    page_cursor: str | None = None
    page_limit: int = DEFAULT_PAGE_LIMIT
    #: Facets to count; None: all of ``FACET_FIELDS``, empty: none.
    facets: list[str] | None = None


class Highlight(BaseModel):
    preTag: str  # noqa: N815 - Backstage's field names
    postTag: str  # noqa: N815
    fields: dict[str, str]


class Result(BaseModel):
    type: str
    document: dict[str, Any]
    highlight: Highlight | None = None
    rank: int


class FacetValue(BaseModel):
    value: str
    count: int


class SearchResultSet(BaseModel):
    """For the OpenAPI description; responses are written directly, not through it."""

    results: list[Result]
    nextPageCursor: str | None = None  # noqa: N815
    previousPageCursor: str | None = None  # noqa: N815
    numberOfResults: int  # noqa: N815
    facets: dict[str, list[FacetValue]] = Field(default_factory=dict)
