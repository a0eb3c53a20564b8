"""The queue's hot-path SQL, built once per process: claiming a job, completing it, and both in
one statement on PostgreSQL.

Building a statement costs far more than running it, so the claim and finish statements are
built once per database kind (and `kinds` filter) and cached. Their variable parts are bind
parameters: `worker_id` and `claim_token` for a claim; `job_id`, `job_token`, `job_result` and
`job_cost` for a finish; and the clock (`now`, `lease_end` on SQLite, `lease` on PostgreSQL,
whose clock is the database's own `now()`).

The claim takes the next claimable job in (priority, run_after, created_at) order: pending, not
held, due, of one of `kinds`, and, when keyed, the head of an idle key (no job of its key is
running and no earlier one is pending, or failed for an ordered key); and, when `queue_controls`
has rows, not paused (the queue, its kind or its provider) and not over a cap of its kind or
provider. A claim under a cap takes the lowest free numbered slot of the capped kind (provider);
unique indexes over running slots make two workers racing for the last slot collide, and the
loser claims nothing (an IntegrityError its caller retries), so a cap holds across machines. PostgreSQL claims with a
MATERIALIZED CTE `… FOR UPDATE SKIP LOCKED`; SQLite with one `UPDATE … RETURNING` inside the
engine's BEGIN IMMEDIATE.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from db.schema import Job, QueueControl, table

jobs = table(Job)
controls = table(QueueControl)


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
    provider_operation: str | None = None  # an operation an earlier attempt started (a video)
    provider: str | None = None  # the external service it calls, as its producer said
    run_after: datetime | None = None  # when it became claimable (enqueued, or a retry's time)


def lit(column: sa.ColumnElement[Any], value: str | bool) -> sa.ColumnElement[bool]:
    """Compare with an inline constant so the planner can match partial index predicates."""
    if isinstance(value, bool):
        # Untyped on purpose: SQLite would otherwise compile `held = 0`, which does not match
        # the partial index predicate `NOT held` and turns every claim into a table scan.
        ref = f"{column.table.name}.{column.name}"
        return sa.literal_column(ref if value else f"NOT {ref}")
    return column == sa.literal_column(f"'{value}'")


_other = jobs.alias("other")  # another job of the same concurrency key
_TIMESTAMP = jobs.c.created_at.type
_CLAIM_ORDER = (jobs.c.priority, jobs.c.run_after, jobs.c.created_at)
# A claim returns what its worker needs, not the whole row.
_CLAIMED_FIELDS = tuple(f.name for f in dataclasses.fields(ClaimedJob))
_CLAIMED_COLUMNS = tuple(jobs.c[name] for name in _CLAIMED_FIELDS)
CLEAR_LEASE: dict[str, Any] = {"lease_token": None, "lease_owner": None, "lease_expires_at": None}


def claimed(row: sa.Row[Any] | None) -> ClaimedJob | None:
    if row is None or row.id is None:
        return None
    m = row._mapping
    return ClaimedJob(**{name: m[name] for name in _CLAIMED_FIELDS})


def kinds_key(kinds: Sequence[str] | None) -> tuple[str, ...] | None:
    return tuple(sorted(set(kinds))) if kinds else None


def finish_params(
    job: ClaimedJob, result: dict[str, Any] | None, cost_actual: float | None
) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "job_token": job.lease_token,
        "job_result": result,
        "job_cost": cost_actual,
    }


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


def _applies(control: sa.FromClause) -> sa.ColumnElement[bool]:
    """The control row is the whole queue's, the job's kind's or the job's provider's."""
    return sa.or_(
        lit(control.c.scope, "all"),
        sa.and_(lit(control.c.scope, "kind"), control.c.name == jobs.c.kind),
        sa.and_(lit(control.c.scope, "provider"), control.c.name == jobs.c.provider),
    )


def _paused(queue_pause: bool) -> sa.ColumnElement[bool]:
    """A pause covers the job (the one job let through by "process one, then pause" excepted;
    without `queue_pause`, a pause of the whole queue is not counted)."""
    pause = controls.alias("pause")
    cond = sa.exists().where(
        pause.c.paused_at.isnot(None),
        _applies(pause),
        sa.or_(pause.c.let_through.is_(None), pause.c.let_through != jobs.c.id),
    )
    if not queue_pause:
        cond = cond.where(pause.c.scope != sa.literal_column("'all'"))
    return cond


def _at_cap(scope: str) -> sa.ColumnElement[bool]:
    """The job's kind (scope "kind") or provider ("provider") has as many jobs running as its
    cap allows."""
    cap = controls.alias(f"{scope}_cap")
    running = jobs.alias(f"running_{scope}")
    n_running = (
        sa.select(sa.func.count())
        .where(lit(running.c.status, "running"), running.c[scope] == jobs.c[scope])
        .correlate_except(running)
        .scalar_subquery()
    )
    return sa.exists().where(
        lit(cap.c.scope, scope), cap.c.name == jobs.c[scope], cap.c.cap <= n_running
    )


def _slot(scope: str) -> sa.ColumnElement[int | None]:
    """The slot a claimed job takes under its kind's (provider's) cap: NULL when uncapped,
    else the lowest number no running job of the kind (provider) holds (0, or one past a held
    slot whose next number is free)."""
    cap = controls.alias(f"{scope}_cap")
    slot = jobs.c[f"{scope}_slot"]
    held = jobs.alias(f"held_{scope}")
    held_slot = held.c[f"{scope}_slot"]

    def taken(number: sa.ColumnElement[int]) -> sa.ColumnElement[bool]:
        other = jobs.alias(f"other_{scope}")
        return (
            sa.exists()
            .where(
                lit(other.c.status, "running"),
                other.c[scope] == jobs.c[scope],
                other.c[f"{scope}_slot"] == number,
            )
            .correlate_except(other)
        )

    after_held = (
        sa.select(sa.func.min(held_slot + sa.literal_column("1")))
        .where(
            lit(held.c.status, "running"),
            held.c[scope] == jobs.c[scope],
            held_slot.isnot(None),
            ~taken(held_slot + sa.literal_column("1")),
        )
        .correlate_except(held)
        .scalar_subquery()
    )
    capped = sa.exists().where(
        lit(cap.c.scope, scope), cap.c.name == jobs.c[scope], cap.c.cap.isnot(None)
    )
    return sa.case(
        (~capped, sa.null()),
        (~taken(sa.literal_column("0")), sa.literal_column("0")),
        else_=after_held,
    ).label(slot.name)


def _controlled(queue_pause: bool = True) -> sa.ColumnElement[bool]:
    """Not paused and under every cap; checked per job only when `queue_controls` has any row
    (a check PostgreSQL runs once per claim), so a queue nobody controls pays nothing per job.
    A pause of the whole queue with no job let through (or none still pending) is also checked
    once per claim: the claim then reads no job at all."""
    quiet = ~sa.select(sa.literal_column("1")).select_from(controls).exists()
    per_job = sa.or_(quiet, sa.and_(~_paused(queue_pause), ~_at_cap("kind"), ~_at_cap("provider")))
    if not queue_pause:
        return per_job
    whole = controls.alias("whole_queue")
    let_through = jobs.alias("let_through")
    waiting = (
        sa.exists()
        .where(let_through.c.id == whole.c.let_through, lit(let_through.c.status, "pending"))
        .correlate_except(let_through)
    )
    stopped = (
        sa.exists()
        .where(lit(whole.c.scope, "all"), whole.c.paused_at.isnot(None), ~waiting)
        .correlate_except(whole)
    )
    return sa.and_(~stopped, per_job)


def _claimable(
    now: sa.ColumnElement[datetime], kinds: tuple[str, ...] | None, queue_pause: bool = True
) -> sa.ColumnElement[bool]:
    """Pending, not held, due, of one of `kinds`, when keyed the head of an idle key (no job
    of its key is running and no earlier one is pending, or failed for an ordered key), and
    neither paused nor capped."""
    no_running = ~sa.exists().where(
        _other.c.concurrency_key == jobs.c.concurrency_key, lit(_other.c.status, "running")
    )
    earlier = sa.or_(
        _other.c.sequence < jobs.c.sequence,
        sa.and_(_other.c.sequence == jobs.c.sequence, _other.c.created_at < jobs.c.created_at),
    )
    earlier_open = sa.or_(
        lit(_other.c.status, "pending"),
        sa.and_(lit(_other.c.status, "failed"), lit(_other.c.ordered, True)),
    )
    none_before = ~sa.exists().where(
        _other.c.concurrency_key == jobs.c.concurrency_key, earlier_open, earlier
    )
    cond = sa.and_(
        lit(jobs.c.status, "pending"),
        lit(jobs.c.held, False),
        lit(jobs.c.paused, False),
        jobs.c.run_after <= now,
        sa.or_(jobs.c.concurrency_key.is_(None), sa.and_(no_running, none_before)),
        _controlled(queue_pause),
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
            kind_slot=_slot("kind"),
            provider_slot=_slot("provider"),
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
            lit(jobs.c.status, "running"),
        )
        .values(
            status="completed",
            stage="completed",
            completed_at=_now_param(postgres),
            result=sa.bindparam("job_result", type_=jobs.c.result.type),
            cost_actual=sa.bindparam("job_cost", type_=jobs.c.cost_actual.type),
            last_error=None,
            error_class=None,
            **CLEAR_LEASE,
        )
        .returning(jobs.c.id)
    )


@functools.cache
def claim_statement(postgres: bool, kinds: tuple[str, ...] | None) -> sa.Update:
    return _claim_update(postgres, kinds)


@functools.cache
def next_claimable_statement(postgres: bool) -> sa.Select[Any]:
    """The id of the job a claim would take next if the whole queue were not paused."""
    now = _now_param(postgres)
    return (
        sa.select(jobs.c.id)
        .where(_claimable(now, None, queue_pause=False))
        .order_by(*_CLAIM_ORDER)
        .limit(1)
    )


@functools.cache
def finish_statement(postgres: bool) -> sa.Update:
    return _finish_update(postgres)


@functools.cache
def finish_and_claim_statement(kinds: tuple[str, ...] | None) -> sa.Select[Any]:
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
