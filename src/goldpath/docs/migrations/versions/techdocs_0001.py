"""TechDocs build records.

Revision ID: techdocs_0001
Revises:
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "techdocs_0001"
down_revision = None
branch_labels = ("techdocs",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "techdocs_builds",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("entity_ref", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("task_id", sa.String(36), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("source_hash", sa.String(128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("warnings", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.Column("log", sa.Text(), nullable=False, server_default=""),
    )
    op.create_index(
        "ix_techdocs_builds_entity_ref_created_at", "techdocs_builds", ["entity_ref", "created_at"]
    )
    op.create_index("ix_techdocs_builds_task_id", "techdocs_builds", ["task_id"])
    op.create_index("ix_techdocs_builds_status", "techdocs_builds", ["status"])


def downgrade() -> None:
    op.drop_table("techdocs_builds")
