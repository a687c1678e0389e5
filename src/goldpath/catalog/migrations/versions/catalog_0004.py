"""Entities of one kind in name order and in id order: the catalog list's default view
(``kind=x`` sorted by name), and a kind's entities without the sorted field, read straight
from these indexes instead of walking every entity.

Revision ID: catalog_0004
Revises: catalog_0003
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "catalog_0004"
down_revision = "catalog_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_catalog_entities_kind_name",
        "catalog_entities",
        [sa.text("lower(kind)"), sa.text("lower(name)"), "id"],
    )
    op.create_index(
        "ix_catalog_entities_kind_id", "catalog_entities", [sa.text("lower(kind)"), "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_catalog_entities_kind_id", table_name="catalog_entities")
    op.drop_index("ix_catalog_entities_kind_name", table_name="catalog_entities")
