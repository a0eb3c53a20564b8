"""process_next and the job context, on both databases."""

from __future__ import annotations

import threading
import time

from studio.errors import Invalid
from studio.jobs.kinds import JobContext, JobKind
from studio.jobs.worker import WorkerLoop, process_next
from studio.providers.base import ProviderError
from studio.services import Services
from studio.storage import StorageError


def _kind(services: Services, name: str, run) -> None:  # type: ignore[no-untyped-def]
    """Teach this test's services (and so its workers) one more kind of job."""
    services.kinds[name] = JobKind(name, run)


def test_nothing_to_do_returns_none(services: Services) -> None:
    assert process_next(services, "w") is None


def test_stages_are_recorded_and_result_stored(services: Services) -> None:
    seen: list[str] = []

    def run(ctx: JobContext) -> dict[str, int]:
        ctx.stage("generating")
        ctx.stage("uploading")
        return {"images": 2}

    _kind(services, "t_stages", run)
    job = services.queue.enqueue("t_stages")
    outcome = process_next(services, "w", on_stage=lambda j, s: seen.append(s))
    assert outcome is not None and outcome.status == "completed"
    assert seen == ["processing", "generating", "uploading"]
    row = services.queue.get(job.id)
    assert row.status == "completed" and row.stage == "completed" and row.result == {"images": 2}


def test_provider_errors_follow_queue_rules(services: Services) -> None:
    def run(ctx: JobContext) -> None:
        ctx.stage("generating")
        raise ProviderError("safety", "The provider refused this prompt for safety reasons.")

    _kind(services, "t_refuse", run)
    job = services.queue.enqueue("t_refuse")
    outcome = process_next(services, "w")
    assert outcome.status == "failed"
    row = services.queue.get(job.id)
    assert row.error_class == "safety" and row.failure_stage == "generating"
    assert row.attempts == 1  # a refusal is not retried
    assert row.last_error == "The provider refused this prompt for safety reasons."


def test_out_of_credits_fails_at_once(services: Services) -> None:
    def run(ctx: JobContext) -> None:
        raise ProviderError("out_of_credits", "Out of credits at OpenAI: You exceeded your quota.")

    _kind(services, "t_credits", run)
    job = services.queue.enqueue("t_credits")
    assert process_next(services, "w").status == "failed"
    row = services.queue.get(job.id)
    assert (row.status, row.error_class, row.attempts) == ("failed", "out_of_credits", 1)


def test_studio_errors_fail_at_once_unless_marked_temporary(services: Services) -> None:
    def refuse(ctx: JobContext) -> None:
        raise Invalid("That prompt is empty.")

    def outage(ctx: JobContext) -> None:
        raise StorageError("Could not reach the S3 endpoint.", temporary=True)

    _kind(services, "t_refuse", refuse)
    _kind(services, "t_outage", outage)
    refused = services.queue.enqueue("t_refuse")
    down = services.queue.enqueue("t_outage")
    process_next(services, "w", kinds=["t_refuse"])
    process_next(services, "w", kinds=["t_outage"])
    row = services.queue.get(refused.id)
    assert (row.status, row.error_class) == ("failed", "permanent")
    row = services.queue.get(down.id)
    assert (row.status, row.error_class) == ("pending", "temporary")  # retried after a backoff
    assert row.last_error == "Could not reach the S3 endpoint."


def test_unexpected_exception_is_unknown_and_retried(services: Services) -> None:
    def run(ctx: JobContext) -> None:
        raise KeyError("boom")

    _kind(services, "t_crash", run)
    job = services.queue.enqueue("t_crash")
    assert process_next(services, "w").status == "pending"
    row = services.queue.get(job.id)
    assert row.error_class == "unknown" and "KeyError" in row.last_error


def test_cancel_while_running_discards_result(services: Services) -> None:
    started, release = threading.Event(), threading.Event()

    def run(ctx: JobContext) -> dict[str, bool]:
        started.set()
        release.wait(10)
        ctx.stage("uploading")  # the stage boundary where the cancel is seen
        return {"should_not": True}

    _kind(services, "t_cancel", run)
    job = services.queue.enqueue("t_cancel")
    result: list[object] = []
    t = threading.Thread(target=lambda: result.append(process_next(services, "w")))
    t.start()
    started.wait(10)
    assert services.queue.cancel(job.id) == "running"
    release.set()
    t.join(10)
    assert result[0].status == "canceled"
    row = services.queue.get(job.id)
    assert row.status == "canceled" and row.result is None


def test_keep_alive_holds_the_lease_through_a_long_call(services: Services) -> None:
    services.queue.lease_seconds = 1

    def run(ctx: JobContext) -> None:
        with ctx.keep_alive(every=0.2):
            time.sleep(2.5)  # longer than the lease

    _kind(services, "t_long", run)
    job = services.queue.enqueue("t_long")
    reaped: list[int] = []
    stop = threading.Event()

    def reaper() -> None:
        while not stop.is_set():
            reaped.append(services.queue.reap())
            time.sleep(0.1)

    t = threading.Thread(target=reaper)
    t.start()
    outcome = process_next(services, "w", reap=False)
    stop.set()
    t.join()
    assert outcome.status == "completed"
    assert sum(reaped) == 0
    assert services.queue.get(job.id).attempts == 1


def test_unknown_kind_fails_with_clear_message(services: Services) -> None:
    job = services.queue.enqueue("nobody_knows")
    assert "nobody_knows" not in services.kinds
    assert process_next(services, "w").status == "failed"
    assert "No worker knows" in services.queue.get(job.id).last_error


def test_worker_loop_completes_and_claims_in_one_step(services: Services) -> None:
    _kind(services, "t_chain", lambda ctx: {"job": ctx.job.label})
    jobs = [services.queue.enqueue("t_chain", label=str(i)) for i in range(5)]
    verse = services.queue.enqueue("t_chain", label="v", concurrency_key="s", ordered=True)
    loop = WorkerLoop(services, concurrency=2, once=True, idle_sleep=0.01)
    assert loop.run() == 6
    for job in [*jobs, verse]:
        row = services.queue.get(job.id)
        assert row.status == "completed" and row.result == {"job": job.label} and row.attempts == 1
    assert services.engine.pool.checkedout() == 0, "the slots gave their connections back"


def test_stopping_worker_finishes_its_job_and_claims_no_other(services: Services) -> None:
    loop = WorkerLoop(services, concurrency=1, idle_sleep=0.01)

    def run(ctx: JobContext) -> None:
        loop.stop.set()  # SIGTERM arrives while the job runs

    _kind(services, "t_stop", run)
    first, *rest = [services.queue.enqueue("t_stop") for _ in range(3)]
    assert loop.run() == 1
    assert services.queue.get(first.id).status == "completed"
    assert [services.queue.get(j.id).status for j in rest] == ["pending", "pending"]
