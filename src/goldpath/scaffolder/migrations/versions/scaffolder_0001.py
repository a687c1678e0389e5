"""Scaffolder tables: tasks, their event log, and their (encrypted, short-lived) secrets.

Revision ID: scaffolder_0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "scaffolder_0001"
down_revision = None
branch_labels = ("scaffolder",)
depends_on = "core_0001"


def upgrade() -> None:
    op.create_table(
        "scaffolder_tasks",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("template_ref", sa.Text(), nullable=False),
        sa.Column("template_version", sa.String(64), nullable=True),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("steps", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("output", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(36), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_scaffolder_tasks_created_at", "scaffolder_tasks", ["created_at"])
    op.create_index(
        "ix_scaffolder_tasks_status_created_at", "scaffolder_tasks", ["status", "created_at"]
    )
    op.create_index(
        "ix_scaffolder_tasks_created_by_created_at",
        "scaffolder_tasks",
        ["created_by", "created_at"],
    )
    op.create_table(
        "scaffolder_task_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column(
            "task_id",
            sa.String(36),
            sa.ForeignKey("scaffolder_tasks.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_scaffolder_task_events_task_id_id", "scaffolder_task_events", ["task_id", "id"]
    )
    op.create_table(
        "scaffolder_task_secrets",
        sa.Column(
            "task_id",
            sa.String(36),
            sa.ForeignKey("scaffolder_tasks.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("ciphertext", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("scaffolder_task_secrets")
    op.drop_table("scaffolder_task_events")
    op.drop_table("scaffolder_tasks")
