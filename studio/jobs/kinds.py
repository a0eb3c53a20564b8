"""The handler API: what a job kind's handler receives (`JobContext`) and how a kind of work is
described (`JobKind`). The composition root (studio/services.py) builds the table of kinds and
the workers run whatever that table names; nothing registers itself on import.

A handler moves through stages with `ctx.stage("generating")` (each a heartbeat and a
cancellation check) and calls `ctx.complete(db=…)` inside the transaction that writes its
outputs, so outputs and completion commit together. A handler that returns without completing
is completed for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from studio.jobs import observe
from studio.jobs.queue import ClaimedJob, JobQueue, LeaseLost

if TYPE_CHECKING:
    from studio.services import Services

log = logging.getLogger("studio.jobs.worker")

StageCallback = Callable[[ClaimedJob, str], None]


class JobCanceled(Exception):
    """Raised at a stage boundary when an editor asked the running job to stop."""


@dataclass
class JobContext:
    services: Services
    queue: JobQueue
    job: ClaimedJob
    on_stage: StageCallback | None = None
    current_stage: str = "processing"
    completed: bool = False

    def stage(self, name: str) -> None:
        """Enter a stage: heartbeat, record it, and stop here if cancellation was asked."""
        self.current_stage = name
        if self.queue.heartbeat(self.job, stage=name):
            raise JobCanceled()
        observe.stage(self.job, name)
        if self.on_stage:
            self.on_stage(self.job, name)

    def heartbeat(self) -> None:
        """Keep the lease while a long provider call runs (video polling)."""
        if self.queue.heartbeat(self.job):
            raise JobCanceled()

    def remember_operation(self, name: str) -> None:
        """Store the provider operation just started (committed now, lease-checked), so a
        claim of this job after a crash resumes it instead of starting and paying again."""
        self.queue.record_operation(self.job, name)

    def annotate(self, **ids: Any) -> None:
        """Name what this job is about in its log events from here on (e.g. session_id and
        step): the queue knows only the ids in its payload."""
        observe.annotate(**ids)

    @property
    def resumed_operation(self) -> str | None:
        """The provider operation an earlier attempt of this job started, if any."""
        return self.job.provider_operation

    @contextmanager
    def keep_alive(self, every: float | None = None) -> Iterator[None]:
        """Heartbeat from a background thread while a blocking call runs (a provider call that
        may outlast the lease). After the call: LeaseLost if the lease was lost meanwhile,
        JobCanceled if cancellation was asked."""
        interval = every or max(0.5, self.queue.lease_seconds / 3)
        stop = threading.Event()
        seen: dict[str, BaseException | bool] = {}

        def beat() -> None:
            while not stop.wait(interval):
                try:
                    if self.queue.heartbeat(self.job):
                        seen["cancel"] = True
                except LeaseLost as lost:
                    seen["lost"] = lost
                    return
                except Exception:  # a database blip: the next beat may succeed
                    log.warning("heartbeat failed for job %s", self.job.id, exc_info=True)

        thread = threading.Thread(target=beat, name=f"heartbeat-{self.job.id[:8]}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
        lost = seen.get("lost")
        if isinstance(lost, LeaseLost):
            raise lost
        if seen.get("cancel"):
            raise JobCanceled()

    def complete(
        self,
        *,
        db: Any = None,
        result: dict[str, Any] | None = None,
        cost_actual: float | None = None,
    ) -> None:
        """Complete the job inside the caller's transaction (pass its session as `db`)."""
        self.queue.finish(self.job, result=result, cost_actual=cost_actual, db=db)
        self.completed = True


Handler = Callable[[JobContext], "dict[str, Any] | None"]


@dataclass(frozen=True)
class JobKind:
    """How to run one kind of job. What its work shows while queued, failed or canceled comes
    from the job itself (studio/jobs/work.py), so a kind needs no hook for those."""

    name: str
    run: Handler
    label: str = ""  # what people call it ("Session step"); the name when empty

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()


def _noop(ctx: JobContext) -> dict[str, Any]:
    """A job that does nothing: `studio enqueue noop` checks that workers are alive."""
    ctx.stage("generating")
    return {"ok": True}


NOOP = JobKind("noop", _noop, "No-op check")


def kind_table(*kinds: JobKind) -> dict[str, JobKind]:
    """The table a worker runs from: each kind by its name (names must be unique)."""
    table: dict[str, JobKind] = {}
    for kind in kinds:
        if kind.name in table:
            raise ValueError(f"two job kinds are named {kind.name!r}")
        table[kind.name] = kind
    return table
