"""Catalog generation counter: bumped by every write of final entities.

Revision ID: catalog_0002
Revises: catalog_0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "catalog_0002"
down_revision = "catalog_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    meta = op.create_table(
        "catalog_meta",
        sa.Column("key", sa.String(63), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
    )
    op.bulk_insert(meta, [{"key": "generation", "value": 0}])


def downgrade() -> None:
    op.drop_table("catalog_meta")
