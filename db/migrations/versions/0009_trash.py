"""trash: sessions, steps, songs and storyboards can be deleted and restored

A deleted row keeps its data and gets `deleted_at`; reads leave it out, the Recently deleted page
lists it (a partial index of trashed rows each), and `studio purge` deletes it for good once the
trash period is over.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 11:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# (table, index, the column the index starts with)
TABLES = (
    ("image_sessions", "ix_image_sessions_trash", "owner_id"),
    ("image_generations", "ix_image_generations_trash", "session_id"),
    ("songs", "ix_songs_trash", "owner_id"),
    ("storyboards", "ix_storyboards_trash", "owner_id"),
)
TRASHED = "deleted_at IS NOT NULL"


def upgrade() -> None:
    for name, index, first in TABLES:
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.add_column(sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        op.create_index(
            index,
            name,
            [first, "deleted_at"],
            unique=False,
            sqlite_where=sa.text(TRASHED),
            postgresql_where=sa.text(TRASHED),
        )


def downgrade() -> None:
    for name, index, _first in TABLES:
        op.drop_index(
            index, table_name=name, sqlite_where=sa.text(TRASHED), postgresql_where=sa.text(TRASHED)
        )
        with op.batch_alter_table(name, schema=None) as batch_op:
            batch_op.drop_column("deleted_at")
