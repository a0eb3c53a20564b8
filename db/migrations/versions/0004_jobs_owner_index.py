"""jobs: an index for the per-user limits

The per-user limits (studio/limits.py) read an owner's pending and running jobs (their queued
cost) and the owner's jobs of the last hour, for every request of every kind. One index on
(owner_id, status, created_at) answers both without scanning the owner's whole history; ownerless
jobs (no-ops, benchmarks) stay out of it.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 14:02:10.118302
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

OWNED = "owner_id IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_jobs_owner_status_created",
            ["owner_id", "status", "created_at"],
            unique=False,
            sqlite_where=sa.text(OWNED),
            postgresql_where=sa.text(OWNED),
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_owner_status_created")
