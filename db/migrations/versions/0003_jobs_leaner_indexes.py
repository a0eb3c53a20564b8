"""jobs: leaner indexes

Every claim and finish changes a job's status, so each index that a job enters costs a write
per step. The plain (status, kind) index goes (the admin lists read the pruned table), and only
keyed jobs enter the one-running-job-per-key index.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 11:07:49.449789
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

RUNNING = "status = 'running'"
RUNNING_KEYED = "status = 'running' AND concurrency_key IS NOT NULL"


def _running_key_index(predicate: str) -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("uq_jobs_running_concurrency_key")
        batch_op.create_index(
            "uq_jobs_running_concurrency_key",
            ["concurrency_key"],
            unique=True,
            sqlite_where=sa.text(predicate),
            postgresql_where=sa.text(predicate),
        )


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_status_kind")
    _running_key_index(RUNNING_KEYED)


def downgrade() -> None:
    _running_key_index(RUNNING)
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_status_kind", ["status", "kind"], unique=False)
