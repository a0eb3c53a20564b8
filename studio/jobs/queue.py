"""The job queue: one table, one mechanism, every kind of work.

Guarantees, on SQLite and PostgreSQL alike:
- enqueue with an idempotency key returns the existing job (ON CONFLICT … RETURNING);
- a job is claimed by one worker at a time, under a lease identified by `lease_token`; finishing,
  failing and heart-beating all check the token, so a worker that lost its lease changes nothing;
- jobs sharing a concurrency key run one at a time, in (sequence, created_at) order; for an
  `ordered` key (verses of a song) a failed job holds the later ones until requeued or skipped.

This module is what workers (claim, heartbeat, finish, fail) use; producers' enqueue and
start_exclusive are in producers.py, editors' actions in admin.py, the prebuilt SQL in statements.py, the retry policy
in retry.py. A worker's hot path runs prebuilt statements; a step that is a single statement runs
in autocommit on PostgreSQL (one round trip, no BEGIN/COMMIT) and inside BEGIN IMMEDIATE on
SQLite. A worker slot holds one connection for those steps (`connect`) and completes a job and
claims its next one in a single step (`finish_and_claim`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from studio.jobs import retry
from studio.jobs.base import Executor, LeaseLost, check_held
from studio.jobs.controls import QueueControls
from studio.jobs.producers import DuplicateKey, Producers, pending_job_values
from studio.jobs.statements import (
    CLEAR_LEASE,
    ClaimedJob,
    claim_statement,
    claimed,
    finish_and_claim_statement,
    finish_params,
    finish_statement,
    jobs,
    kinds_key,
)
from studio.jobs.wakeup import announce

__all__ = ["ClaimedJob", "DuplicateKey", "JobQueue", "LeaseLost", "jobs", "pending_job_values"]


class JobQueue(Producers, QueueControls):
    """Queue operations for producers (Producers: enqueue, start_exclusive) and workers (here),
    plus the editors' actions on jobs (EditorActions) and on the queue as a whole
    (QueueControls: pause, caps, order)."""

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
            claim_statement(self.is_pg, kinds_key(kinds)),
            self._claim_params(worker_id, lease_seconds),
        ).first()
        return claimed(row)

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
        params = {**finish_params(job, result, cost_actual), **self._clock()}
        if db is None and job.concurrency_key is None:
            # No later job of a key to hand on to: the completion is one statement.
            with self._step(conn) as step:
                check_held(step.execute(finish_statement(self.is_pg), params).first(), job)
            return
        with self._tx(db) as tx:
            check_held(tx.execute(finish_statement(self.is_pg), params).first(), job)
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
                **finish_params(job, result, cost_actual),
                **self._claim_params(worker_id, None),
            }
            try:
                with self._step(conn) as step:
                    row = step.execute(finish_and_claim_statement(kinds_key(kinds)), params).one()
            except sa.exc.IntegrityError:
                pass  # the claim met another on one key, and nothing was written: do it in two
            else:
                if not row.finished:
                    raise LeaseLost(job.id)
                return claimed(row)
        self.finish(job, result=result, cost_actual=cost_actual, conn=conn)
        return self.claim(worker_id, kinds=kinds, conn=conn)

    def record_operation(self, job: ClaimedJob, name: str, *, db: Executor | None = None) -> None:
        """Store the provider operation `job` just started (a video), committed on its own and
        only while the lease holds (else LeaseLost): a later claim of the job resumes it. Also a
        heartbeat: the lease is extended."""
        with self._tx(db) as tx:
            now = self._now()
            values = {
                "provider_operation": name,
                "provider_operation_at": now,
                "heartbeat_at": now,
                "lease_expires_at": self._in(self.lease_seconds),
            }
            self._update_held(tx, job, values, jobs.c.id)

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
                    **CLEAR_LEASE,
                },
            )
            self._release_head(tx, row.concurrency_key)

    def hand_back(self, job: ClaimedJob, *, reason: str) -> None:
        """Put a job its worker cannot finish back in the queue, at once and without spending
        its attempt: the worker's thread is being stopped (not the job's fault). Raises
        LeaseLost when the job is no longer this worker's (e.g. it completed already)."""
        with self._tx(None) as tx:
            self._settle(
                tx,
                job,
                {
                    "status": "pending",
                    "stage": "queued",
                    "run_after": self._now(),
                    "attempts": jobs.c.attempts - 1,
                    "last_error": reason,
                    **CLEAR_LEASE,
                },
            )
            announce(tx, self.wakeup, is_pg=self.is_pg, own=True)
        self.wakeup.raise_()

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
                **CLEAR_LEASE,
            }
            decision = retry.decide(
                error_class,
                attempts=current.attempts,
                max_attempts=current.max_attempts,
                rate_limit_waits=current.rate_limit_waits,
                retry_after_s=retry_after_s,
            )
            retry_in = decision.retry_in
            if decision.free:  # waiting for the provider's quota is not the job's fault
                values["attempts"] = jobs.c.attempts - 1
                values["rate_limit_waits"] = jobs.c.rate_limit_waits + 1
            if retry_in is not None:
                values.update(status="pending", stage="queued", run_after=self._in(retry_in))
            else:
                values.update(status="failed", completed_at=self._now())
            row = self._settle(tx, job, values)
            return str(row.status)
