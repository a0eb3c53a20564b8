"""Editor actions record who did them: requeued, skipped, cancel requested, cleared by whom."""

from __future__ import annotations

import sqlalchemy as sa

from studio.jobs.admin import Actor
from studio.jobs.queue import JobQueue
from studio.jobs.reads import list_jobs

ADA = Actor("ada@https://issuer", "Ada (ada@example.com)")


def _queue(engine: sa.Engine) -> JobQueue:
    return JobQueue(engine, lease_seconds=30)


def _note(engine: sa.Engine, job_id: str) -> str:
    [view] = [v for v in list_jobs(engine) if v.id == job_id]
    return view.editor_note


def test_each_editor_action_records_its_actor(engine: sa.Engine) -> None:
    queue = _queue(engine)
    failed = queue.enqueue("k", label="failed", owner_id="bob")
    queue.fail(queue.claim("w"), error_class="permanent", message="no")  # type: ignore[arg-type]
    queue.requeue(failed.id, actor=ADA)
    job = queue.get(failed.id)
    assert (job.editor_action, job.editor_id, job.editor_name) == ("requeued", ADA.id, ADA.name)
    assert job.editor_action_at is not None
    assert _note(engine, failed.id) == "requeued by Ada (ada@example.com)"

    queue.cancel(failed.id, actor=ADA)
    job = queue.get(failed.id)
    assert job.editor_action == "skipped" and job.status == "canceled"
    pending = queue.enqueue("k", label="pending")
    queue.cancel(pending.id, actor=ADA)
    assert queue.get(pending.id).last_error == "Skipped by Ada (ada@example.com)."

    running = queue.enqueue("k", label="running")
    assert queue.claim("w") is not None
    queue.cancel(running.id, actor=ADA)
    assert queue.get(running.id).editor_action == "cancel requested"
    queue.clear(running.id, actor=ADA)
    job = queue.get(running.id)
    assert job.editor_action == "cleared" and job.editor_id == ADA.id
    assert job.last_error == "Cleared by Ada (ada@example.com): the job was stuck."


def test_an_owner_acting_on_their_own_job_reads_as_its_owner(engine: sa.Engine) -> None:
    queue = _queue(engine)
    job = queue.enqueue("k", owner_id="bob")
    queue.cancel(job.id, actor=Actor("bob"))
    assert _note(engine, job.id) == "skipped by its owner"


def test_housekeeping_without_an_actor_records_nobody(engine: sa.Engine) -> None:
    queue = _queue(engine)
    job = queue.enqueue("k")
    queue.cancel(job.id)
    assert queue.get(job.id).editor_action is None and _note(engine, job.id) == ""
