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

The worker's hot path (claim, finish) runs statements built once per process, with the clock,
the lease and the ids as bind parameters. A step that is a single statement runs in autocommit
on PostgreSQL (the statement is its own transaction: one round trip, no BEGIN/COMMIT) and inside
BEGIN IMMEDIATE on SQLite. A worker slot holds one connection for those steps (`connect`) and
completes a job and claims its next one in a single step (`finish_and_claim`).
"""

from __future__ import annotations

import dataclasses
import functools
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
        super().__init__(
            f"Job {job_id[:8]} is no longer held by this worker; its result was discarded."
        )
        self.job_id = job_id


class DuplicateKey(Exception):
    """`enqueue(..., new_only=True)` found its idempotency key already used: a concurrent
    submission of the same form got there first. The caller's transaction rolls back, and the
    caller returns what that submission made; `job` is its job."""

    def __init__(self, job: Job) -> None:
        super().__init__(f"idempotency key already used by job {job.id}")
        self.job = job


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


# -- statements built once ------------------------------------------------------------------
#
# The claim and finish statements are built once per process (per database kind and `kinds`
# filter) rather than per call: building a statement costs far more than running it. Their
# variable parts are bind parameters: `worker_id` and `claim_token` for a claim, `job_id`,
# `job_token`, `job_result` and `job_cost` for a finish, and the clock (see `JobQueue._clock`).

_other = jobs.alias("other")  # another job of the same concurrency key
_TIMESTAMP = jobs.c.created_at.type
_CLAIM_ORDER = (jobs.c.priority, jobs.c.run_after, jobs.c.created_at)
# A claim returns what its worker needs, not the whole row.
_CLAIMED_FIELDS = tuple(f.name for f in dataclasses.fields(ClaimedJob))
_CLAIMED_COLUMNS = tuple(jobs.c[name] for name in _CLAIMED_FIELDS)
_CLEAR_LEASE: dict[str, Any] = {"lease_token": None, "lease_owner": None, "lease_expires_at": None}


def _claimed(row: sa.Row[Any] | None) -> ClaimedJob | None:
    if row is None or row.id is None:
        return None
    m = row._mapping
    return ClaimedJob(**{name: m[name] for name in _CLAIMED_FIELDS})


def _kinds_key(kinds: Sequence[str] | None) -> tuple[str, ...] | None:
    return tuple(sorted(set(kinds))) if kinds else None


def _finish_params(
    job: ClaimedJob, result: dict[str, Any] | None, cost_actual: float | None
) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "job_token": job.lease_token,
        "job_result": result,
        "job_cost": cost_actual,
    }


def _check_held(row: sa.Row[Any] | None, job: ClaimedJob) -> None:
    """A lease-checked update matched no row: the job is no longer `job`'s worker's."""
    if row is None:
        raise LeaseLost(job.id)


def _now_param(postgres: bool) -> sa.ColumnElement[datetime]:
    """`now` in a prebuilt statement: the database clock on PostgreSQL, the `now` parameter
    (the app's UTC clock) on SQLite."""
    return sa.func.now() if postgres else sa.bindparam("now", type_=_TIMESTAMP)


def _lease_end_param(postgres: bool) -> sa.ColumnElement[datetime]:
    """When a lease taken now ends: now() + the `lease` interval on PostgreSQL, the `lease_end`
    parameter on SQLite."""
    if postgres:
        return sa.func.now() + sa.bindparam("lease", type_=sa.Interval())
    return sa.bindparam("lease_end", type_=_TIMESTAMP)


def _claimable(
    now: sa.ColumnElement[datetime], kinds: tuple[str, ...] | None
) -> sa.ColumnElement[bool]:
    """Pending, not held, due, of one of `kinds`, and, when keyed, the head of an idle key: no
    job of its key is running and no earlier one is pending (or failed, for an ordered key)."""
    no_running = ~sa.exists().where(
        _other.c.concurrency_key == jobs.c.concurrency_key, _lit(_other.c.status, "running")
    )
    earlier = sa.or_(
        _other.c.sequence < jobs.c.sequence,
        sa.and_(_other.c.sequence == jobs.c.sequence, _other.c.created_at < jobs.c.created_at),
    )
    earlier_open = sa.or_(
        _lit(_other.c.status, "pending"),
        sa.and_(_lit(_other.c.status, "failed"), _lit(_other.c.ordered, True)),
    )
    none_before = ~sa.exists().where(
        _other.c.concurrency_key == jobs.c.concurrency_key, earlier_open, earlier
    )
    cond = sa.and_(
        _lit(jobs.c.status, "pending"),
        _lit(jobs.c.held, False),
        jobs.c.run_after <= now,
        sa.or_(jobs.c.concurrency_key.is_(None), sa.and_(no_running, none_before)),
    )
    if kinds:
        cond = sa.and_(cond, jobs.c.kind.in_(kinds))
    return cond


def _claim_update(
    postgres: bool, kinds: tuple[str, ...] | None, *also: sa.ColumnElement[bool]
) -> sa.Update:
    """Take the next claimable job (and `also` holds) under the lease (`worker_id`,
    `claim_token`), counting an attempt."""
    now = _now_param(postgres)
    pick = (
        sa.select(jobs.c.id)
        .where(_claimable(now, kinds), *also)
        .order_by(*_CLAIM_ORDER)
        # A literal LIMIT: with a parameter there, PostgreSQL's generic plan for the prepared
        # claim looks dearer than a custom one, so it would plan every execution anew.
        .limit(sa.literal_column("1"))
    )
    if postgres:
        next_job = (
            pick.with_for_update(skip_locked=True).cte("next_job").prefix_with("MATERIALIZED")
        )
        target = jobs.c.id == next_job.c.id
    else:
        target = jobs.c.id == pick.scalar_subquery()
    return (
        jobs.update()
        .where(target)
        .values(
            status="running",
            stage="processing",
            attempts=jobs.c.attempts + 1,
            lease_owner=sa.bindparam("worker_id"),
            lease_token=sa.bindparam("claim_token"),
            lease_expires_at=_lease_end_param(postgres),
            heartbeat_at=now,
            started_at=now,
            cancel_requested=False,
        )
        .returning(*_CLAIMED_COLUMNS)
    )


def _finish_update(postgres: bool) -> sa.Update:
    """Complete job `job_id` while lease `job_token` still holds it; returns its id if it did."""
    return (
        jobs.update()
        .where(
            jobs.c.id == sa.bindparam("job_id"),
            jobs.c.lease_token == sa.bindparam("job_token"),
            _lit(jobs.c.status, "running"),
        )
        .values(
            status="completed",
            stage="completed",
            completed_at=_now_param(postgres),
            result=sa.bindparam("job_result", type_=jobs.c.result.type),
            cost_actual=sa.bindparam("job_cost", type_=jobs.c.cost_actual.type),
            last_error=None,
            error_class=None,
            **_CLEAR_LEASE,
        )
        .returning(jobs.c.id)
    )


@functools.cache
def _claim_statement(postgres: bool, kinds: tuple[str, ...] | None) -> sa.Update:
    return _claim_update(postgres, kinds)


@functools.cache
def _finish_statement(postgres: bool) -> sa.Update:
    return _finish_update(postgres)


@functools.cache
def _finish_and_claim_statement(kinds: tuple[str, ...] | None) -> sa.Select[Any]:
    """PostgreSQL: finish one unkeyed job and claim the next in one statement.

        WITH done AS (UPDATE … finish … RETURNING id),
             next_job AS MATERIALIZED (SELECT id … WHERE claimable AND EXISTS (SELECT FROM done)
                                       … LIMIT 1 FOR UPDATE SKIP LOCKED),
             claimed AS (UPDATE … claim … FROM next_job RETURNING …)
        SELECT finished, claimed.* FROM (SELECT count(*) AS finished FROM done) LEFT JOIN claimed

    The claim waits on nothing the finish did (all parts see one snapshot, in which the finished
    job is still running), and claims only when the finish succeeded: `finished` = 0 means the
    lease was lost and nothing changed."""
    done = _finish_update(True).cte("done")
    claimed = _claim_update(True, kinds, sa.exists(done.select())).cte("claimed")
    finished = sa.select(sa.func.count().label("finished")).select_from(done).subquery("finished")
    return sa.select(finished.c.finished, *claimed.c).select_from(
        finished.outerjoin(claimed, sa.true())
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

    def connect(self) -> Connection:
        """A connection for one worker slot to hold and pass as `conn` to `claim`, `finish` and
        `finish_and_claim`, so its steps skip the pool checkout (and pre-ping). On PostgreSQL it
        is in autocommit mode. Use it from one thread at a time; close it when the slot stops."""
        conn = self.engine.connect()
        if self.is_pg:
            conn.execution_options(isolation_level="AUTOCOMMIT")
        return conn

    @contextmanager
    def _step(self, conn: Connection | None) -> Iterator[Connection]:
        """One atomic step on `conn` (or on a connection of its own). SQLite: a BEGIN IMMEDIATE
        transaction. PostgreSQL: autocommit, so a step must be a single statement there; it is
        its own transaction and costs one round trip, with no BEGIN or COMMIT."""
        if conn is None:
            with self.connect() as own, own.begin():
                yield own
        else:
            with conn.begin():
                yield conn

    def _clock(self, lease_seconds: float = 0.0) -> dict[str, Any]:
        """Values for the clock parameters of the prebuilt statements (`_now_param`,
        `_lease_end_param`): only the lease length on PostgreSQL, whose clock is now()."""
        if self.is_pg:
            return {"lease": timedelta(seconds=lease_seconds)}
        now = utcnow()
        return {"now": now, "lease_end": now + timedelta(seconds=lease_seconds)}

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
        new_only: bool = False,
    ) -> Job:
        """Add a job, or return the existing one when `idempotency_key` was used before (with
        `new_only`, raise DuplicateKey instead: the caller wrote rows for a new job)."""
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
            job = Job(**row._mapping)
            if new_only and job.id != new:
                raise DuplicateKey(job)
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

    # -- claim ----------------------------------------------------------------------------

    def claim(
        self,
        worker_id: str,
        *,
        kinds: Sequence[str] | None = None,
        lease_seconds: int | None = None,
        conn: Connection | None = None,
    ) -> ClaimedJob | None:
        """Take the next claimable job under a fresh lease, or None when there is none.
        `conn`: the connection a worker slot holds (see `connect`)."""
        for _ in range(3):
            try:
                with self._step(conn) as step:
                    return self._claim_in(step, worker_id, kinds, lease_seconds)
            except sa.exc.IntegrityError:
                # Two workers took different jobs of one key at once: the unique index on
                # running keys let one win. This one claimed nothing; look again.
                continue
        return None

    def _claim_in(
        self,
        step: Connection,
        worker_id: str,
        kinds: Sequence[str] | None = None,
        lease_seconds: int | None = None,
    ) -> ClaimedJob | None:
        row = step.execute(
            _claim_statement(self.is_pg, _kinds_key(kinds)),
            self._claim_params(worker_id, lease_seconds),
        ).first()
        return _claimed(row)

    def _claim_params(self, worker_id: str, lease_seconds: int | None) -> dict[str, Any]:
        return {
            "worker_id": worker_id,
            "claim_token": str(uuid.uuid4()),
            **self._clock(lease_seconds or self.lease_seconds),
        }

    # -- while running --------------------------------------------------------------------

    def heartbeat(
        self, job: ClaimedJob, *, stage: str | None = None, db: Executor | None = None
    ) -> bool:
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
        self,
        tx: Executor,
        job: ClaimedJob,
        values: dict[str, Any],
        *returning: sa.ColumnElement[Any],
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

    def finish(
        self,
        job: ClaimedJob,
        *,
        result: dict[str, Any] | None = None,
        cost_actual: float | None = None,
        db: Executor | None = None,
        conn: Connection | None = None,
    ) -> None:
        """Mark the job completed. Pass the handler's session as `db` so its outputs commit
        together with the completion, or not at all when the lease was lost. `conn`: the
        connection a worker slot holds (see `connect`), used when `db` is not given."""
        params = {**_finish_params(job, result, cost_actual), **self._clock()}
        if db is None and job.concurrency_key is None:
            # No later job of a key to hand on to: the completion is one statement.
            with self._step(conn) as step:
                _check_held(step.execute(_finish_statement(self.is_pg), params).first(), job)
            return
        with self._tx(db) as tx:
            _check_held(tx.execute(_finish_statement(self.is_pg), params).first(), job)
            self._release_head(tx, job.concurrency_key)

    def finish_and_claim(
        self,
        job: ClaimedJob,
        worker_id: str,
        *,
        result: dict[str, Any] | None = None,
        cost_actual: float | None = None,
        kinds: Sequence[str] | None = None,
        conn: Connection | None = None,
    ) -> ClaimedJob | None:
        """Complete `job` and claim the next job for `worker_id` (what `finish` and `claim`
        do), as one step where the database allows: a worker slot between two jobs.

        PostgreSQL: one statement when `job` has no concurrency key, else the two steps apart.
        SQLite: one transaction. Raises LeaseLost, having claimed nothing, when `job` is no
        longer this worker's."""
        if not self.is_pg:
            with self._step(conn) as step:  # one BEGIN IMMEDIATE transaction
                self.finish(job, result=result, cost_actual=cost_actual, db=step)
                return self._claim_in(step, worker_id, kinds)
        if job.concurrency_key is None:
            params = {
                **_finish_params(job, result, cost_actual),
                **self._claim_params(worker_id, None),
            }
            try:
                with self._step(conn) as step:
                    row = step.execute(_finish_and_claim_statement(_kinds_key(kinds)), params).one()
            except sa.exc.IntegrityError:
                pass  # the claim met another on one key, and nothing was written: do it in two
            else:
                if not row.finished:
                    raise LeaseLost(job.id)
                return _claimed(row)
        self.finish(job, result=result, cost_actual=cost_actual, conn=conn)
        return self.claim(worker_id, kinds=kinds, conn=conn)

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
                    **_CLEAR_LEASE,
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
                sa.select(
                    jobs.c.attempts, jobs.c.max_attempts, jobs.c.rate_limit_waits, jobs.c.stage
                ).where(jobs.c.id == job.id, jobs.c.lease_token == job.lease_token)
            ).first()
            if current is None:
                raise LeaseLost(job.id)
            values: dict[str, Any] = {
                "error_class": error_class,
                "last_error": message[:4000],
                "failure_stage": stage or current.stage,
                **_CLEAR_LEASE,
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
                raise Conflict(
                    f"Only failed or canceled jobs can be requeued; this one is {job.status}."
                )
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
                    **_CLEAR_LEASE,
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
                sa.select(
                    jobs.c.id,
                    jobs.c.attempts,
                    jobs.c.max_attempts,
                    jobs.c.concurrency_key,
                    jobs.c.ordered,
                ).where(_lit(jobs.c.status, "running"), jobs.c.lease_expires_at < self._now())
            ).all()
            for job in expired:
                out_of_attempts = job.attempts >= job.max_attempts
                values: dict[str, Any] = {
                    "error_class": "temporary",
                    "failure_stage": jobs.c.stage,
                    **_CLEAR_LEASE,
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
                    .where(
                        jobs.c.id == job.id,
                        _lit(jobs.c.status, "running"),
                        jobs.c.lease_expires_at < self._now(),
                    )
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
