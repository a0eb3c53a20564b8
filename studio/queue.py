"""The job queue (DESIGN §3): one table, one mechanism, every kind of work.

Guarantees, on SQLite and PostgreSQL alike:
- enqueue with an idempotency key returns the existing job (ON CONFLICT … RETURNING);
- a job is claimed by one worker at a time, under a lease identified by `lease_token`; finishing,
  failing and heart-beating all check the token, so a worker that lost its lease changes nothing;
- jobs sharing a concurrency key run one at a time, in (sequence, created_at) order; for an
  `ordered` key (verses of a song) a failed job holds the later ones until requeued or skipped.

Claim order is priority, then the time the job became runnable (its creation, or its retry time).
Keyed jobs that are not the head of their key are marked `held`, which keeps them out of the
partial claim index; `_release_head` clears the mark when the head moves on. The claim predicate
still checks the key's state itself, so `held` is an optimisation, never the only guard.

PostgreSQL claims with a MATERIALIZED CTE `… FOR UPDATE SKIP LOCKED` and uses the database
clock; SQLite claims with one `UPDATE … RETURNING` inside the engine's BEGIN IMMEDIATE.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from db.schema import Job
from db.types import new_id, utcnow
from studio.errors import Conflict, InProgress, NotFound

jobs = Job.__table__

Executor = Connection | Session

BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 300.0
RATE_LIMIT_DEFAULT_S = 30.0
RATE_LIMIT_CAP_S = 600.0
MAX_RATE_LIMIT_WAITS = 10

STATUS_ORDER = {"running": 0, "pending": 1, "failed": 2, "completed": 3, "canceled": 4}


class LeaseLost(Conflict):
    """This worker no longer holds the job (it was reaped, cleared or finished elsewhere)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"Job {job_id[:8]} is no longer held by this worker; its result was discarded.")
        self.job_id = job_id


@dataclass(frozen=True)
class ClaimedJob:
    """A job as its worker sees it. `lease_token` proves the worker still holds it."""

    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    lease_token: str
    lease_owner: str
    owner_id: str | None
    concurrency_key: str | None
    sequence: int
    label: str | None
    stage: str = "processing"


def _lit(column: sa.ColumnElement[Any], value: str | bool) -> sa.ColumnElement[bool]:
    """Compare with an inline constant so the planner can match partial index predicates."""
    if isinstance(value, bool):
        # Untyped on purpose: SQLite would otherwise compile `held = 0`, which does not match
        # the partial index predicate `NOT held` and turns every claim into a table scan.
        ref = f"{column.table.name}.{column.name}"
        return sa.literal_column(ref if value else f"NOT {ref}")
    return column == sa.literal_column(f"'{value}'")


def _row_to_claimed(row: sa.Row[Any]) -> ClaimedJob:
    m = row._mapping
    return ClaimedJob(
        id=m["id"],
        kind=m["kind"],
        payload=m["payload"] or {},
        attempts=m["attempts"],
        max_attempts=m["max_attempts"],
        lease_token=m["lease_token"],
        lease_owner=m["lease_owner"],
        owner_id=m["owner_id"],
        concurrency_key=m["concurrency_key"],
        sequence=m["sequence"],
        label=m["label"],
        stage=m["stage"],
    )


def backoff_seconds(attempt: int, *, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with ±50% jitter: about 2, 4, 8 … seconds, at most 300."""
    base = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, attempt - 1))
    return min(BACKOFF_CAP_S, base * (0.5 + (rng or random).random()))


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
        "sequence": sequence,
        "owner_id": owner_id,
        "label": label,
        "cancel_requested": False,
        "cost_estimate": cost_estimate,
        "created_at": at,
    }


class JobQueue:
    """Queue operations. Each takes an optional executor (Connection or ORM Session) so callers
    can enqueue or finish inside their own transaction; without one it opens its own."""

    def __init__(
        self,
        engine: Engine,
        *,
        lease_seconds: int = 60,
        stale_seconds: int = 300,
        max_attempts: int = 3,
    ) -> None:
        self.engine = engine
        self.lease_seconds = lease_seconds
        self.stale_seconds = stale_seconds
        self.max_attempts = max_attempts
        self.is_pg = engine.dialect.name == "postgresql"

    # -- plumbing -------------------------------------------------------------------------

    @contextmanager
    def _tx(self, db: Executor | None) -> Iterator[Executor]:
        if db is not None:
            yield db
        else:
            with self.engine.begin() as conn:
                yield conn

    def _now(self) -> sa.ColumnElement[datetime]:
        """The database clock on PostgreSQL; the app's UTC clock on SQLite (one machine)."""
        if self.is_pg:
            return sa.func.now()
        return sa.literal(utcnow(), type_=jobs.c.created_at.type)

    def _in(self, seconds: float) -> sa.ColumnElement[datetime]:
        if self.is_pg:
            return sa.func.now() + sa.literal(timedelta(seconds=seconds))
        return sa.literal(utcnow() + timedelta(seconds=seconds), type_=jobs.c.created_at.type)

    def _lock_key(self, db: Executor, key: str) -> None:
        """Serialise changes to one key's head on PostgreSQL (SQLite is serialised already)."""
        if self.is_pg:
            db.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(key))))

    def _open_statuses(self, ordered: bool) -> tuple[str, ...]:
        return ("pending", "running", "failed") if ordered else ("pending", "running")

    def _head(self, db: Executor, key: str) -> sa.Row[Any] | None:
        """The first unfinished job of a key: the one everything after it waits on."""
        return db.execute(
            sa.select(jobs.c.id, jobs.c.status, jobs.c.ordered)
            .where(
                jobs.c.concurrency_key == key,
                sa.or_(
                    jobs.c.status.in_(("pending", "running")),
                    sa.and_(_lit(jobs.c.status, "failed"), _lit(jobs.c.ordered, True)),
                ),
            )
            .order_by(jobs.c.sequence, jobs.c.created_at, jobs.c.id)
            .limit(1)
        ).first()

    def _release_head(self, db: Executor, key: str | None) -> None:
        """After a keyed job moved on, let the key's new head be claimed."""
        if key is None:
            return
        self._lock_key(db, key)
        head = self._head(db, key)
        if head is not None and head.status == "pending":
            db.execute(
                jobs.update()
                .where(jobs.c.id == head.id, _lit(jobs.c.held, True))
                .values(held=False)
            )

    # -- enqueue --------------------------------------------------------------------------

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
        job_id: str | None = None,
    ) -> Job:
        """Add a job, or return the existing one when `idempotency_key` was used before."""
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
            )
            insert = (postgresql.insert if self.is_pg else sqlite.insert)(jobs).values(**values)
            if idempotency_key is not None:
                insert = insert.on_conflict_do_update(
                    index_elements=[jobs.c.idempotency_key],
                    index_where=jobs.c.idempotency_key.isnot(None),
                    set_={"idempotency_key": insert.excluded.idempotency_key},
                )
            row = tx.execute(insert.returning(*jobs.c)).one()
            return Job(**row._mapping)

    def start_exclusive(
        self, kind: str, payload: dict[str, Any], *, concurrency_key: str, db: Executor | None = None, **kw: Any
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

    # -- claim ----------------------------------------------------------------------------

    def _claimable(self, kinds: Sequence[str] | None) -> sa.ColumnElement[bool]:
        other = jobs.alias("other")
        no_running = ~sa.exists().where(
            other.c.concurrency_key == jobs.c.concurrency_key, _lit(other.c.status, "running")
        )
        earlier = sa.or_(
            other.c.sequence < jobs.c.sequence,
            sa.and_(other.c.sequence == jobs.c.sequence, other.c.created_at < jobs.c.created_at),
        )
        earlier_open = sa.or_(
            _lit(other.c.status, "pending"),
            sa.and_(_lit(other.c.status, "failed"), _lit(other.c.ordered, True)),
        )
        none_before = ~sa.exists().where(
            other.c.concurrency_key == jobs.c.concurrency_key, earlier_open, earlier
        )
        cond = sa.and_(
            _lit(jobs.c.status, "pending"),
            _lit(jobs.c.held, False),
            jobs.c.run_after <= self._now(),
            sa.or_(jobs.c.concurrency_key.is_(None), sa.and_(no_running, none_before)),
        )
        if kinds:
            cond = sa.and_(cond, jobs.c.kind.in_(list(kinds)))
        return cond

    def claim(
        self, worker_id: str, *, kinds: Sequence[str] | None = None, lease_seconds: int | None = None
    ) -> ClaimedJob | None:
        """Take the next claimable job under a fresh lease, or None when there is none."""
        lease = lease_seconds or self.lease_seconds
        token = str(uuid.uuid4())
        order = (jobs.c.priority, jobs.c.run_after, jobs.c.created_at)
        values = {
            "status": "running",
            "stage": "processing",
            "attempts": jobs.c.attempts + 1,
            "lease_owner": worker_id,
            "lease_token": token,
            "lease_expires_at": self._in(lease),
            "heartbeat_at": self._now(),
            "started_at": self._now(),
            "cancel_requested": False,
        }
        for _ in range(3):
            try:
                with self.engine.begin() as conn:
                    if self.is_pg:
                        pick = (
                            sa.select(jobs.c.id)
                            .where(self._claimable(kinds))
                            .order_by(*order)
                            .limit(1)
                            .with_for_update(skip_locked=True)
                            .cte("next_job")
                            .prefix_with("MATERIALIZED")
                        )
                        stmt = (
                            jobs.update()
                            .where(jobs.c.id == pick.c.id)
                            .values(**values)
                            .returning(*jobs.c)
                        )
                    else:
                        pick = (
                            sa.select(jobs.c.id)
                            .where(self._claimable(kinds))
                            .order_by(*order)
                            .limit(1)
                            .scalar_subquery()
                        )
                        stmt = jobs.update().where(jobs.c.id == pick).values(**values).returning(*jobs.c)
                    row = conn.execute(stmt).first()
                    return _row_to_claimed(row) if row is not None else None
            except sa.exc.IntegrityError:
                # Two workers took different jobs of one key at once: the unique index on
                # running keys let one win. This one claimed nothing; look again.
                continue
        return None

    # -- while running --------------------------------------------------------------------

    def heartbeat(self, job: ClaimedJob, *, stage: str | None = None, db: Executor | None = None) -> bool:
        """Extend the lease (and record the stage). Returns True when cancellation was asked.

        Raises LeaseLost when the job is no longer this worker's."""
        values: dict[str, Any] = {
            "heartbeat_at": self._now(),
            "lease_expires_at": self._in(self.lease_seconds),
        }
        if stage is not None:
            values["stage"] = stage
        with self._tx(db) as tx:
            row = self._update_held(tx, job, values, jobs.c.cancel_requested)
        return bool(row.cancel_requested)

    def _update_held(
        self, tx: Executor, job: ClaimedJob, values: dict[str, Any], *returning: sa.ColumnElement[Any]
    ) -> sa.Row[Any]:
        """Update a running job only while `job`'s lease token still holds it; else LeaseLost."""
        row = tx.execute(
            jobs.update()
            .where(
                jobs.c.id == job.id,
                jobs.c.lease_token == job.lease_token,
                _lit(jobs.c.status, "running"),
            )
            .values(**values)
            .returning(*returning)
        ).first()
        if row is None:
            raise LeaseLost(job.id)
        return row

    def _settle(self, tx: Executor, job: ClaimedJob, values: dict[str, Any]) -> sa.Row[Any]:
        return self._update_held(tx, job, values, jobs.c.status, jobs.c.concurrency_key)

    _CLEAR_LEASE: dict[str, Any] = {"lease_token": None, "lease_owner": None, "lease_expires_at": None}

    def finish(
        self,
        job: ClaimedJob,
        *,
        result: dict[str, Any] | None = None,
        cost_actual: float | None = None,
        db: Executor | None = None,
    ) -> None:
        """Mark the job completed. Pass the handler's session as `db` so its outputs commit
        together with the completion, or not at all when the lease was lost."""
        with self._tx(db) as tx:
            row = self._settle(
                tx,
                job,
                {
                    "status": "completed",
                    "stage": "completed",
                    "completed_at": self._now(),
                    "result": result,
                    "cost_actual": cost_actual,
                    "last_error": None,
                    "error_class": None,
                    **self._CLEAR_LEASE,
                },
            )
            self._release_head(tx, row.concurrency_key)

    def mark_canceled(self, job: ClaimedJob, *, db: Executor | None = None) -> None:
        """The worker saw a cancel request at a stage boundary and discarded its work."""
        with self._tx(db) as tx:
            row = self._settle(
                tx,
                job,
                {
                    "status": "canceled",
                    "completed_at": self._now(),
                    "last_error": "Canceled while running; the result was discarded.",
                    **self._CLEAR_LEASE,
                },
            )
            self._release_head(tx, row.concurrency_key)

    def fail(
        self,
        job: ClaimedJob,
        *,
        error_class: str,
        message: str,
        stage: str | None = None,
        retry_after_s: float | None = None,
        db: Executor | None = None,
    ) -> str:
        """Record a failure and decide what happens next. Returns the job's new status:
        'pending' when it will be retried, 'failed' when it will not."""
        with self._tx(db) as tx:
            current = tx.execute(
                sa.select(jobs.c.attempts, jobs.c.max_attempts, jobs.c.rate_limit_waits, jobs.c.stage)
                .where(jobs.c.id == job.id, jobs.c.lease_token == job.lease_token)
            ).first()
            if current is None:
                raise LeaseLost(job.id)
            values: dict[str, Any] = {
                "error_class": error_class,
                "last_error": message[:4000],
                "failure_stage": stage or current.stage,
                **self._CLEAR_LEASE,
            }
            retry_in: float | None = None
            if error_class == "rate_limit" and current.rate_limit_waits < MAX_RATE_LIMIT_WAITS:
                # Waiting for the provider's quota is not the job's fault: no attempt spent.
                retry_in = min(RATE_LIMIT_CAP_S, retry_after_s or RATE_LIMIT_DEFAULT_S)
                values["attempts"] = jobs.c.attempts - 1
                values["rate_limit_waits"] = jobs.c.rate_limit_waits + 1
            elif error_class in ("temporary", "unknown", "rate_limit") and (
                current.attempts < current.max_attempts
            ):
                retry_in = backoff_seconds(current.attempts)
            if retry_in is not None:
                values.update(status="pending", stage="queued", run_after=self._in(retry_in))
            else:
                values.update(status="failed", completed_at=self._now())
            row = self._settle(tx, job, values)
            return str(row.status)

    # -- editors and housekeeping --------------------------------------------------------

    def get(self, job_id: str, *, db: Executor | None = None) -> Job:
        with self._tx(db) as tx:
            row = tx.execute(sa.select(*jobs.c).where(jobs.c.id == job_id)).first()
        if row is None:
            raise NotFound("That job does not exist (it may have been pruned).")
        return Job(**row._mapping)

    def requeue(self, job_id: str, *, db: Executor | None = None) -> Job:
        """A failed (or canceled) job goes back to pending: same row, same place in its key's
        order, retry_count + 1, a fresh set of attempts."""
        with self._tx(db) as tx:
            row = tx.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.status.in_(("failed", "canceled")))
                .values(
                    status="pending",
                    stage="queued",
                    attempts=0,
                    rate_limit_waits=0,
                    retry_count=jobs.c.retry_count + 1,
                    run_after=self._now(),
                    completed_at=None,
                    cancel_requested=False,
                    held=True,
                )
                .returning(jobs.c.concurrency_key)
            ).first()
            if row is None:
                job = self.get(job_id, db=tx)
                raise Conflict(f"Only failed or canceled jobs can be requeued; this one is {job.status}.")
            if row.concurrency_key is None:
                tx.execute(jobs.update().where(jobs.c.id == job_id).values(held=False))
            else:
                self._release_head(tx, row.concurrency_key)
            return self.get(job_id, db=tx)

    def cancel(self, job_id: str, *, db: Executor | None = None) -> str:
        """Skip a pending or failed job at once; ask a running one to stop at its next stage.
        Returns the resulting status ('canceled' or 'running' with the request recorded)."""
        with self._tx(db) as tx:
            row = tx.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.status.in_(("pending", "failed")))
                .values(
                    status="canceled",
                    completed_at=self._now(),
                    last_error=sa.func.coalesce(jobs.c.last_error, "Skipped by an editor."),
                )
                .returning(jobs.c.concurrency_key)
            ).first()
            if row is not None:
                self._release_head(tx, row.concurrency_key)
                return "canceled"
            row = tx.execute(
                jobs.update()
                .where(jobs.c.id == job_id, _lit(jobs.c.status, "running"))
                .values(cancel_requested=True)
                .returning(jobs.c.id)
            ).first()
            if row is not None:
                return "running"
            job = self.get(job_id, db=tx)
            raise Conflict(f"This job is already {job.status}; there is nothing to cancel.")

    def clear(self, job_id: str, *, reason: str | None = None, db: Executor | None = None) -> None:
        """Fail a stuck running job with a clear reason and revoke its lease, so whatever its
        worker sends later is rejected."""
        message = reason or "Cleared by an editor: the job was stuck."
        with self._tx(db) as tx:
            row = tx.execute(
                jobs.update()
                .where(jobs.c.id == job_id, _lit(jobs.c.status, "running"))
                .values(
                    status="failed",
                    failure_stage=jobs.c.stage,
                    error_class="unknown",
                    last_error=message,
                    completed_at=self._now(),
                    **self._CLEAR_LEASE,
                )
                .returning(jobs.c.concurrency_key, jobs.c.ordered)
            ).first()
            if row is None:
                job = self.get(job_id, db=tx)
                raise Conflict(f"Only running jobs can be cleared; this one is {job.status}.")
            if not row.ordered:
                self._release_head(tx, row.concurrency_key)

    def reap(self, *, db: Executor | None = None) -> int:
        """Running jobs whose lease expired go back to pending, or fail when out of attempts.
        Returns how many jobs were reaped."""
        with self._tx(db) as tx:
            expired = tx.execute(
                sa.select(jobs.c.id, jobs.c.attempts, jobs.c.max_attempts, jobs.c.concurrency_key, jobs.c.ordered)
                .where(_lit(jobs.c.status, "running"), jobs.c.lease_expires_at < self._now())
            ).all()
            for job in expired:
                out_of_attempts = job.attempts >= job.max_attempts
                values: dict[str, Any] = {
                    "error_class": "temporary",
                    "failure_stage": jobs.c.stage,
                    **self._CLEAR_LEASE,
                }
                if out_of_attempts:
                    values.update(
                        status="failed",
                        completed_at=self._now(),
                        last_error=f"The worker stopped responding {job.attempts} time(s); giving up.",
                    )
                else:
                    values.update(
                        status="pending",
                        stage="queued",
                        run_after=self._now(),
                        last_error="The worker stopped responding; the job was put back in the queue.",
                    )
                tx.execute(
                    jobs.update()
                    .where(jobs.c.id == job.id, _lit(jobs.c.status, "running"), jobs.c.lease_expires_at < self._now())
                    .values(**values)
                )
                if not out_of_attempts or not job.ordered:
                    self._release_head(tx, job.concurrency_key)
            return len(expired)

    def prune(self, *, older_than: timedelta, db: Executor | None = None) -> int:
        """Delete completed and canceled jobs finished before now - older_than."""
        cutoff = datetime.now(UTC) - older_than
        with self._tx(db) as tx:
            result = tx.execute(
                jobs.delete().where(
                    jobs.c.status.in_(("completed", "canceled")), jobs.c.completed_at < cutoff
                )
            )
            return int(result.rowcount or 0)
