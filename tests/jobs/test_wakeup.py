"""Workers wake when work is enqueued (in process, and through LISTEN/NOTIFY on PostgreSQL);
polling stays as the fallback; a worker that is being stopped hands its job back.

The loops here poll once a minute, so a job done within the tests' 20 s timeout was done
because its enqueue woke the worker, never because a poll came round."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from db.schema import Job
from studio.jobs.kinds import JobContext, JobKind
from studio.jobs.queue import pending_job_values
from studio.jobs.wakeup import Signal
from studio.jobs.worker import WorkerLoop, process_next, run_claimed
from studio.services import Services

NO_POLL = 60.0  # longer than any test waits
TIMEOUT = 20.0


@contextmanager
def running(loop: WorkerLoop) -> Iterator[WorkerLoop]:
    thread = threading.Thread(target=loop.run, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.stop.set()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the loop did not stop"


def idle_loop(services: Services, **kw: object) -> WorkerLoop:
    return WorkerLoop(services, idle_sleep=NO_POLL, max_idle_sleep=NO_POLL, **kw)  # type: ignore[arg-type]


def wait_until_idle(loop: WorkerLoop) -> None:
    """Let the loop find the queue empty and start waiting (its first poll)."""
    time.sleep(0.5)
    if loop.listener is not None:
        assert loop.listener.listening.wait(TIMEOUT), "the listener never LISTENed"


def wait_done(services: Services, job_id: str) -> str:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        status = services.queue.get(job_id).status
        if status == "completed":
            return status
        time.sleep(0.05)
    return services.queue.get(job_id).status


def test_signal_raised_between_look_and_wait_is_not_missed() -> None:
    signal = Signal()
    seen = signal.count
    signal.raise_()  # after the worker looked, before it waits
    assert signal.wait(seen, timeout=0) is True
    assert signal.wait(signal.count, timeout=0.05) is False


def test_an_enqueue_wakes_the_idle_worker(services: Services) -> None:
    with running(idle_loop(services)) as loop:
        wait_until_idle(loop)
        job = services.queue.enqueue("noop", label="woken")
        assert wait_done(services, job.id) == "completed"


def test_an_enqueue_inside_a_unit_of_work_wakes_it_on_commit(services: Services) -> None:
    with running(idle_loop(services)) as loop:
        wait_until_idle(loop)
        with services.db() as db:
            job = services.queue.enqueue("noop", label="in a transaction", db=db)
        assert wait_done(services, job.id) == "completed"


def test_polling_remains_for_work_that_announced_nothing(services: Services) -> None:
    """A row written without `enqueue` (as from a process whose wake-up was lost)."""
    loop = WorkerLoop(services, idle_sleep=0.1, max_idle_sleep=0.2)
    with running(loop):
        time.sleep(0.3)
        values = pending_job_values("noop", label="silent")
        with services.engine.begin() as conn:
            conn.execute(sa.insert(Job.__table__).values(**values))
        assert wait_done(services, values["id"]) == "completed"


def test_notify_wakes_a_worker_in_another_process(services: Services, db_url: str) -> None:
    """`studio worker` on PostgreSQL: the enqueue comes from another process, so only the
    NOTIFY sent at its commit can wake this loop before its next poll."""
    if not services.queue.is_pg:
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's")
    with running(idle_loop(services)) as loop:
        wait_until_idle(loop)
        code = (
            "import sys; from db.engine import make_engine; from studio.jobs.queue import JobQueue;"
            "print(JobQueue(make_engine(sys.argv[1])).enqueue('noop', label='from afar').id)"
        )
        out = subprocess.run(
            [sys.executable, "-c", code, db_url], capture_output=True, text=True, check=True
        )
        assert wait_done(services, out.stdout.strip()) == "completed"


class Interrupted(BaseException):
    """Like Streamlit's StopException and RerunException: not an Exception."""


def test_a_stopped_handler_hands_its_job_back(services: Services) -> None:
    def run(ctx: JobContext) -> None:
        ctx.stage("generating")
        raise Interrupted()

    services.kinds["t_interrupted"] = JobKind("t_interrupted", run)
    job = services.queue.enqueue("t_interrupted")
    with pytest.raises(Interrupted):
        process_next(services, "page")
    row = services.queue.get(job.id)
    assert row.status == "pending" and row.lease_token is None
    assert row.attempts == 0, "an interruption does not spend an attempt"
    assert "Interrupted" in (row.last_error or "")

    services.kinds["t_interrupted"] = JobKind("t_interrupted", lambda ctx: {"ok": True})
    assert process_next(services, "w").status == "completed"  # at once, not after a lease


def test_an_interrupted_stage_callback_hands_the_job_back(services: Services) -> None:
    """The Jobs page draws each stage; a click or a closed tab raises inside that drawing."""
    job = services.queue.enqueue("noop")

    def on_stage(_job: object, stage: str) -> None:
        raise Interrupted()

    with pytest.raises(Interrupted):
        process_next(services, "page", on_stage=on_stage)
    row = services.queue.get(job.id)
    assert row.status == "pending" and row.lease_token is None and row.attempts == 0


def test_an_interruption_after_completion_changes_nothing(services: Services) -> None:
    def run(ctx: JobContext) -> None:
        ctx.complete()
        raise Interrupted()

    services.kinds["t_late"] = JobKind("t_late", run)
    job = services.queue.enqueue("t_late")
    claimed = services.queue.claim("w")
    assert claimed is not None
    with pytest.raises(Interrupted):
        run_claimed(services, services.queue, claimed)
    assert services.queue.get(job.id).status == "completed"
