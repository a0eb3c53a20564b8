"""image_generations.tree_key: the history in tree order, paged by the database

A session's history is drawn depth first (a step, the line that continues it, then the
branches leaving that line). Each step keeps a sort key so that ordering by (tree_key, step) is
that order, and an index on (session_id, tree_key, step) lets the page read one page of it; the
keys of existing steps are computed here, session by session, as new steps get them
(studio/sessions/tree.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

WIDTH = 7
TOP = 10**WIDTH - 1
MAX_KEY = 2000


def _keys(rows: list[sa.Row]) -> dict[str, str]:
    """Keys for one session's steps, given in step order (id, parent, step)."""
    keys: dict[str, tuple[str, int]] = {}
    has_child: set[str] = set()
    out: dict[str, str] = {}
    for gen_id, parent, step in rows:
        if parent is None or parent not in keys:
            key = f"{step:0{WIDTH}d}"
        else:
            parent_key, parent_step = keys[parent]
            key = parent_key
            if parent in has_child:
                branch = f"{parent_key}/{TOP - parent_step:0{WIDTH}d}.{step:0{WIDTH}d}"
                key = branch if len(branch) <= MAX_KEY else parent_key
            has_child.add(parent)
        keys[gen_id] = (key, step)
        out[gen_id] = key
    return out


def upgrade() -> None:
    with op.batch_alter_table("image_generations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tree_key", sa.String(length=2000), nullable=False, server_default="")
        )
    conn = op.get_bind()
    gens = sa.table(
        "image_generations",
        sa.column("id"),
        sa.column("session_id"),
        sa.column("parent_generation_id"),
        sa.column("step"),
        sa.column("tree_key"),
    )
    sessions = conn.execute(sa.select(gens.c.session_id).distinct()).scalars().all()
    for session_id in sessions:
        rows = conn.execute(
            sa.select(gens.c.id, gens.c.parent_generation_id, gens.c.step)
            .where(gens.c.session_id == session_id)
            .order_by(gens.c.step)
        ).all()
        for gen_id, key in _keys(list(rows)).items():
            conn.execute(gens.update().where(gens.c.id == gen_id).values(tree_key=key))
    with op.batch_alter_table("image_generations", schema=None) as batch_op:
        batch_op.alter_column("tree_key", server_default=None)
        batch_op.create_index(
            "ix_image_generations_session_tree",
            ["session_id", "tree_key", "step"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("image_generations", schema=None) as batch_op:
        batch_op.drop_index("ix_image_generations_session_tree")
        batch_op.drop_column("tree_key")
