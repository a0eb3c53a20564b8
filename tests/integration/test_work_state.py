"""One source of truth for the state of work: for every kind of work (a session step, a single
storyboard image, a whole-storyboard image run, a storyboard video, a song verse), every
transition of the queue leaves what the page shows equal to the job's state — including the
ones no handler runs (an editor's requeue, skip, clear; the reaper; a cancel)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa

from db.schema import Job
from db.types import utcnow
from studio import sessions, songs
from studio import storyboards as sb
from studio.jobs.worker import process_next
from studio.services import Services

OWNER = "alice"

# What a person must see for each state of the job.
SHOWN = {
    "pending": "queued",
    "running": "running",
    "failed": "failed",
    "canceled": "canceled",
    "completed": "succeeded",
}


@dataclass
class Work:
    """One piece of work of some kind: its job, and what its page shows of it."""

    job_id: str
    shown: Callable[[], str]


def _session_step(services: Services) -> Work:
    params = sessions.GenerationParams(prompt="a fox", width=64, height=64)
    session, gen = sessions.create_session(services, OWNER, params, idempotency_key="s")
    return Work(
        gen.job_id or "",
        lambda: sessions.get_session(services, OWNER, session.id).by_id[gen.id].status,
    )


def _board(services: Services) -> str:
    board = sb.create_storyboard(services, OWNER, "Harbour")
    sb.add_entity(services, OWNER, board.id, kind="scene", name="Quay at dawn")
    return board.id


def _storyboard_image(services: Services) -> Work:
    board = _board(services)
    gen = sb.request_image(
        services, OWNER, prompt="a quay", idempotency_key="i", storyboard_id=board
    )
    return Work(gen.job_id or "", lambda: sb.get_generation(services, OWNER, gen.id).status)


def _storyboard_run(services: Services) -> Work:
    board = _board(services)
    job = sb.generate_storyboard_images(services, OWNER, board, idempotency_key="all")

    def shown() -> str:
        view = sb.get_storyboard(services, OWNER, board)
        [request] = [g for e in view.entities for g in e.generations]
        return request.status

    return Work(job.id, shown)


def _storyboard_video(services: Services) -> Work:
    board = _board(services)
    gen = sb.request_video(
        services,
        OWNER,
        prompt="waves",
        idempotency_key="v",
        options=sb.VideoOptions(duration_s=4),
        storyboard_id=board,
    )
    return Work(gen.job_id or "", lambda: sb.get_generation(services, OWNER, gen.id).status)


def _verse(services: Services) -> Work:
    song = songs.create_song_draft(
        services, OWNER, title="Tide", tags="", text="The tide comes in", idempotency_key="t"
    )
    with services.db() as db:
        job_id = db.scalar(sa.select(Job.id).where(Job.kind == "verse_illustration"))
    return Work(
        job_id or "", lambda: songs.get_song(services, OWNER, song.id).verses[0].state.status
    )


KINDS = {
    "session step": _session_step,
    "storyboard image": _storyboard_image,
    "whole storyboard": _storyboard_run,
    "storyboard video": _storyboard_video,
    "song verse": _verse,
}


def _expire_lease(services: Services, job_id: str) -> None:
    with services.db() as db:
        db.execute(
            sa.update(Job)
            .where(Job.id == job_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=5))
        )


@pytest.mark.parametrize("kind", KINDS)
def test_every_transition_shows_the_jobs_state(services: Services, kind: str) -> None:
    work = KINDS[kind](services)
    queue = services.queue

    def check(transition: str) -> None:
        job = queue.get(work.job_id)
        assert work.shown() == SHOWN[job.status], f"after {transition}: job is {job.status}"

    check("enqueue")
    claimed = queue.claim("w1")
    assert claimed is not None and claimed.id == work.job_id
    check("claim")
    assert queue.fail(claimed, error_class="temporary", message="blip") == "pending"
    check("a temporary failure (retry)")
    with services.db() as db:
        db.execute(sa.update(Job).where(Job.id == work.job_id).values(run_after=utcnow()))
    claimed = queue.claim("w1")
    assert claimed is not None
    assert queue.fail(claimed, error_class="permanent", message="Refused.") == "failed"
    check("a permanent failure")
    queue.requeue(work.job_id)
    check("an editor's requeue of the failed job")
    assert queue.cancel(work.job_id) == "canceled"
    check("skip (cancel while queued)")
    queue.requeue(work.job_id)
    check("requeue of the skipped job")
    claimed = queue.claim("w2")
    assert claimed is not None
    assert queue.cancel(work.job_id) == "running"
    check("cancel asked while running")
    queue.mark_canceled(claimed)
    check("the worker honours the cancel")
    queue.requeue(work.job_id)
    claimed = queue.claim("w3")
    assert claimed is not None
    queue.clear(work.job_id, reason="Cleared by an editor: stuck.")
    check("an editor's clear of a stuck job")
    queue.requeue(work.job_id)
    assert queue.claim("w4") is not None
    _expire_lease(services, work.job_id)
    assert queue.reap() == 1
    check("the reaper (lease expired)")
    outcome = process_next(services, "w5")
    assert outcome is not None and outcome.job_id == work.job_id
    assert outcome.status == "completed", outcome.message
    check("the worker's completion")
    assert work.shown() == "succeeded"


def test_a_refused_step_requeued_by_an_editor_reads_queued(services: Services) -> None:
    """The reported case: a step refused by the provider, requeued on the Jobs page."""
    work = _session_step(services)
    claimed = services.queue.claim("w")
    assert claimed is not None
    services.queue.fail(claimed, error_class="permanent", message="Refused.")
    assert work.shown() == "failed"
    services.queue.requeue(work.job_id)
    assert work.shown() == "queued"


def test_work_whose_job_was_pruned_keeps_its_outcome(services: Services) -> None:
    work = _session_step(services)
    assert process_next(services, "w") is not None
    with services.db() as db:
        db.execute(sa.delete(Job).where(Job.id == work.job_id))
    assert work.shown() == "succeeded"
