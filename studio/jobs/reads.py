"""Read models of the queue: rows with what each job is waiting on (admin pages), job counts
and kinds. How a piece of work shows its job's state is studio/jobs/work.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from db.schema import Job, QueueControl, table
from db.types import utcnow

jobs = table(Job)
controls = table(QueueControl)

STATUS_RANK = sa.case(
    {"running": 0, "pending": 1, "failed": 2, "completed": 3, "canceled": 4},
    value=jobs.c.status,
    else_=5,
)


@dataclass(frozen=True)
class JobView:
    id: str
    kind: str
    label: str
    status: str
    stage: str
    failure_stage: str | None
    attempts: int
    max_attempts: int
    retry_count: int
    error_class: str | None
    last_error: str | None
    cost_estimate: float | None
    cost_actual: float | None
    owner_id: str | None
    concurrency_key: str | None
    sequence: int
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    heartbeat_at: datetime | None
    lease_owner: str | None
    cancel_requested: bool
    waiting_on: str
    provider_operation: str | None = None
    provider_operation_at: datetime | None = None
    editor_action: str | None = None
    editor_id: str | None = None
    editor_name: str | None = None
    editor_action_at: datetime | None = None

    @property
    def editor_note(self) -> str:
        """Who did the last editor action: "requeued by Ada (ada@example.com)"."""
        if not self.editor_action:
            return ""
        if self.editor_id is not None and self.editor_id == self.owner_id:
            who = "its owner"
        else:
            who = self.editor_name or self.editor_id or "an editor"
        return f"{self.editor_action} by {who}"

    provider: str | None = None
    priority: int = 100
    position: int | None = None  # a pending job's place in the claim order (1: next)

    @property
    def short_id(self) -> str:
        return self.id[:8]

    @property
    def resumed_operation(self) -> bool:
        """This attempt took up a provider operation an earlier attempt had started (after a
        crash or a retry) instead of starting, and paying for, another."""
        return (
            self.provider_operation is not None
            and self.provider_operation_at is not None
            and self.started_at is not None
            and self.provider_operation_at < self.started_at
        )

    @property
    def operation_note(self) -> str:
        """What the Jobs page says about the job's provider operation."""
        if self.resumed_operation:
            return "resumed provider operation"
        return "provider operation started" if self.provider_operation else ""


def _describe(row: Any) -> str:
    return row.label or f"{row.kind} {row.id[:8]}"


@dataclass(frozen=True)
class QueueState:
    """What the controls make of the queue now: pauses, caps, and jobs running per kind and
    per provider."""

    paused: dict[tuple[str, str], str | None]  # (scope, name) -> the job let through, if any
    caps: dict[tuple[str, str], int]
    running: dict[tuple[str, str], int]

    def pause_of(self, row: Any) -> str:
        """What pause holds this job ("" when none)."""
        for scope, name, what in (
            ("all", "", "the whole queue"),
            ("kind", row.kind, f"kind {row.kind}"),
            ("provider", row.provider, f"provider {row.provider}"),
        ):
            if (scope, name) in self.paused and self.paused[(scope, name)] != row.id:
                return f"paused ({what})"
        return ""

    def full_slot(self, row: Any) -> str:
        """The cap this job waits under ("" when none is full)."""
        for scope, name, word in (
            ("kind", row.kind, str(row.kind).replace("_", " ")),
            ("provider", row.provider, str(row.provider)),
        ):
            cap = self.caps.get((scope, name))
            if cap is not None and self.running.get((scope, name), 0) >= cap:
                return f"waiting for a free {word} slot"
        return ""


def queue_state(conn: sa.Connection) -> QueueState:
    rows = conn.execute(sa.select(*controls.c)).all()
    state = QueueState(
        paused={(r.scope, r.name): r.let_through for r in rows if r.paused_at is not None},
        caps={(r.scope, r.name): r.cap for r in rows if r.cap is not None},
        running={},
    )
    if state.caps:
        for column in ("kind", "provider"):
            counts = conn.execute(
                sa.select(jobs.c[column], sa.func.count())
                .where(jobs.c.status == "running", jobs.c[column].isnot(None))
                .group_by(jobs.c[column])
            ).all()
            state.running.update({(column, name): int(n) for name, n in counts})
    return state


def _waiting_on(row: Any, heads: dict[str, Any], now: datetime, state: QueueState) -> str:
    if row.status == "running":
        return "cancel requested" if row.cancel_requested else ""
    if row.status != "pending":
        return ""
    if paused := state.pause_of(row):
        return paused
    if row.concurrency_key and row.concurrency_key in heads:
        head = heads[row.concurrency_key]
        if head.id != row.id:
            suffix = {"failed": " (failed: requeue or skip it)", "running": " (running)"}.get(
                head.status, ""
            )
            return f"after {_describe(head)}{suffix}"
    if row.run_after and row.run_after > now:
        why = "rate limited" if row.error_class == "rate_limit" else "retry"
        return f"{why} at {row.run_after:%H:%M:%S} UTC"
    return state.full_slot(row) or "next free worker"


def key_heads(conn: sa.Connection, keys: set[str]) -> dict[str, Any]:
    """The first unfinished job of each key (what later jobs of the key wait on): a row with
    id, kind, label, status, concurrency_key, sequence, run_after, error_class, last_error,
    cancel_requested. Keys with nothing unfinished are absent."""
    if not keys:
        return {}
    rank = (
        sa.func.row_number()
        .over(partition_by=jobs.c.concurrency_key, order_by=(jobs.c.sequence, jobs.c.created_at))
        .label("rank")
    )
    open_rows = (
        sa.select(
            jobs.c.id,
            jobs.c.kind,
            jobs.c.label,
            jobs.c.status,
            jobs.c.concurrency_key,
            jobs.c.sequence,
            jobs.c.run_after,
            jobs.c.error_class,
            jobs.c.last_error,
            jobs.c.cancel_requested,
            rank,
        )
        .where(
            jobs.c.concurrency_key.in_(sorted(keys)),
            sa.or_(
                jobs.c.status.in_(("pending", "running")),
                sa.and_(jobs.c.status == "failed", jobs.c.ordered.is_(True)),
            ),
        )
        .subquery()
    )
    rows = conn.execute(sa.select(open_rows).where(open_rows.c.rank == 1)).all()
    return {r.concurrency_key: r for r in rows}


def list_jobs(
    engine: Engine,
    *,
    kinds: list[str] | None = None,
    statuses: list[str] | None = None,
    limit: int = 200,
) -> list[JobView]:
    """Jobs ordered by status (running, pending, failed, done); pending ones in the order
    they will be claimed (priority, run_after, created_at), the others by key and sequence."""
    pending_first = sa.case((jobs.c.status == "pending", jobs.c.priority), else_=0)
    pending_time = sa.case((jobs.c.status == "pending", jobs.c.run_after), else_=None)
    query = sa.select(*jobs.c).order_by(
        STATUS_RANK,
        pending_first,
        pending_time,
        jobs.c.concurrency_key,
        jobs.c.sequence,
        jobs.c.created_at,
    )
    if kinds:
        query = query.where(jobs.c.kind.in_(kinds))
    if statuses:
        query = query.where(jobs.c.status.in_(statuses))
    now = utcnow()
    with engine.connect() as conn:
        rows = conn.execute(query.limit(limit)).all()
        waiting = {r.concurrency_key for r in rows if r.status == "pending" and r.concurrency_key}
        heads = key_heads(conn, waiting)
        state = queue_state(conn)
    place = {r.id: n for n, r in enumerate((r for r in rows if r.status == "pending"), start=1)}
    return [
        JobView(
            id=r.id,
            kind=r.kind,
            label=_describe(r),
            status=r.status,
            stage=r.stage,
            failure_stage=r.failure_stage,
            attempts=r.attempts,
            max_attempts=r.max_attempts,
            retry_count=r.retry_count,
            error_class=r.error_class,
            last_error=r.last_error,
            cost_estimate=r.cost_estimate,
            cost_actual=r.cost_actual,
            owner_id=r.owner_id,
            concurrency_key=r.concurrency_key,
            sequence=r.sequence,
            created_at=r.created_at,
            started_at=r.started_at,
            completed_at=r.completed_at,
            heartbeat_at=r.heartbeat_at,
            lease_owner=r.lease_owner,
            cancel_requested=r.cancel_requested,
            waiting_on=_waiting_on(r, heads, now, state),
            provider_operation=r.provider_operation,
            provider_operation_at=r.provider_operation_at,
            editor_action=r.editor_action,
            editor_id=r.editor_id,
            editor_name=r.editor_name,
            editor_action_at=r.editor_action_at,
            provider=r.provider,
            priority=r.priority,
            position=place.get(r.id),
        )
        for r in rows
    ]


def job_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status)).all()
    return {status: int(n) for status, n in rows}


def job_kinds(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(sa.select(jobs.c.kind).distinct()).scalars())
