"""What editors do to the queue as a whole: pause and resume it (all of it, one kind, one
provider), let one job through a pause ("process one, then pause"), cap how many jobs of a kind
or provider run at once, and move a pending job in the claim order.

Pauses and caps are rows of `queue_controls` (scope "all" with name "", "kind", or "provider"),
which every worker's claim reads (studio/jobs/statements.py): they hold for every worker process
on every machine and survive restarts. A running job is never interrupted by a pause; a capped
job simply waits, spending no attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa

from db.schema import CONTROL_SCOPES, Job
from db.types import utcnow
from studio.errors import Conflict, Invalid
from studio.jobs.base import Executor, QueueBase
from studio.jobs.statements import controls, jobs, lit, next_claimable_statement
from studio.jobs.wakeup import announce

Scope = Literal["all", "kind", "provider"]
Move = Literal["front", "up", "down"]
MOVES: tuple[Move, ...] = ("front", "up", "down")
CONFIGURATION = "configuration"  # who set a cap that came from the settings


@dataclass(frozen=True)
class Control:
    """One row of `queue_controls`, as pages and the CLI show it."""

    scope: str
    name: str
    paused_at: datetime | None
    paused_by: str | None
    let_through: str | None
    cap: int | None
    cap_by: str | None

    @property
    def what(self) -> str:
        """ "the whole queue", "kind storyboard_video", "provider openai"."""
        return "the whole queue" if self.scope == "all" else f"{self.scope} {self.name}"

    @property
    def pause_line(self) -> str:
        """What is paused, since when and by whom (empty when this control pauses nothing)."""
        if self.paused_at is None:
            return ""
        line = (
            f"Paused: {self.what}, since {self.paused_at:%Y-%m-%d %H:%M} UTC "
            f"by {self.paused_by or 'someone'}"
        )
        if self.let_through:
            line += f" (letting job {self.let_through[:8]} through first)"
        return line + "."


def _pause_covers(kind: sa.ColumnElement[str], provider: sa.ColumnElement[Any]) -> sa.Exists:
    """A pause of this kind or provider is in place (the whole queue's is not counted: it is
    checked once per claim, and no job is flagged for it)."""
    pause = controls.alias("pause")
    return sa.exists().where(
        pause.c.paused_at.isnot(None),
        sa.or_(
            sa.and_(lit(pause.c.scope, "kind"), pause.c.name == kind),
            sa.and_(lit(pause.c.scope, "provider"), pause.c.name == provider),
        ),
    )


def paused_now(kind: str, provider: str | None) -> sa.ColumnElement[bool]:
    """What a new job's `paused` flag is: whether its kind or provider is paused now."""
    return sa.case((_pause_covers(sa.literal(kind), sa.literal(provider)), True), else_=False)


def _check_scope(scope: str, name: str | None) -> tuple[str, str]:
    if scope not in CONTROL_SCOPES:
        raise Invalid(f"Unknown scope {scope!r}: use one of {', '.join(CONTROL_SCOPES)}.")
    if scope == "all":
        return scope, ""
    if not name:
        raise Invalid(f"Name the {scope} to control.")
    return scope, name


class QueueControls(QueueBase):
    """Pause, resume, let one through, cap and move (mixed into JobQueue)."""

    # -- reading --------------------------------------------------------------------------

    def controls(self, *, db: Executor | None = None) -> list[Control]:
        """Every control in place: the whole queue's first, then kinds, then providers. A job
        let through that is no longer pending is not shown."""
        waiting = jobs.alias("let_through_job")
        with self._tx(db) as tx:
            rows = tx.execute(
                sa.select(*controls.c, waiting.c.status.label("let_through_status"))
                .outerjoin(waiting, waiting.c.id == controls.c.let_through)
                .order_by(controls.c.scope, controls.c.name)
            ).all()
        return [
            Control(
                r.scope,
                r.name,
                r.paused_at,
                r.paused_by,
                r.let_through if r.let_through_status == "pending" else None,
                r.cap,
                r.cap_by,
            )
            for r in rows
        ]

    def pause_lines(self, *, db: Executor | None = None) -> list[str]:
        """One line per pause in place: what, since when, by whom."""
        return [c.pause_line for c in self.controls(db=db) if c.paused_at is not None]

    # -- writing --------------------------------------------------------------------------

    def _upsert(self, tx: Executor, scope: str, name: str, values: dict[str, Any]) -> None:
        key = (controls.c.scope == scope) & (controls.c.name == name)
        values = {**values, "updated_at": utcnow()}
        updated = tx.execute(controls.update().where(key).values(**values))
        if not getattr(updated, "rowcount", 0):
            tx.execute(controls.insert().values(scope=scope, name=name, **values))

    def _tidy(self, tx: Executor) -> None:
        """A row that neither pauses nor caps is deleted: with no rows, claims skip every
        check of pauses and caps."""
        tx.execute(
            controls.delete().where(controls.c.paused_at.is_(None), controls.c.cap.is_(None))
        )

    def pause(
        self, scope: str = "all", name: str | None = None, *, by: str, db: Executor | None = None
    ) -> None:
        """Claim nothing of `scope`/`name` until resumed; running jobs finish. Pausing what is
        paused already keeps its original time and author (and ends a let-through)."""
        scope, name = _check_scope(scope, name)
        with self._tx(db) as tx:
            current = tx.execute(
                sa.select(controls.c.paused_at).where(
                    controls.c.scope == scope, controls.c.name == name
                )
            ).first()
            if current is not None and current.paused_at is not None:
                self._upsert(tx, scope, name, {"let_through": None})
            else:
                self._upsert(
                    tx, scope, name, {"paused_at": utcnow(), "paused_by": by, "let_through": None}
                )
            if scope != "all":  # its pending jobs leave the claim index
                tx.execute(
                    jobs.update()
                    .where(
                        lit(jobs.c.status, "pending"),
                        lit(jobs.c.paused, False),
                        jobs.c[scope] == name,
                    )
                    .values(paused=True)
                )

    def resume(
        self, scope: str = "all", name: str | None = None, *, db: Executor | None = None
    ) -> bool:
        """Lift a pause; False when there was none. Idle workers are woken."""
        scope, name = _check_scope(scope, name)
        with self._tx(db) as tx:
            result = tx.execute(
                controls.update()
                .where(
                    controls.c.scope == scope,
                    controls.c.name == name,
                    controls.c.paused_at.isnot(None),
                )
                .values(paused_at=None, paused_by=None, let_through=None, updated_at=utcnow())
            )
            n = int(getattr(result, "rowcount", 0) or 0)
            if n and scope != "all":  # back in the claim index, unless another pause holds them
                tx.execute(
                    jobs.update()
                    .where(
                        lit(jobs.c.status, "pending"),
                        lit(jobs.c.paused, True),
                        jobs.c[scope] == name,
                        ~_pause_covers(jobs.c.kind, jobs.c.provider),
                    )
                    .values(paused=False)
                )
            self._tidy(tx)
            if n:
                announce(tx, self.wakeup, is_pg=self.is_pg, own=db is None)
        if n and db is None:
            self.wakeup.raise_()
        return bool(n)

    def let_one_through(self, *, by: str, db: Executor | None = None) -> Job | None:
        """ "Process one, then pause": pause the whole queue (if it is not) except for the job
        workers would claim next, which is claimed as usual. Returns that job, or None when
        nothing is claimable (the queue is paused all the same)."""
        with self._tx(db) as tx:
            self.pause("all", by=by, db=tx)
            upcoming = self._next_ignoring_queue_pause(tx)
            if upcoming is not None:
                self._upsert(tx, "all", "", {"let_through": upcoming})
                announce(tx, self.wakeup, is_pg=self.is_pg, own=db is None)
        if upcoming is not None and db is None:
            self.wakeup.raise_()
        return None if upcoming is None else self.get(upcoming, db=db)

    def _next_ignoring_queue_pause(self, tx: Executor) -> str | None:
        """The job a claim would take next if the whole queue were not paused (pauses of
        kinds and providers, and caps, still count)."""
        params = {} if self.is_pg else {"now": utcnow()}
        row = tx.execute(next_claimable_statement(self.is_pg), params).first()
        return None if row is None else str(row.id)

    def set_cap(
        self, scope: str, name: str, cap: int | None, *, by: str, db: Executor | None = None
    ) -> None:
        """At most `cap` jobs of kind (provider) `name` run at once, across all workers; None
        lifts the cap. Lowering a cap never interrupts running jobs."""
        if scope not in ("kind", "provider"):
            raise Invalid("Caps are set per kind or per provider.")
        if cap is not None and cap < 1:
            raise Invalid("A cap is at least 1 (pause the work to run none of it).")
        scope, name = _check_scope(scope, name)
        with self._tx(db) as tx:
            self._upsert(tx, scope, name, {"cap": cap, "cap_by": by if cap else None})
            self._tidy(tx)
            announce(tx, self.wakeup, is_pg=self.is_pg, own=db is None)
        if db is None:
            self.wakeup.raise_()

    def apply_configured_caps(self, caps: dict[tuple[str, str], int]) -> None:
        """Caps from the settings: set where no editor has set one (an editor's cap, made on
        the Jobs page or with the CLI, stays until an editor changes it)."""
        with self._tx(None) as tx:
            current = {(c.scope, c.name): c for c in self.controls(db=tx) if c.cap_by is not None}
            for (scope, name), cap in caps.items():
                existing = current.get((scope, name))
                if existing is None or (existing.cap_by == CONFIGURATION and existing.cap != cap):
                    self.set_cap(scope, name, cap, by=CONFIGURATION, db=tx)

    # -- order ----------------------------------------------------------------------------

    def move(self, job_id: str, where: str, *, db: Executor | None = None) -> Job:
        """Move a pending job in the claim order: to the front, or one place up or down.

        The claim order is (priority, run_after, created_at): the job takes a priority and a
        run-after time that put it where asked (the front: ahead of every pending job, and due
        now)."""
        if where not in MOVES:
            raise Invalid(f"Move a job to the front, up or down, not {where!r}.")
        with self._tx(db) as tx:
            job = self.get(job_id, db=tx)
            if job.status != "pending":
                raise Conflict(f"Only pending jobs can be moved; this one is {job.status}.")
            values = self._moved(tx, job, where)
            if values:
                tx.execute(jobs.update().where(jobs.c.id == job_id).values(**values))
            return self.get(job_id, db=tx)

    def _moved(self, tx: Executor, job: Job, where: str) -> dict[str, Any]:
        key = sa.tuple_(jobs.c.priority, jobs.c.run_after, jobs.c.created_at, jobs.c.id)
        mine = sa.tuple_(
            sa.literal(job.priority),
            sa.literal(job.run_after, type_=jobs.c.run_after.type),
            sa.literal(job.created_at, type_=jobs.c.created_at.type),
            sa.literal(job.id),
        )
        pending = sa.select(jobs.c.priority, jobs.c.run_after).where(
            lit(jobs.c.status, "pending"), jobs.c.id != job.id
        )
        if where == "front":
            first = tx.execute(
                sa.select(sa.func.min(jobs.c.priority)).where(
                    lit(jobs.c.status, "pending"), jobs.c.id != job.id
                )
            ).scalar()
            now = utcnow()
            priority = job.priority if first is None else min(job.priority, first - 1)
            return {"priority": priority, "run_after": min(job.run_after, now)}
        if where == "up":
            before = tx.execute(
                pending.where(key < mine).order_by(*(c.desc() for c in key.clauses)).limit(2)
            ).all()
            if not before:
                return {}
            target, beyond = before[0], before[1] if len(before) > 1 else None
            step = -timedelta(milliseconds=1)
        else:
            after = tx.execute(pending.where(key > mine).order_by(*key.clauses).limit(2)).all()
            if not after:
                return {}
            target, beyond = after[0], after[1] if len(after) > 1 else None
            step = timedelta(milliseconds=1)
        run_after = target.run_after + step
        if beyond is not None and beyond.priority == target.priority:
            # Between the neighbour and the one beyond it.
            run_after = target.run_after + (beyond.run_after - target.run_after) / 2
        return {"priority": target.priority, "run_after": run_after}
