"""What every part of the queue shares: the engine, transactions and steps, the clock, the
lease check, and the heads of concurrency keys.

Keyed jobs that are not the head of their key are marked `held`, which keeps them out of the
partial claim index; `release_head` clears the mark when the head moves on. The claim predicate
still checks the key's state itself, so `held` is an optimisation, never the only guard.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from db.schema import Job
from db.types import utcnow
from studio.errors import Conflict, NotFound
from studio.jobs.statements import ClaimedJob, jobs, lit

Executor = Connection | Session


class LeaseLost(Conflict):
    """This worker no longer holds the job (it was reaped, cleared or finished elsewhere)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(
            f"Job {job_id[:8]} is no longer held by this worker; its result was discarded."
        )
        self.job_id = job_id


def check_held(row: sa.Row[Any] | None, job: ClaimedJob) -> None:
    """A lease-checked update matched no row: the job is no longer `job`'s worker's."""
    if row is None:
        raise LeaseLost(job.id)


class QueueBase:
    """The engine and the helpers every queue operation uses. Each operation takes an optional
    executor (Connection or ORM Session) so callers can act inside their own transaction;
    without one it opens its own."""

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

    def _head(self, db: Executor, key: str) -> Any | None:
        """The first unfinished job of a key: the one everything after it waits on."""
        return db.execute(
            sa.select(jobs.c.id, jobs.c.status, jobs.c.ordered)
            .where(
                jobs.c.concurrency_key == key,
                sa.or_(
                    jobs.c.status.in_(("pending", "running")),
                    sa.and_(lit(jobs.c.status, "failed"), lit(jobs.c.ordered, True)),
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
                jobs.update().where(jobs.c.id == head.id, lit(jobs.c.held, True)).values(held=False)
            )

    def get(self, job_id: str, *, db: Executor | None = None) -> Job:
        with self._tx(db) as tx:
            row = tx.execute(sa.select(*jobs.c).where(jobs.c.id == job_id)).first()
        if row is None:
            raise NotFound("That job does not exist (it may have been pruned).")
        return Job(**row._mapping)

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
                lit(jobs.c.status, "running"),
            )
            .values(**values)
            .returning(*returning)
        ).first()
        if row is None:
            raise LeaseLost(job.id)
        return row

    def _settle(self, tx: Executor, job: ClaimedJob, values: dict[str, Any]) -> sa.Row[Any]:
        return self._update_held(tx, job, values, jobs.c.status, jobs.c.concurrency_key)
