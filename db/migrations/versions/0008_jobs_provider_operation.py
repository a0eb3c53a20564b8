"""jobs: the provider operation a job started

A video is a long operation at the provider, paid when it is submitted. Its name is stored on
the job the moment it is submitted (with the time), so a job claimed again after a worker crash
resumes polling that operation instead of submitting (and paying for) another.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 08:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_operation", sa.String(length=500), nullable=True))
        batch_op.add_column(
            sa.Column("provider_operation_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("provider_operation_at")
        batch_op.drop_column("provider_operation")
