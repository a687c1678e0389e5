"""Catalog tables.

Revision ID: catalog_0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "catalog_0001"
down_revision = None
branch_labels = ("catalog",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "catalog_locations",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("key", sa.Text(), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "catalog_processing",
        sa.Column("ref_key", sa.Text(), primary_key=True),
        sa.Column("unprocessed", sa.Text(), nullable=False),
        sa.Column("parent_key", sa.Text(), nullable=False),
        sa.Column("location_id", sa.String(36), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("source_line", sa.Integer(), nullable=True),
        sa.Column("processed", sa.Text(), nullable=True),
        sa.Column("input_hash", sa.String(64), nullable=False),
        sa.Column("errors", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_catalog_processing_parent_key", "catalog_processing", ["parent_key"])
    op.create_index("ix_catalog_processing_location_id", "catalog_processing", ["location_id"])
    op.create_table(
        "catalog_entities",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ref_key", sa.Text(), nullable=False, unique=True),
        sa.Column("uid", sa.String(36), nullable=False, unique=True),
        sa.Column("etag", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(63), nullable=False),
        sa.Column("namespace", sa.String(63), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("orphan", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "catalog_search",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "entity_id",
            sa.Integer(),
            sa.ForeignKey("catalog_entities.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("value", sa.String(255), nullable=True),
        sa.Column("original_value", sa.String(255), nullable=True),
    )
    op.create_index("ix_catalog_search_key_value", "catalog_search", ["key", "value", "entity_id"])
    op.create_index("ix_catalog_search_entity", "catalog_search", ["entity_id"])
    op.create_table(
        "catalog_relations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("originating_key", sa.Text(), nullable=False),
        sa.Column("source_key", sa.Text(), nullable=False),
        sa.Column("type", sa.String(63), nullable=False),
        sa.Column("target_ref", sa.Text(), nullable=False),
    )
    op.create_index("ix_catalog_relations_source", "catalog_relations", ["source_key"])
    op.create_index("ix_catalog_relations_originating", "catalog_relations", ["originating_key"])


def downgrade() -> None:
    for table in (
        "catalog_relations",
        "catalog_search",
        "catalog_entities",
        "catalog_processing",
        "catalog_locations",
    ):
        op.drop_table(table)
