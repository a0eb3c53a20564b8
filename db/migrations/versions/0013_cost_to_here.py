"""Cost and time to here: each step's path sums, each session's total and costliest branch

image_generations.path_cost / path_ms: cost and generation time summed along the path from the
root to the step, written with the step's outcome. image_sessions.total_cost and
costliest_generation_id: what the session's finished steps cost, and the finished step whose
path cost most (the most expensive branch). Existing rows are computed here, session by session,
in step order (a parent always has a lower step number than its children).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 11:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("image_generations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("path_cost", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("path_ms", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("image_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("total_cost", sa.Float(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("costliest_generation_id", sa.String(length=36)))
    conn = op.get_bind()
    gens = sa.table(
        "image_generations",
        sa.column("id"),
        sa.column("session_id"),
        sa.column("parent_generation_id"),
        sa.column("step"),
        sa.column("cost_actual"),
        sa.column("cost_estimate"),
        sa.column("duration_ms"),
        sa.column("completed_at"),
        sa.column("path_cost"),
        sa.column("path_ms"),
    )
    sessions = sa.table(
        "image_sessions",
        sa.column("id"),
        sa.column("total_cost"),
        sa.column("costliest_generation_id"),
    )
    for session_id in conn.execute(sa.select(gens.c.session_id).distinct()).scalars().all():
        rows = conn.execute(
            sa.select(gens).where(gens.c.session_id == session_id).order_by(gens.c.step)
        ).all()
        paths: dict[str, tuple[float, int]] = {}
        total, top, top_id = 0.0, -1.0, None
        for r in rows:
            if r.completed_at is None:
                continue
            cost = r.cost_actual if r.cost_actual is not None else (r.cost_estimate or 0.0)
            base = paths.get(r.parent_generation_id or "", (0.0, 0))
            path = (base[0] + cost, base[1] + (r.duration_ms or 0))
            paths[r.id] = path
            total += cost
            if path[0] > top:
                top, top_id = path[0], r.id
            conn.execute(
                gens.update().where(gens.c.id == r.id).values(path_cost=path[0], path_ms=path[1])
            )
        conn.execute(
            sessions.update()
            .where(sessions.c.id == session_id)
            .values(total_cost=total, costliest_generation_id=top_id)
        )
    with op.batch_alter_table("image_sessions", schema=None) as batch_op:
        batch_op.alter_column("total_cost", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("image_sessions", schema=None) as batch_op:
        batch_op.drop_column("costliest_generation_id")
        batch_op.drop_column("total_cost")
    with op.batch_alter_table("image_generations", schema=None) as batch_op:
        batch_op.drop_column("path_ms")
        batch_op.drop_column("path_cost")
