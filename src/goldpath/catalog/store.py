"""Catalog tables.

Two stages, as in Backstage: ``catalog_processing`` holds each entity as read from its source
(plus its processing state and errors); ``catalog_entities`` holds the final, stitched entity
that every read serves. ``catalog_search`` flattens final entities into key/value rows for
filters and facets; ``catalog_relations`` holds relations by the entity that declared them,
so stitching can gather every relation whose source is a given entity.

Entity keys (``*_key``) are the full entity ref in lower case: refs compare case-insensitively.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from goldpath.core.db import Base


class LocationRow(Base):
    __tablename__ = "catalog_locations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(Text)
    #: ``type:target`` lower-cased, unique: a location is registered once.
    key: Mapped[str] = mapped_column(Text, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: Name of the location's own Location entity (``generated-<sha1 of type:target>`` at
    #: registration), kept when the target is updated so its entity ref stays stable.
    entity_name: Mapped[str | None] = mapped_column(String(63))


class ProcessingRow(Base):
    """An entity as emitted by its source, and how processing it went."""

    __tablename__ = "catalog_processing"

    ref_key: Mapped[str] = mapped_column(Text, primary_key=True)
    #: The entity as read, placeholders unresolved (JSON); kept only while processing it
    #: fails, to show what was read. Change detection uses ``input_hash``.
    unprocessed: Mapped[str] = mapped_column(Text)
    #: Who emitted it: ``location:<ns>/<name>`` of the parent Location entity, or
    #: ``provider:<name>`` for entity providers.
    parent_key: Mapped[str] = mapped_column(Text, index=True)
    #: The registered location (id) this entity descends from; None for providers.
    location_id: Mapped[str | None] = mapped_column(String(36), index=True)
    #: ``file:/abs/path`` or ``url:https://...`` of the file that holds it.
    source: Mapped[str | None] = mapped_column(Text)
    source_line: Mapped[int | None] = mapped_column(Integer)
    #: The entity after processing (placeholders resolved, validated), JSON; None while it
    #: has never processed cleanly. Stitching reads it.
    processed: Mapped[str | None] = mapped_column(Text)
    #: Hash of the unprocessed entity plus everything its processing read (placeholders).
    input_hash: Mapped[str] = mapped_column(String(64))
    #: Processing errors of the last attempt (JSON list), empty when it went well.
    errors: Mapped[str] = mapped_column(Text, default="[]")
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EntityRow(Base):
    """A final, stitched entity: what the API serves."""

    __tablename__ = "catalog_entities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ref_key: Mapped[str] = mapped_column(Text, unique=True)
    uid: Mapped[str] = mapped_column(String(36), unique=True)
    etag: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(63))
    namespace: Mapped[str] = mapped_column(String(63))
    name: Mapped[str] = mapped_column(String(255))
    #: The final entity JSON, exactly as served.
    body: Mapped[str] = mapped_column(Text)
    orphan: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SearchRow(Base):
    """One flattened ``key=value`` of a final entity (Backstage's ``search`` table)."""

    __tablename__ = "catalog_search"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    entity_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("catalog_entities.id", ondelete="CASCADE")
    )
    key: Mapped[str] = mapped_column(String(255))
    #: Lower-cased, for case-insensitive matching; None when the key exists without a value.
    value: Mapped[str | None] = mapped_column(String(255))
    original_value: Mapped[str | None] = mapped_column(String(255))

    __table_args__ = (
        Index("ix_catalog_search_key_value", "key", "value", "entity_id"),
        Index("ix_catalog_search_entity", "entity_id"),
    )


class RelationRow(Base):
    __tablename__ = "catalog_relations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    #: The entity whose processing produced this relation.
    originating_key: Mapped[str] = mapped_column(Text)
    source_key: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(63))
    target_ref: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_catalog_relations_source", "source_key"),
        Index("ix_catalog_relations_originating", "originating_key"),
    )


class MetaRow(Base):
    """Catalog-wide counters. ``generation`` grows with every write of final entities, so
    caches of derived answers (facets) know, with one tiny read, when they went stale —
    across replicas too."""

    __tablename__ = "catalog_meta"

    key: Mapped[str] = mapped_column(String(63), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
