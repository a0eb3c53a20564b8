"""The job queue: one table for every kind of work."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from db.schema.base import Base, created_column, id_column, status_check
from db.types import JSONType, utcnow

JOB_STATUSES = ("pending", "running", "completed", "failed", "canceled")
JOB_STAGES = ("queued", "processing", "generating", "uploading", "completed")
ERROR_CLASSES = (
    "temporary", "permanent", "rate_limit", "auth", "safety", "out_of_credits", "unknown",
)  # fmt: skip


CLAIMABLE = "status = 'pending' AND NOT held AND NOT paused"
PAUSED_PENDING = "status = 'pending' AND paused"
RUNNING_KIND_SLOT = "status = 'running' AND kind_slot IS NOT NULL"
RUNNING_PROVIDER_SLOT = "status = 'running' AND provider_slot IS NOT NULL"
CONTROL_SCOPES = ("all", "kind", "provider")


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = id_column()
    kind: Mapped[str] = mapped_column(sa.String(50), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(nullable=False, default=dict)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="pending")
    stage: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="queued")
    failure_stage: Mapped[str | None] = mapped_column(sa.String(20))
    priority: Mapped[int] = mapped_column(nullable=False, default=100)
    run_after: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(nullable=False, default=3)
    retry_count: Mapped[int] = mapped_column(nullable=False, default=0)
    rate_limit_waits: Mapped[int] = mapped_column(nullable=False, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200))
    concurrency_key: Mapped[str | None] = mapped_column(sa.String(200))
    sequence: Mapped[int] = mapped_column(nullable=False, default=0)
    # ordered: a failed job holds the later jobs of its key (verses); otherwise the key only
    # means "one at a time" (exclusive storyboard work).
    ordered: Mapped[bool] = mapped_column(nullable=False, default=False)
    # held: a pending keyed job that is not the head of its key. Kept out of the claim index so
    # thousands of jobs waiting behind one key cost a claim nothing.
    held: Mapped[bool] = mapped_column(nullable=False, default=False)
    # paused: a pending job whose kind or provider an editor paused (queue_controls). Kept out
    # of the claim index like `held`, so a paused kind's backlog costs a claim nothing.
    paused: Mapped[bool] = mapped_column(nullable=False, default=False)
    owner_id: Mapped[str | None] = mapped_column(sa.String(200))
    label: Mapped[str | None] = mapped_column(sa.String(300))
    lease_owner: Mapped[str | None] = mapped_column(sa.String(200))
    lease_token: Mapped[str | None] = mapped_column(sa.String(36))
    lease_expires_at: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    cancel_requested: Mapped[bool] = mapped_column(nullable=False, default=False)
    error_class: Mapped[str | None] = mapped_column(sa.String(20))
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    cost_estimate: Mapped[float | None] = mapped_column(sa.Float)
    cost_actual: Mapped[float | None] = mapped_column(sa.Float)
    # A long provider operation this job started (a video), committed the moment it was
    # submitted: a job claimed again after a crash resumes it instead of paying for another.
    provider_operation: Mapped[str | None] = mapped_column(sa.String(500))
    provider_operation_at: Mapped[datetime | None] = mapped_column()
    # The last editor action (requeued, skipped, cancel requested, cleared): who did it (their
    # owner id and the name shown) and when.
    editor_action: Mapped[str | None] = mapped_column(sa.String(20))
    editor_id: Mapped[str | None] = mapped_column(sa.String(200))
    editor_name: Mapped[str | None] = mapped_column(sa.String(200))
    editor_action_at: Mapped[datetime | None] = mapped_column()
    # The external service the job calls (set by its producer, e.g. "openai"): what a queue
    # control can pause or cap besides the kind. The queue itself attaches no meaning to it.
    provider: Mapped[str | None] = mapped_column(sa.String(50))
    # Under a concurrency cap (queue_controls.cap), a running job holds one numbered slot of its
    # kind and/or provider; unique indexes on the running slots keep two workers from taking
    # the same one, so a cap holds across every worker on every machine.
    kind_slot: Mapped[int | None] = mapped_column()
    provider_slot: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = created_column()
    started_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        sa.Index(
            "ix_jobs_claim",
            "priority",
            "run_after",
            "created_at",
            sqlite_where=sa.text(CLAIMABLE),
            postgresql_where=sa.text(CLAIMABLE),
        ),
        # The pending jobs a pause flagged, found again when it is lifted.
        sa.Index(
            "ix_jobs_paused",
            "kind",
            "provider",
            sqlite_where=sa.text(PAUSED_PENDING),
            postgresql_where=sa.text(PAUSED_PENDING),
        ),
        sa.Index(
            "uq_jobs_idempotency_key",
            "idempotency_key",
            unique=True,
            sqlite_where=sa.text("idempotency_key IS NOT NULL"),
            postgresql_where=sa.text("idempotency_key IS NOT NULL"),
        ),
        # Only keyed jobs enter it: an unkeyed claim then updates one index fewer.
        sa.Index(
            "uq_jobs_running_concurrency_key",
            "concurrency_key",
            unique=True,
            sqlite_where=sa.text("status = 'running' AND concurrency_key IS NOT NULL"),
            postgresql_where=sa.text("status = 'running' AND concurrency_key IS NOT NULL"),
        ),
        sa.Index(
            "ix_jobs_lease_expires",
            "lease_expires_at",
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        ),
        # Finds the earlier jobs of a key that hold a later one (verses of one song).
        sa.Index(
            "ix_jobs_concurrency_order",
            "concurrency_key",
            "sequence",
            "created_at",
            sqlite_where=sa.text("concurrency_key IS NOT NULL"),
            postgresql_where=sa.text("concurrency_key IS NOT NULL"),
        ),
        # Per-user limits (studio/limits.py): an owner's unfinished jobs, and their jobs of the
        # last hour. Ownerless jobs (no-ops, benchmarks) stay out and cost it nothing.
        sa.Index(
            "ix_jobs_owner_status_created",
            "owner_id",
            "status",
            "created_at",
            sqlite_where=sa.text("owner_id IS NOT NULL"),
            postgresql_where=sa.text("owner_id IS NOT NULL"),
        ),
        sa.Index(
            "uq_jobs_running_kind_slot",
            "kind",
            "kind_slot",
            unique=True,
            sqlite_where=sa.text(RUNNING_KIND_SLOT),
            postgresql_where=sa.text(RUNNING_KIND_SLOT),
        ),
        sa.Index(
            "uq_jobs_running_provider_slot",
            "provider",
            "provider_slot",
            unique=True,
            sqlite_where=sa.text(RUNNING_PROVIDER_SLOT),
            postgresql_where=sa.text(RUNNING_PROVIDER_SLOT),
        ),
        # No plain index on status: every claim and finish changes it, and each such index
        # costs every job two more index writes. The admin lists read the (pruned) table.
        status_check("status", JOB_STATUSES),
        status_check("stage", JOB_STAGES),
    )


class QueueControl(Base):
    """An editor's hold on the queue: the whole queue (scope "all", name ""), one kind, or one
    provider paused (`paused_at` set), and/or capped to `cap` jobs running at once. A row with
    neither is deleted. Every worker's claim reads this table, so a control holds for every
    worker process on every machine and survives restarts."""

    __tablename__ = "queue_controls"

    scope: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50), primary_key=True, default="")
    paused_at: Mapped[datetime | None] = mapped_column()
    paused_by: Mapped[str | None] = mapped_column(sa.String(200))
    # "Process one, then pause": this one job may still be claimed while the pause holds.
    let_through: Mapped[str | None] = mapped_column(sa.String(36))
    cap: Mapped[int | None] = mapped_column()
    cap_by: Mapped[str | None] = mapped_column(sa.String(200))  # "configuration" or an editor
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, nullable=False)

    __table_args__ = (
        status_check("scope", CONTROL_SCOPES),
        sa.CheckConstraint("cap IS NULL OR cap >= 1", name="cap_valid"),
    )
