"""Workers: claim one job, run its handler through its stages, record the result.

`process_next` claims and runs one job: the Jobs page's "Process next job" button and `studio
dispatch` call it. `studio worker` and the embedded worker thread of the local demo run a
`WorkerLoop`, whose slots do the same in a loop, each on a connection it holds, completing one
job and claiming the next in one step. Which handler runs a job comes from the table of kinds
the Services container carries (see studio/jobs/kinds.py for the handler API).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from studio.errors import StudioError
from studio.jobs import observe
from studio.jobs.kinds import JobCanceled, JobContext, StageCallback
from studio.jobs.queue import ClaimedJob, JobQueue, LeaseLost
from studio.jobs.wakeup import Listener
from studio.providers.base import ProviderError

if TYPE_CHECKING:
    from studio.services import Services

log = logging.getLogger("studio.jobs.worker")

STOP_CHECK_S = 0.25  # how often an idle slot looks at `stop` while it waits


@dataclass(frozen=True)
class JobOutcome:
    job_id: str
    kind: str
    status: str  # completed | pending (retry) | failed | canceled | lost
    message: str = ""
    label: str | None = None
    stage: str = "completed"  # where it was when it ended (a failure's stage)


class WorkerSlot:
    """One in-flight slot of a `WorkerLoop`, between its jobs: the connection it holds for its
    claims and finishes (no pool checkout per step), and the job it claimed in the same step
    that completed the previous one. Used by the slot's own thread only."""

    def __init__(self, queue: JobQueue, worker_id: str, stop: threading.Event) -> None:
        self.queue = queue
        self.worker_id = worker_id
        self.stop = stop
        self.next_job: ClaimedJob | None = None
        self._conn: Connection | None = None

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            self._conn = self.queue.connect()
        return self._conn

    def claim(self) -> ClaimedJob | None:
        """The job claimed ahead, if any, else a fresh claim."""
        job, self.next_job = self.next_job, None
        return job or self.queue.claim(self.worker_id, conn=self.conn)

    def finish(self, job: ClaimedJob, result: dict[str, Any] | None) -> None:
        """Complete `job` and, unless the worker is stopping, claim the next one with it."""
        if self.stop.is_set():
            self.queue.finish(job, result=result, conn=self.conn)
        else:
            self.next_job = self.queue.finish_and_claim(
                job, self.worker_id, result=result, conn=self.conn
            )

    def reset(self) -> None:
        """Drop the held connection (after a database error); the next step opens a new one."""
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:  # already broken: nothing more to release
                log.debug("closing a worker slot's connection failed", exc_info=True)
            self._conn = None


def run_claimed(
    services: Services,
    queue: JobQueue,
    job: ClaimedJob,
    on_stage: StageCallback | None = None,
    *,
    slot: WorkerSlot | None = None,
) -> JobOutcome:
    """Run one claimed job to an outcome. Never raises for the job's own errors.

    With `slot`, a handler that returns without completing is completed through the slot,
    which claims its next job in the same step. Each transition is logged and counted
    (studio/jobs/observe.py)."""
    started = time.monotonic()
    with observe.job_scope(job):
        observe.claimed(job)
        outcome, error_class = _run(services, queue, job, on_stage, slot)
        observe.settled(
            job,
            outcome.status,
            duration_s=time.monotonic() - started,
            stage=outcome.stage,
            error_class=error_class,
            message="" if outcome.status == "completed" else outcome.message,
        )
    return outcome


def _run(
    services: Services,
    queue: JobQueue,
    job: ClaimedJob,
    on_stage: StageCallback | None,
    slot: WorkerSlot | None,
) -> tuple[JobOutcome, str | None]:
    """`run_claimed`'s work: the outcome, and the error class of a failure."""
    kind = services.kinds.get(job.kind)
    ctx = JobContext(services, queue, job, on_stage)

    def outcome(status: str, message: str) -> JobOutcome:
        return JobOutcome(job.id, job.kind, status, message, job.label, ctx.current_stage)

    def failed(
        error_class: str, message: str, retry_after: float | None = None
    ) -> tuple[JobOutcome, str | None]:
        try:
            status = queue.fail(
                job,
                error_class=error_class,
                message=message,
                stage=ctx.current_stage,
                retry_after_s=retry_after,
            )
        except LeaseLost as lost:
            return outcome("lost", lost.user_message), error_class
        return outcome(status, message), error_class

    if kind is None:
        return failed("permanent", f"No worker knows how to run jobs of kind {job.kind!r}.")
    started = time.monotonic()
    try:
        result = kind.run(ctx)
        if not ctx.completed and slot is not None:
            slot.finish(job, result)  # and claims the slot's next job
        elif not ctx.completed:
            queue.finish(job, result=result)
    except JobCanceled:
        try:
            queue.mark_canceled(job)
        except LeaseLost as lost:
            return outcome("lost", lost.user_message), None
        return outcome("canceled", "Canceled; the result was discarded."), None
    except LeaseLost as lost:
        log.warning("job %s: %s", job.id, lost.user_message)
        return outcome("lost", lost.user_message), None
    except ProviderError as err:
        return failed(err.error_class.value, err.message, err.retry_after_s)
    except StudioError as err:  # permanent, unless the error says it is worth retrying
        return failed(err.error_class, err.user_message)
    except Exception as err:  # a bug or an unexpected library error: keep the details
        log.error("job %s (%s) crashed:\n%s", job.id, job.kind, traceback.format_exc())
        return failed("unknown", f"Internal error: {type(err).__name__}: {err}")
    except BaseException:
        # The thread running the job is being stopped, not failing: Ctrl+C, SystemExit, or
        # Streamlit's stop and rerun exceptions (a click or a closed tab during "Process next
        # job"). Never leave the job running on a lease nobody renews: hand it back.
        if not ctx.completed:
            _hand_back(queue, job)
        raise
    elapsed = time.monotonic() - started
    done = JobOutcome(job.id, job.kind, "completed", f"Completed in {elapsed:.1f} s.", job.label)
    return done, None


def _hand_back(queue: JobQueue, job: ClaimedJob) -> None:
    try:
        queue.hand_back(
            job,
            reason="Interrupted before it finished (its worker was stopped); back in the queue.",
        )
        observe.handed_back(job)
    except LeaseLost:
        pass  # finished or taken over meanwhile: nothing to hand back
    except Exception:  # the database is unreachable: the lease expires and the reaper acts
        log.exception("could not hand job %s back to the queue", job.id)


def process_next(
    services: Services,
    worker_id: str,
    *,
    kinds: list[str] | None = None,
    on_stage: StageCallback | None = None,
    reap: bool = True,
) -> JobOutcome | None:
    """Claim one job and run it. None means nothing was claimable (the "204")."""
    queue = services.queue
    if reap:
        queue.reap()
    job = queue.claim(worker_id, kinds=kinds)
    if job is None:
        return None
    if on_stage:
        try:
            on_stage(job, "processing")
        except BaseException:
            _hand_back(queue, job)
            raise
    return run_claimed(services, queue, job, on_stage)


def default_worker_id(prefix: str = "worker") -> str:
    return f"{prefix}@{socket.gethostname()}:{os.getpid()}"


@dataclass
class WorkerLoop:
    """`concurrency` threads claiming jobs until `stop` is set; one of them also reaps.

    An idle slot waits for work to be enqueued (studio/jobs/wakeup.py: in-process, and LISTEN
    on PostgreSQL when `listen`), and polls every `idle_sleep`…`max_idle_sleep` seconds besides,
    so a lost wake-up only delays. On stop, each thread finishes the job it holds and exits
    (SIGTERM handling in the CLI)."""

    services: Services
    concurrency: int = 1
    worker_id: str = field(default_factory=default_worker_id)
    idle_sleep: float = 0.5
    max_idle_sleep: float = 2.0
    reap_every: float = 5.0
    once: bool = False
    listen: bool = True
    stop: threading.Event = field(default_factory=threading.Event)
    processed: int = 0
    listener: Listener | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _slot(self, index: int) -> None:
        slot = WorkerSlot(self.services.queue, f"{self.worker_id}/{index}", self.stop)
        try:
            self._work(index, slot)
        finally:
            slot.reset()

    def _work(self, index: int, slot: WorkerSlot) -> None:
        queue = self.services.queue
        sleep = self.idle_sleep
        last_reap = 0.0
        # A job claimed ahead is run even when stopping: it is this slot's until it finishes.
        while not self.stop.is_set() or slot.next_job is not None:
            seen = queue.wakeup.count  # before looking, so a wake-up meanwhile is not missed
            try:
                if index == 0 and time.monotonic() - last_reap >= self.reap_every:
                    last_reap = time.monotonic()
                    queue.reap()
                job = slot.claim()
                outcome = None if job is None else run_claimed(self.services, queue, job, slot=slot)
            except Exception:  # database down for a moment: log, wait, try again
                log.exception("worker slot %s could not process a job", slot.worker_id)
                slot.reset()
                outcome = None
                if self.once:
                    return
            if outcome is None:
                if self.once:
                    return
                if self._idle(seen, sleep):
                    sleep = self.idle_sleep  # woken: work was enqueued
                else:
                    sleep = min(self.max_idle_sleep, sleep * 2)
                continue
            sleep = self.idle_sleep
            with self._lock:
                self.processed += 1
            log.info("%s %s %s: %s", slot.worker_id, outcome.kind, outcome.status, outcome.message)

    def _idle(self, seen: int, timeout: float) -> bool:
        """Wait up to `timeout` for a wake-up after `seen`; True when one came. Returns soon
        after `stop` is set."""
        wakeup = self.services.queue.wakeup
        deadline = time.monotonic() + timeout
        while not self.stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if wakeup.wait(seen, min(remaining, STOP_CHECK_S)):
                return True
        return False

    def run(self) -> int:
        """Run until stopped (or, with `once`, until the queue has nothing claimable)."""
        queue = self.services.queue
        if self.listen and queue.is_pg and not self.once:
            self.listener = Listener(queue.engine, queue.wakeup, self.stop).start()
        threads = [
            threading.Thread(target=self._slot, args=(i,), name=f"studio-worker-{i}", daemon=True)
            for i in range(max(1, self.concurrency))
        ]
        for t in threads:
            t.start()
        for t in threads:
            while t.is_alive():
                t.join(timeout=0.5)
        if self.listener is not None:
            self.listener.join(timeout=2)
        return self.processed
