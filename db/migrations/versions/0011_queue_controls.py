"""queue controls: pause, caps and the provider of a job

Editors pause the whole queue, one kind or one provider (the pending jobs of a paused kind or
provider are flagged `paused` and leave the claim index, which is rebuilt with that predicate), and cap how many jobs of a kind or a
provider run at once. Both are rows of `queue_controls`, read by every worker's claim. A job
records the provider it calls (`provider`, set by its producer), and a running job under a cap
holds a numbered slot (`kind_slot`, `provider_slot`); unique indexes over the running slots keep
two workers from exceeding a cap together.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 11:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CLAIMABLE = "status = 'pending' AND NOT held AND NOT paused"
CLAIMABLE_BEFORE = "status = 'pending' AND NOT held"
PAUSED_PENDING = "status = 'pending' AND paused"
RUNNING_KIND_SLOT = "status = 'running' AND kind_slot IS NOT NULL"
RUNNING_PROVIDER_SLOT = "status = 'running' AND provider_slot IS NOT NULL"


def upgrade() -> None:
    op.create_table(
        "queue_controls",
        sa.Column("scope", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paused_by", sa.String(length=200), nullable=True),
        sa.Column("let_through", sa.String(length=36), nullable=True),
        sa.Column("cap", sa.Integer(), nullable=True),
        sa.Column("cap_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "scope IN ('all', 'kind', 'provider')", name=op.f("ck_queue_controls_scope_valid")
        ),
        sa.CheckConstraint("cap IS NULL OR cap >= 1", name=op.f("ck_queue_controls_cap_valid")),
        sa.PrimaryKeyConstraint("scope", "name", name=op.f("pk_queue_controls")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("kind_slot", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("provider_slot", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.drop_index("ix_jobs_claim")
        batch_op.create_index(
            "ix_jobs_claim",
            ["priority", "run_after", "created_at"],
            unique=False,
            sqlite_where=sa.text(CLAIMABLE),
            postgresql_where=sa.text(CLAIMABLE),
        )
        batch_op.create_index(
            "ix_jobs_paused",
            ["kind", "provider"],
            unique=False,
            sqlite_where=sa.text(PAUSED_PENDING),
            postgresql_where=sa.text(PAUSED_PENDING),
        )
        batch_op.create_index(
            "uq_jobs_running_kind_slot",
            ["kind", "kind_slot"],
            unique=True,
            sqlite_where=sa.text(RUNNING_KIND_SLOT),
            postgresql_where=sa.text(RUNNING_KIND_SLOT),
        )
        batch_op.create_index(
            "uq_jobs_running_provider_slot",
            ["provider", "provider_slot"],
            unique=True,
            sqlite_where=sa.text(RUNNING_PROVIDER_SLOT),
            postgresql_where=sa.text(RUNNING_PROVIDER_SLOT),
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_paused")
        batch_op.drop_index("ix_jobs_claim")
        batch_op.create_index(
            "ix_jobs_claim",
            ["priority", "run_after", "created_at"],
            unique=False,
            sqlite_where=sa.text(CLAIMABLE_BEFORE),
            postgresql_where=sa.text(CLAIMABLE_BEFORE),
        )
        batch_op.drop_column("paused")
        batch_op.drop_index("uq_jobs_running_provider_slot")
        batch_op.drop_index("uq_jobs_running_kind_slot")
        batch_op.drop_column("provider_slot")
        batch_op.drop_column("kind_slot")
        batch_op.drop_column("provider")
    op.drop_table("queue_controls")
