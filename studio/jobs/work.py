"""How a piece of work done by a job shows its state: one rule for every kind of work.

A session step, a storyboard request and a song verse each have a job that does them. Their
state is never copied into their own rows: it is derived, when read, from the job and from what
the work itself produced. The row records only outcomes its handler wrote in the transaction
that completed the job (its output, and, for a job that does several pieces of work, a piece's
own refusal); everything else — queued, running and at which stage, retried, failed, canceled,
requeued by an editor, cleared, reaped — is the job's status, so no transition of the queue can
leave a copy behind.

A piece of work whose job is gone (pruned, which happens only to completed and canceled jobs)
and that produced nothing reads as canceled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import sqlalchemy as sa

from db.schema import Job, table

jobs = table(Job)

WORK_STATUSES = ("queued", "running", "succeeded", "failed", "canceled")
ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "canceled")

# The job statuses during which its work is in flight (what "active" means in SQL).
ACTIVE_JOB_STATUSES = ("pending", "running")

# The job columns `work_state` reads; select them (labelled as here) with the work's rows.
JOB_COLUMNS = (
    jobs.c.status.label("job_status"),
    jobs.c.stage.label("job_stage"),
    jobs.c.cancel_requested.label("job_cancel_requested"),
    jobs.c.last_error.label("job_last_error"),
    jobs.c.error_class.label("job_error_class"),
    jobs.c.run_after.label("job_run_after"),
)


class JobFields(Protocol):
    """A row carrying the `JOB_COLUMNS` (None in each when the work has no job)."""

    job_status: str | None
    job_stage: str | None
    job_cancel_requested: bool | None
    job_last_error: str | None
    job_error_class: str | None


@dataclass(frozen=True)
class WorkState:
    """What a person sees of a piece of work."""

    status: str  # one of WORK_STATUSES
    error: str | None = None  # why it failed, was canceled, or is being retried
    error_class: str | None = None
    stage: str | None = None  # while running: processing | generating | uploading
    cancel_requested: bool = False

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


def work_state(
    job: JobFields | Any | None,
    *,
    produced: bool,
    refusal: str | None = None,
    refusal_class: str | None = None,
) -> WorkState:
    """The state of a piece of work from its job (a row with `JOB_COLUMNS`, or None when it has
    none), whether it produced its output, and its own refusal when its job does several pieces
    of work and refused only this one."""
    if produced:
        return WorkState("succeeded")
    if refusal:
        return WorkState("failed", refusal, refusal_class or "permanent")
    status = getattr(job, "job_status", None)
    if job is None or status is None:
        return WorkState("canceled", "Its job is gone.")
    error, error_class = job.job_last_error, job.job_error_class
    if status == "pending":
        return WorkState("queued", error, error_class)
    if status == "running":
        return WorkState(
            "running",
            error,
            error_class,
            stage=job.job_stage,
            cancel_requested=bool(job.job_cancel_requested),
        )
    if status == "failed":
        return WorkState("failed", error or "It failed.", error_class or "unknown")
    if status == "canceled":
        return WorkState("canceled", error)
    # The job completed without producing this piece (it was removed meanwhile, or skipped).
    return WorkState("canceled", error)


def join_job(select: sa.Select[Any], job_id: sa.ColumnElement[Any]) -> sa.Select[Any]:
    """`select` with the `JOB_COLUMNS` of the job whose id is `job_id` (outer join)."""
    return select.add_columns(*JOB_COLUMNS).outerjoin(jobs, jobs.c.id == job_id)


def in_flight(job_id: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """SQL: the work whose job is `job_id` is queued or running (for counts and filters)."""
    return sa.exists().where(jobs.c.id == job_id, jobs.c.status.in_(ACTIVE_JOB_STATUSES))


def job_fields(db: sa.orm.Session | sa.Connection, job_id: str | None) -> Any | None:
    """The `JOB_COLUMNS` of one job (None when there is no such job), for `work_state`."""
    if job_id is None:
        return None
    return db.execute(sa.select(*JOB_COLUMNS).where(jobs.c.id == job_id)).first()


class ShowsWorkState:
    """For read models that carry a `state`: its fields as attributes of their own."""

    state: WorkState

    @property
    def status(self) -> str:
        return self.state.status

    @property
    def error(self) -> str | None:
        return self.state.error

    @property
    def error_class(self) -> str | None:
        return self.state.error_class

    @property
    def stage(self) -> str | None:
        return self.state.stage

    @property
    def cancel_requested(self) -> bool:
        return self.state.cancel_requested

    @property
    def active(self) -> bool:
        return self.state.active
