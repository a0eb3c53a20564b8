"""image_generations, storyboard_generations: partial indexes of work that produced nothing

The Session and Storyboards pages find the work in flight on every view (and every second while
something runs). A step or a request in flight has produced nothing yet, so a partial index of
the rows without an output (a step's completed_at, a request's asset_id) finds it without
reading a long history: a session of ten thousand finished steps has none in it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

STEP_UNPRODUCED = "completed_at IS NULL"
REQUEST_UNPRODUCED = "asset_id IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("image_generations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_image_generations_unproduced",
            ["session_id", "step"],
            unique=False,
            sqlite_where=sa.text(STEP_UNPRODUCED),
            postgresql_where=sa.text(STEP_UNPRODUCED),
        )
    with op.batch_alter_table("storyboard_generations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_storyboard_generations_unproduced",
            ["storyboard_id", "created_at"],
            unique=False,
            sqlite_where=sa.text(REQUEST_UNPRODUCED),
            postgresql_where=sa.text(REQUEST_UNPRODUCED),
        )


def downgrade() -> None:
    with op.batch_alter_table("storyboard_generations", schema=None) as batch_op:
        batch_op.drop_index("ix_storyboard_generations_unproduced")
    with op.batch_alter_table("image_generations", schema=None) as batch_op:
        batch_op.drop_index("ix_image_generations_unproduced")
