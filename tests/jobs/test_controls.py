"""Queue controls on both databases: pause and resume, "process one, then pause", caps, moves."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from studio.errors import Conflict, Invalid
from studio.jobs.queue import JobQueue


@pytest.fixture
def queue(engine: sa.Engine) -> JobQueue:
    return JobQueue(engine, lease_seconds=30, stale_seconds=300, max_attempts=3)


def _drain(queue: JobQueue) -> list[str]:
    """Claim and finish until nothing is claimable; the labels in claim order."""
    done = []
    while (job := queue.claim("w")) is not None:
        queue.finish(job)
        done.append(job.label or "")
    return done


def test_paused_queue_claims_nothing_until_resumed(queue: JobQueue) -> None:
    queue.enqueue("noop", label="a")
    queue.pause(by="ed@example.com")
    assert queue.claim("w") is None
    [line] = queue.pause_lines()
    assert "the whole queue" in line and "ed@example.com" in line and "since" in line
    assert queue.resume()
    assert _drain(queue) == ["a"]
    assert queue.controls() == [], "a control that does nothing is deleted"


def test_paused_kind_and_provider_are_skipped_while_others_go_on(queue: JobQueue) -> None:
    queue.enqueue("video", label="v1", provider="veo")
    queue.enqueue("image", label="i1", provider="openai")
    queue.enqueue("image", label="i2", provider="veo")
    queue.enqueue("image", label="i3")
    queue.pause("kind", "video", by="ed")
    queue.pause("provider", "veo", by="ops")
    assert _drain(queue) == ["i1", "i3"]
    assert len(queue.pause_lines()) == 2
    queue.resume("provider", "veo")
    assert _drain(queue) == ["i2"]
    queue.resume("kind", "video")
    assert _drain(queue) == ["v1"]


def test_a_running_job_finishes_under_a_pause(queue: JobQueue) -> None:
    queue.enqueue("noop", label="a")
    job = queue.claim("w")
    assert job is not None
    queue.pause(by="ed")
    queue.finish(job)
    assert queue.get(job.id).status == "completed"


def test_process_one_then_pause_runs_exactly_one(queue: JobQueue) -> None:
    for label in ("a", "b", "c"):
        queue.enqueue("noop", label=label)
    chosen = queue.let_one_through(by="ed")
    assert chosen is not None and chosen.label == "a"
    assert _drain(queue) == ["a"]
    assert queue.pause_lines(), "the queue stays paused"
    assert [queue.get(j.id).status for j in [chosen]] == ["completed"]
    again = queue.let_one_through(by="ed")
    assert again is not None and again.label == "b"
    assert _drain(queue) == ["b"]
    queue.resume()
    assert _drain(queue) == ["c"]


def test_cap_limits_running_jobs_of_a_kind(queue: JobQueue) -> None:
    for i in range(3):
        queue.enqueue("video", label=f"v{i}")
    queue.enqueue("image", label="i")
    queue.set_cap("kind", "video", 2, by="ed")
    first = [queue.claim("w"), queue.claim("w"), queue.claim("w")]
    assert [j.label for j in first if j] == ["v0", "v1", "i"], "the third video waits"
    assert queue.claim("w") is None
    waiting = [j for j in (queue.get(x.id) for x in first if x) if j.kind == "video"]
    assert {j.kind_slot for j in waiting} == {0, 1}
    video = first[0]
    assert video is not None
    queue.finish(video)
    third = queue.claim("w")
    assert third is not None and third.label == "v2"
    assert queue.get(third.id).kind_slot == 0, "the lowest free slot"
    assert queue.get(third.id).attempts == 1, "waiting for a slot spent no attempt"


def test_provider_cap_holds_across_kinds(queue: JobQueue) -> None:
    queue.enqueue("image", label="a", provider="openai")
    queue.enqueue("edit", label="b", provider="openai")
    queue.enqueue("edit", label="c", provider="local")
    queue.set_cap("provider", "openai", 1, by="ed")
    claimed = [queue.claim("w"), queue.claim("w"), queue.claim("w")]
    assert [j.label for j in claimed if j] == ["a", "c"]


def test_configured_caps_do_not_override_an_editor(queue: JobQueue) -> None:
    queue.apply_configured_caps({("kind", "video"): 2})
    [control] = queue.controls()
    assert (control.cap, control.cap_by) == (2, "configuration")
    queue.set_cap("kind", "video", 1, by="ed")
    queue.apply_configured_caps({("kind", "video"): 3})
    [control] = queue.controls()
    assert (control.cap, control.cap_by) == (1, "ed")


def test_move_to_front_is_claimed_next(queue: JobQueue) -> None:
    for label in ("a", "b", "c", "d"):
        queue.enqueue("noop", label=label)
    d = [j for j in (queue.claim("x"),) if j]  # "a" is running: moves concern pending jobs
    last = queue.enqueue("noop", label="e")
    queue.move(last.id, "front")
    assert _drain(queue) == ["e", "b", "c", "d"]
    with pytest.raises(Conflict):
        queue.move(d[0].id, "front")


def test_move_up_and_down_one_place(queue: JobQueue) -> None:
    ids = {label: queue.enqueue("noop", label=label).id for label in ("a", "b", "c", "d")}
    queue.move(ids["c"], "up")
    queue.move(ids["a"], "down")
    queue.move(ids["d"], "down")  # already last: nothing changes
    assert _drain(queue) == ["c", "a", "b", "d"]
    with pytest.raises(Invalid):
        queue.move(ids["a"], "sideways")


def test_a_paused_backlog_leaves_the_claim_index(queue: JobQueue) -> None:
    """Pending jobs of a paused kind or provider are flagged `paused` (out of the claim
    index), also when enqueued during the pause, and unflagged when no pause holds them."""
    before = queue.enqueue("video", label="before", provider="veo")
    queue.pause("kind", "video", by="ed")
    queue.pause("provider", "veo", by="ed")
    during = queue.enqueue("video", label="during", provider="openai")
    other = queue.enqueue("image", label="other")
    assert [queue.get(j.id).paused for j in (before, during, other)] == [True, True, False]
    queue.resume("kind", "video")
    assert [queue.get(j.id).paused for j in (before, during)] == [True, False], (
        "the provider's pause still holds the first"
    )
    queue.resume("provider", "veo")
    assert not queue.get(before.id).paused
    assert sorted(_drain(queue)) == ["before", "during", "other"]


def test_a_paused_queue_claims_nothing_but_the_job_let_through(queue: JobQueue) -> None:
    for label in ("a", "b"):
        queue.enqueue("noop", label=label)
    queue.pause(by="ed")
    assert queue.claim("w") is None
    queue.let_one_through(by="ed")
    assert _drain(queue) == ["a"]
