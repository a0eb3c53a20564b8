"""What editors and housekeeping do to jobs: requeue, cancel (skip), clear a stuck job, reap
expired leases, prune old rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from db.schema import Job
from studio.errors import Conflict
from studio.jobs.base import Executor, QueueBase
from studio.jobs.statements import CLEAR_LEASE, jobs, lit

# After these, a job's stored provider operation is not resumed on requeue: the operation
# itself failed or was refused, so trying again means starting a new one.
FINAL_OPERATION_ERRORS = ("permanent", "safety")


@dataclass(frozen=True)
class Actor:
    """Who does an editor action: their owner id, and the name the Jobs page shows."""

    id: str
    name: str | None = None

    @property
    def shown(self) -> str:
        return self.name or self.id


class EditorActions(QueueBase):
    """Requeue, cancel, clear, reap and prune (mixed into JobQueue). Requeue, cancel and clear
    record who did them when given an `actor`."""

    def _acted(self, actor: Actor | None, action: str) -> dict[str, Any]:
        if actor is None:
            return {}
        return {
            "editor_action": action,
            "editor_id": actor.id,
            "editor_name": actor.name,
            "editor_action_at": self._now(),
        }

    def requeue(
        self, job_id: str, *, actor: Actor | None = None, db: Executor | None = None
    ) -> Job:
        """A failed (or canceled) job goes back to pending: same row, same place in its key's
        order, retry_count + 1, a fresh set of attempts. A provider operation it started is
        resumed, unless the job failed for good (a refusal, a failed operation): then the
        requeued job starts a new one."""
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
                    provider_operation=sa.case(
                        (jobs.c.error_class.in_(FINAL_OPERATION_ERRORS), None),
                        else_=jobs.c.provider_operation,
                    ),
                    **self._acted(actor, "requeued"),
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

    def cancel(self, job_id: str, *, actor: Actor | None = None, db: Executor | None = None) -> str:
        """Skip a pending or failed job at once; ask a running one to stop at its next stage.
        Returns the resulting status ('canceled' or 'running' with the request recorded)."""
        with self._tx(db) as tx:
            row = tx.execute(
                jobs.update()
                .where(jobs.c.id == job_id, jobs.c.status.in_(("pending", "failed")))
                .values(
                    status="canceled",
                    completed_at=self._now(),
                    last_error=sa.func.coalesce(
                        jobs.c.last_error,
                        f"Skipped by {actor.shown}." if actor else "Skipped by an editor.",
                    ),
                    **self._acted(actor, "skipped"),
                )
                .returning(jobs.c.concurrency_key)
            ).first()
            if row is not None:
                self._release_head(tx, row.concurrency_key)
                return "canceled"
            row = tx.execute(
                jobs.update()
                .where(jobs.c.id == job_id, lit(jobs.c.status, "running"))
                .values(cancel_requested=True, **self._acted(actor, "cancel requested"))
                .returning(jobs.c.id)
            ).first()
            if row is not None:
                return "running"
            job = self.get(job_id, db=tx)
            raise Conflict(f"This job is already {job.status}; there is nothing to cancel.")

    def clear(
        self,
        job_id: str,
        *,
        reason: str | None = None,
        actor: Actor | None = None,
        db: Executor | None = None,
    ) -> None:
        """Fail a stuck running job with a clear reason and revoke its lease, so whatever its
        worker sends later is rejected."""
        who = actor.shown if actor else "an editor"
        message = reason or f"Cleared by {who}: the job was stuck."
        with self._tx(db) as tx:
            row = tx.execute(
                jobs.update()
                .where(jobs.c.id == job_id, lit(jobs.c.status, "running"))
                .values(
                    status="failed",
                    failure_stage=jobs.c.stage,
                    error_class="unknown",
                    last_error=message,
                    completed_at=self._now(),
                    **CLEAR_LEASE,
                    **self._acted(actor, "cleared"),
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
                ).where(lit(jobs.c.status, "running"), jobs.c.lease_expires_at < self._now())
            ).all()
            for job in expired:
                out_of_attempts = job.attempts >= job.max_attempts
                values: dict[str, Any] = {
                    "error_class": "temporary",
                    "failure_stage": jobs.c.stage,
                    **CLEAR_LEASE,
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
                        lit(jobs.c.status, "running"),
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
            return int(getattr(result, "rowcount", 0) or 0)
