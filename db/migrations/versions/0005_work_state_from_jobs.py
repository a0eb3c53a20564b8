"""session steps and storyboard requests take their state from their jobs

A step's or a request's status was a copy of its job's, kept by some transitions of the queue
and not others (an editor's requeue, a reap, a clear left it behind). Their state is now derived
from the job when read (studio/jobs/work.py), so the copies go: image_generations loses status,
error and error_class; storyboard_generations loses status, and its error becomes `refusal`,
kept only for what it really was: one request refused inside a whole-storyboard job that
completed. What a row still says about its outcome is made consistent first: a step's
completed_at and duration_ms mean "produced its image at", so they are cleared on steps that
did not succeed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

STATUSES = "status IN ('queued', 'running', 'succeeded', 'failed', 'canceled')"


def upgrade() -> None:
    op.execute(
        "UPDATE image_generations SET completed_at = NULL, duration_ms = NULL "
        "WHERE status <> 'succeeded'"
    )
    with op.batch_alter_table("image_generations", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_image_generations_status_valid"), type_="check")
        batch_op.drop_column("status")
        batch_op.drop_column("error")
        batch_op.drop_column("error_class")

    with op.batch_alter_table("storyboard_generations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refusal", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("refusal_class", sa.String(length=20), nullable=True))
    op.execute(
        "UPDATE storyboard_generations SET refusal = error, refusal_class = error_class "
        "WHERE status = 'failed' AND asset_id IS NULL "
        "AND job_id IN (SELECT id FROM jobs WHERE status = 'completed')"
    )
    with op.batch_alter_table("storyboard_generations", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_storyboard_generations_status_valid"), type_="check")
        batch_op.drop_column("status")
        batch_op.drop_column("error")
        batch_op.drop_column("error_class")


def downgrade() -> None:
    with op.batch_alter_table("storyboard_generations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=20), nullable=False, server_default="queued")
        )
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("error_class", sa.String(length=20), nullable=True))
    op.execute(
        "UPDATE storyboard_generations SET status = CASE "
        "WHEN asset_id IS NOT NULL THEN 'succeeded' "
        "WHEN refusal IS NOT NULL THEN 'failed' "
        "ELSE COALESCE((SELECT CASE jobs.status WHEN 'pending' THEN 'queued' "
        "WHEN 'completed' THEN 'canceled' ELSE jobs.status END "
        "FROM jobs WHERE jobs.id = storyboard_generations.job_id), 'canceled') END, "
        "error = refusal, error_class = refusal_class"
    )
    with op.batch_alter_table("storyboard_generations", schema=None) as batch_op:
        batch_op.alter_column("status", server_default=None)
        batch_op.create_check_constraint(op.f("ck_storyboard_generations_status_valid"), STATUSES)
        batch_op.drop_column("refusal")
        batch_op.drop_column("refusal_class")

    with op.batch_alter_table("image_generations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=20), nullable=False, server_default="queued")
        )
        batch_op.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("error_class", sa.String(length=20), nullable=True))
    op.execute(
        "UPDATE image_generations SET status = CASE "
        "WHEN completed_at IS NOT NULL THEN 'succeeded' "
        "ELSE COALESCE((SELECT CASE jobs.status WHEN 'pending' THEN 'queued' "
        "WHEN 'completed' THEN 'canceled' ELSE jobs.status END "
        "FROM jobs WHERE jobs.id = image_generations.job_id), 'canceled') END"
    )
    with op.batch_alter_table("image_generations", schema=None) as batch_op:
        batch_op.alter_column("status", server_default=None)
        batch_op.create_check_constraint(op.f("ck_image_generations_status_valid"), STATUSES)
