"""What producers call: `enqueue` (idempotent, with concurrency keys and ordered keys) and
`start_exclusive` (one job of a key at a time), and the row a new pending job starts as
(`pending_job_values`, also used by the benchmarks' bulk loads). Mixed into JobQueue."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from db.schema import Job
from db.types import new_id, utcnow
from studio.errors import InProgress
from studio.jobs import observe
from studio.jobs.admin import EditorActions
from studio.jobs.base import Executor
from studio.jobs.controls import paused_now
from studio.jobs.statements import jobs
from studio.jobs.wakeup import announce


class DuplicateKey(Exception):
    """`enqueue(..., new_only=True)` found its idempotency key already used: a concurrent
    submission of the same form got there first. The caller's transaction rolls back, and the
    caller returns what that submission made; `job` is its job."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"idempotency key already used by job {job.id}")
        self.job = job


def pending_job_values(
    kind: str,
    payload: dict[str, Any] | None = None,
    *,
    job_id: str | None = None,
    at: datetime | None = None,
    priority: int = 100,
    run_after: datetime | None = None,
    max_attempts: int = 3,
    idempotency_key: str | None = None,
    concurrency_key: str | None = None,
    ordered: bool = False,
    held: bool = False,
    sequence: int = 0,
    owner_id: str | None = None,
    label: str | None = None,
    cost_estimate: float | None = None,
    provider: str | None = None,
) -> dict[str, Any]:
    """The column values of a fresh pending job: what `enqueue` inserts, and what bulk loaders
    (benchmarks) insert many of at once."""
    at = at or utcnow()
    return {
        "id": job_id or new_id(),
        "kind": kind,
        "payload": payload or {},
        "status": "pending",
        "stage": "queued",
        "priority": priority,
        "run_after": run_after or at,
        "attempts": 0,
        "max_attempts": max_attempts,
        "retry_count": 0,
        "rate_limit_waits": 0,
        "idempotency_key": idempotency_key,
        "concurrency_key": concurrency_key,
        "ordered": ordered,
        "held": held,
        "paused": False,
        "sequence": sequence,
        "owner_id": owner_id,
        "label": label,
        "cancel_requested": False,
        "cost_estimate": cost_estimate,
        "provider": provider,
        "created_at": at,
    }


class Producers(EditorActions):
    """Adding work: enqueue and start_exclusive (which clears a stale job of its key through
    the editors' `clear`)."""

    def enqueue(
        self,
        kind: str,
        payload: dict[str, Any] | None = None,
        *,
        db: Executor | None = None,
        priority: int = 100,
        idempotency_key: str | None = None,
        concurrency_key: str | None = None,
        ordered: bool = False,
        sequence: int = 0,
        owner_id: str | None = None,
        label: str | None = None,
        max_attempts: int | None = None,
        run_after: datetime | None = None,
        cost_estimate: float | None = None,
        provider: str | None = None,
        job_id: str | None = None,
        new_only: bool = False,
    ) -> Job:
        """Add a job, or return the existing one when `idempotency_key` was used before (with
        `new_only`, raise DuplicateKey instead: the caller wrote rows for a new job).
        `provider`: the external service the job calls, which editors can pause or cap."""
        new = job_id or new_id()
        now = utcnow()
        with self._tx(db) as tx:
            held = False
            if concurrency_key is not None:
                self._lock_key(tx, concurrency_key)
                earlier = tx.execute(
                    sa.select(sa.literal(1))
                    .where(
                        jobs.c.concurrency_key == concurrency_key,
                        jobs.c.status.in_(self._open_statuses(ordered)),
                        jobs.c.sequence <= sequence,
                    )
                    .limit(1)
                ).first()
                held = earlier is not None
            values = pending_job_values(
                kind,
                payload,
                job_id=new,
                at=now,
                priority=priority,
                run_after=run_after,
                max_attempts=max_attempts or self.max_attempts,
                idempotency_key=idempotency_key,
                concurrency_key=concurrency_key,
                ordered=ordered,
                held=held,
                sequence=sequence,
                owner_id=owner_id,
                label=label,
                cost_estimate=cost_estimate,
                provider=provider,
            )
            # A job of a paused kind or provider is flagged at once (kept out of the claim index).
            values["paused"] = paused_now(kind, provider)
            insert = (postgresql.insert if self.is_pg else sqlite.insert)(jobs).values(**values)
            if idempotency_key is not None:
                insert = insert.on_conflict_do_update(
                    index_elements=[jobs.c.idempotency_key],
                    index_where=jobs.c.idempotency_key.isnot(None),
                    set_={"idempotency_key": insert.excluded.idempotency_key},
                )
            row = tx.execute(insert.returning(*jobs.c)).one()
            job = Job(**row._mapping)
            if new_only and job.id != new:
                raise DuplicateKey(job)
            if job.id == new and not held:  # claimable once this commits: wake the workers
                announce(tx, self.wakeup, is_pg=self.is_pg, own=db is None)
            if job.id == new:
                observe.enqueued(job.id, kind, owner_id, job.payload)
        if db is None and job.id == new and not held:
            self.wakeup.raise_()
        return job

    def start_exclusive(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        concurrency_key: str,
        db: Executor | None = None,
        **kw: Any,
    ) -> Job:
        """Enqueue exclusive work on a key: "already in progress" if a job of the key is queued
        or running with a recent heartbeat; a stale running one is cleared automatically."""
        with self._tx(db) as tx:
            self._lock_key(tx, concurrency_key)
            busy = tx.execute(
                sa.select(jobs.c.id, jobs.c.status, jobs.c.heartbeat_at, jobs.c.started_at)
                .where(
                    jobs.c.concurrency_key == concurrency_key,
                    jobs.c.status.in_(("pending", "running")),
                )
                .order_by(jobs.c.created_at)
                .limit(1)
            ).first()
            if busy is not None:
                last_sign = busy.heartbeat_at or busy.started_at
                stale = (
                    busy.status == "running"
                    and last_sign is not None
                    and utcnow() - last_sign > timedelta(seconds=self.stale_seconds)
                )
                if not stale:
                    what = "running" if busy.status == "running" else "queued"
                    raise InProgress(
                        f"This work is already in progress (a job is {what}). "
                        "If it is stuck, clear it and try again.",
                        job_id=busy.id,
                    )
                minutes = self.stale_seconds // 60 or 1
                self.clear(
                    busy.id,
                    reason=f"Cleared automatically: no heartbeat for over {minutes} minute(s).",
                    db=tx,
                )
            return self.enqueue(kind, payload, db=tx, concurrency_key=concurrency_key, **kw)
