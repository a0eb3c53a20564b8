"""image_generations.mask_outside_changed: mask integrity of inpainting steps

After every inpaint the studio counts the pixels outside the mask that differ from the source
(0 when the mask held) and keeps the count with the step. Existing steps have no count.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 11:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("image_generations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mask_outside_changed", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("image_generations", schema=None) as batch_op:
        batch_op.drop_column("mask_outside_changed")
