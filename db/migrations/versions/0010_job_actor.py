"""jobs: who did the last editor action

Requeue, skip, cancel and clear record which person did them (their owner id and the name
shown), what they did and when, so the Jobs page can say "requeued by …".

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 11:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("editor_action", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("editor_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("editor_name", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("editor_action_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("editor_action_at")
        batch_op.drop_column("editor_name")
        batch_op.drop_column("editor_id")
        batch_op.drop_column("editor_action")
