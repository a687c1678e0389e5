"""Locations keep the name of their Location entity when their target changes.

Revision ID: catalog_0003
Revises: catalog_0002
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "catalog_0003"
down_revision = "catalog_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("catalog_locations") as batch:
        batch.add_column(sa.Column("entity_name", sa.String(63), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("catalog_locations") as batch:
        batch.drop_column("entity_name")
