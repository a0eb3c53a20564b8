"""Queue semantics on both databases."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from db.schema import Job
from db.types import utcnow
from studio.errors import Conflict, InProgress
from studio.jobs.queue import DuplicateKey, JobQueue, LeaseLost
from studio.jobs.retry import backoff_seconds


@pytest.fixture
def queue(engine: sa.Engine) -> JobQueue:
    return JobQueue(engine, lease_seconds=30, stale_seconds=300, max_attempts=3)


def _status(queue: JobQueue, job_id: str) -> str:
    return queue.get(job_id).status


def _age(engine: sa.Engine, job_id: str, **columns: object) -> None:
    with engine.begin() as conn:
        conn.execute(sa.update(Job).where(Job.id == job_id).values(**columns))


def test_claim_order_is_priority_then_oldest(queue: JobQueue) -> None:
    a = queue.enqueue("noop", label="a")
    b = queue.enqueue("noop", label="b", priority=10)
    c = queue.enqueue("noop", label="c")
    order = [queue.claim("w").id for _ in range(3)]
    assert order == [b.id, a.id, c.id]
    assert queue.claim("w") is None


def test_claim_sets_lease_and_counts_attempt(queue: JobQueue) -> None:
    job = queue.enqueue("noop")
    claimed = queue.claim("w1")
    assert claimed is not None and claimed.id == job.id
    row = queue.get(job.id)
    assert row.status == "running" and row.attempts == 1 and row.lease_owner == "w1"
    assert row.lease_expires_at > utcnow()


def test_kinds_filter(queue: JobQueue) -> None:
    queue.enqueue("a")
    b = queue.enqueue("b")
    assert queue.claim("w", kinds=["b"]).id == b.id
    assert queue.claim("w", kinds=["b"]) is None


def test_idempotent_enqueue_returns_existing(queue: JobQueue) -> None:
    first = queue.enqueue("noop", {"x": 1}, idempotency_key="form-1")
    again = queue.enqueue("noop", {"x": 2}, idempotency_key="form-1")
    assert again.id == first.id and again.payload == {"x": 1}


def test_new_only_enqueue_refuses_a_used_key_and_writes_nothing(
    queue: JobQueue, engine: sa.Engine
) -> None:
    first = queue.enqueue("noop", {"x": 1}, idempotency_key="form-2", new_only=True)
    with pytest.raises(DuplicateKey) as caught:
        queue.enqueue("noop", {"x": 2}, idempotency_key="form-2", new_only=True)
    assert caught.value.job.id == first.id and caught.value.job.payload == {"x": 1}
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Job)).scalar() == 1


def test_idempotent_enqueue_from_20_threads(queue: JobQueue, engine: sa.Engine) -> None:
    ids: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(20)

    def go() -> None:
        try:
            barrier.wait()
            ids.append(queue.enqueue("noop", idempotency_key="same").id)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(ids)) == 1 and len(ids) == 20
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Job)).scalar() == 1


def test_same_key_runs_one_at_a_time_in_sequence(queue: JobQueue) -> None:
    jobs = [
        queue.enqueue("verse", concurrency_key="song:1", ordered=True, sequence=i)
        for i in (1, 2, 3)
    ]
    other = queue.enqueue("verse", concurrency_key="song:2", ordered=True, sequence=1)
    first = queue.claim("w")
    second = queue.claim("w")
    assert {first.id, second.id} == {jobs[0].id, other.id}
    assert queue.claim("w") is None  # verse 2 waits for verse 1
    queue.finish(first if first.id == jobs[0].id else second)
    assert queue.claim("w").id == jobs[1].id


def test_enqueue_out_of_order_still_claims_by_sequence(queue: JobQueue) -> None:
    late = queue.enqueue("verse", concurrency_key="k", ordered=True, sequence=2)
    early = queue.enqueue("verse", concurrency_key="k", ordered=True, sequence=1)
    assert queue.claim("w").id == early.id
    assert queue.claim("w") is None
    queue.finish(queue.claim("x") or _claimed(queue, early.id))
    assert queue.claim("w").id == late.id


def _claimed(queue: JobQueue, job_id: str):  # type: ignore[no-untyped-def]
    # Rebuild the claimed handle of a running job (tests only).
    from studio.jobs.queue import ClaimedJob

    job = queue.get(job_id)
    return ClaimedJob(
        id=job.id,
        kind=job.kind,
        payload=job.payload,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        lease_token=job.lease_token,
        lease_owner=job.lease_owner,
        owner_id=job.owner_id,
        concurrency_key=job.concurrency_key,
        sequence=job.sequence,
        label=job.label,
    )


def test_failed_ordered_job_holds_later_until_requeued(queue: JobQueue) -> None:
    v1 = queue.enqueue("verse", concurrency_key="s", ordered=True, sequence=1)
    v2 = queue.enqueue("verse", concurrency_key="s", ordered=True, sequence=2)
    c = queue.claim("w")
    assert queue.fail(c, error_class="permanent", message="bad prompt") == "failed"
    assert queue.claim("w") is None  # verse 2 is held by failed verse 1
    requeued = queue.requeue(v1.id)
    assert requeued.status == "pending" and requeued.retry_count == 1 and requeued.attempts == 0
    again = queue.claim("w")
    assert again.id == v1.id  # ordering preserved: verse 1 again, not verse 2
    queue.finish(again)
    assert queue.claim("w").id == v2.id


def test_skipping_failed_ordered_job_lets_the_rest_continue(queue: JobQueue) -> None:
    queue.enqueue("verse", concurrency_key="s", ordered=True, sequence=1)
    v2 = queue.enqueue("verse", concurrency_key="s", ordered=True, sequence=2)
    c = queue.claim("w")
    queue.fail(c, error_class="auth", message="no key")
    assert queue.cancel(c.id) == "canceled"
    assert queue.claim("w").id == v2.id


def test_failed_unordered_job_does_not_hold_its_key(queue: JobQueue) -> None:
    queue.enqueue("board", concurrency_key="board:1")
    c = queue.claim("w")
    queue.fail(c, error_class="permanent", message="x")
    nxt = queue.enqueue("board", concurrency_key="board:1")
    assert queue.claim("w").id == nxt.id


def test_heartbeat_extends_lease_and_reports_cancel(queue: JobQueue, engine: sa.Engine) -> None:
    queue.enqueue("noop")
    c = queue.claim("w")
    _age(engine, c.id, lease_expires_at=utcnow() + timedelta(seconds=1))
    assert queue.heartbeat(c, stage="generating") is False
    row = queue.get(c.id)
    assert row.lease_expires_at > utcnow() + timedelta(seconds=20) and row.stage == "generating"
    assert queue.cancel(c.id) == "running"
    assert queue.heartbeat(c) is True


def test_lost_lease_cannot_finish_or_fail(queue: JobQueue, engine: sa.Engine) -> None:
    queue.enqueue("noop")
    c = queue.claim("w1")
    _age(engine, c.id, lease_expires_at=utcnow() - timedelta(seconds=1))
    assert queue.reap() == 1
    assert _status(queue, c.id) == "pending"
    c2 = queue.claim("w2")
    assert c2.id == c.id and c2.lease_token != c.lease_token
    with pytest.raises(LeaseLost):
        queue.finish(c)
    with pytest.raises(LeaseLost):
        queue.fail(c, error_class="temporary", message="late")
    with pytest.raises(LeaseLost):
        queue.heartbeat(c)
    queue.finish(c2)
    assert queue.get(c.id).status == "completed"


def test_reap_fails_job_out_of_attempts(queue: JobQueue, engine: sa.Engine) -> None:
    job = queue.enqueue("noop", max_attempts=1)
    queue.claim("w")
    _age(engine, job.id, lease_expires_at=utcnow() - timedelta(seconds=1))
    queue.reap()
    row = queue.get(job.id)
    assert row.status == "failed" and "stopped responding" in row.last_error


def test_temporary_errors_back_off_then_fail(queue: JobQueue, engine: sa.Engine) -> None:
    job = queue.enqueue("noop", max_attempts=2)
    c = queue.claim("w")
    assert queue.fail(c, error_class="temporary", message="502", stage="generating") == "pending"
    row = queue.get(job.id)
    assert row.run_after > utcnow() and row.failure_stage == "generating"
    assert row.error_class == "temporary" and row.last_error == "502"
    assert queue.claim("w") is None  # backing off
    _age(engine, job.id, run_after=utcnow() - timedelta(seconds=1))
    c = queue.claim("w")
    assert queue.fail(c, error_class="temporary", message="502 again") == "failed"


def test_rate_limit_waits_without_spending_an_attempt(queue: JobQueue) -> None:
    job = queue.enqueue("noop", max_attempts=1)
    c = queue.claim("w")
    before = utcnow()
    assert queue.fail(c, error_class="rate_limit", message="429", retry_after_s=42) == "pending"
    row = queue.get(job.id)
    assert row.attempts == 0 and row.rate_limit_waits == 1
    assert before + timedelta(seconds=40) < row.run_after < before + timedelta(seconds=60)


def test_rate_limit_waits_are_bounded(queue: JobQueue, engine: sa.Engine) -> None:
    job = queue.enqueue("noop", max_attempts=1)
    _age(engine, job.id, rate_limit_waits=10)
    c = queue.claim("w")
    assert queue.fail(c, error_class="rate_limit", message="429") == "failed"


@pytest.mark.parametrize("error_class", ["permanent", "auth"])
def test_permanent_and_auth_fail_at_once(queue: JobQueue, error_class: str) -> None:
    job = queue.enqueue("noop", max_attempts=5)
    c = queue.claim("w")
    assert queue.fail(c, error_class=error_class, message="no") == "failed"
    assert queue.get(job.id).error_class == error_class


def test_backoff_is_capped_and_jittered() -> None:
    import random

    rng = random.Random(1)
    values = [backoff_seconds(a, rng=rng) for a in range(1, 30)]
    assert all(0 < v <= 300 for v in values)
    assert values[0] < values[3]
    assert len({round(v, 3) for v in values[-5:]}) > 1  # jitter


def test_clear_fails_running_job_and_revokes_lease(queue: JobQueue) -> None:
    queue.enqueue("noop")
    c = queue.claim("w")
    queue.clear(c.id)
    row = queue.get(c.id)
    assert row.status == "failed" and "Cleared" in row.last_error and row.lease_token is None
    with pytest.raises(LeaseLost):
        queue.finish(c)
    with pytest.raises(Conflict):
        queue.clear(c.id)


def test_cancel_pending_job_at_once(queue: JobQueue) -> None:
    job = queue.enqueue("noop")
    assert queue.cancel(job.id) == "canceled"
    assert queue.claim("w") is None
    with pytest.raises(Conflict):
        queue.cancel(job.id)


def test_start_exclusive_answers_in_progress(queue: JobQueue) -> None:
    first = queue.start_exclusive("board", {}, concurrency_key="board:9")
    with pytest.raises(InProgress) as info:
        queue.start_exclusive("board", {}, concurrency_key="board:9")
    assert info.value.job_id == first.id and "already in progress" in info.value.user_message
    queue.claim("w")
    with pytest.raises(InProgress):
        queue.start_exclusive("board", {}, concurrency_key="board:9")


def test_start_exclusive_clears_stale_job(queue: JobQueue, engine: sa.Engine) -> None:
    first = queue.start_exclusive("board", {}, concurrency_key="board:9")
    c = queue.claim("w")
    _age(engine, c.id, heartbeat_at=utcnow() - timedelta(seconds=301))
    second = queue.start_exclusive("board", {}, concurrency_key="board:9")
    old = queue.get(first.id)
    assert old.status == "failed" and "automatically" in old.last_error
    assert queue.claim("w").id == second.id
    with pytest.raises(LeaseLost):
        queue.finish(c)


def test_manual_clear_then_new_exclusive_work_runs(queue: JobQueue) -> None:
    queue.start_exclusive("board", {}, concurrency_key="b")
    c = queue.claim("w")
    queue.clear(c.id)
    nxt = queue.start_exclusive("board", {}, concurrency_key="b")
    assert queue.claim("w").id == nxt.id


def test_prune_removes_old_finished_jobs(queue: JobQueue, engine: sa.Engine) -> None:
    done = queue.enqueue("noop")
    keep = queue.enqueue("noop")
    queue.finish(queue.claim("w"))
    _age(engine, done.id, completed_at=utcnow() - timedelta(days=40))
    assert queue.prune(older_than=timedelta(days=30)) == 1
    assert queue.get(keep.id).status == "pending"


def test_thousands_blocked_behind_one_key_do_not_hide_other_work(
    queue: JobQueue, engine: sa.Engine
) -> None:
    with engine.begin() as conn:
        queue.enqueue("verse", concurrency_key="big", ordered=True, sequence=0, db=conn)
        for i in range(1, 300):
            queue.enqueue("verse", concurrency_key="big", ordered=True, sequence=i, db=conn)
    head = queue.claim("w")
    assert head.sequence == 0
    free = queue.enqueue("noop")
    assert queue.claim("w").id == free.id
    with engine.connect() as conn:
        held = conn.execute(sa.select(sa.func.count()).where(Job.held.is_(True))).scalar()
    assert held == 299


# -- the worker slot's steps: a held connection, finish and claim together ----------------------


def test_finish_and_claim_completes_one_and_claims_the_next(queue: JobQueue) -> None:
    a = queue.enqueue("noop", label="a")
    b = queue.enqueue("noop", label="b")
    first = queue.claim("w")
    nxt = queue.finish_and_claim(first, "w", result={"n": 1}, cost_actual=0.5)
    assert first.id == a.id and nxt is not None and nxt.id == b.id
    done = queue.get(a.id)
    assert done.status == "completed" and done.result == {"n": 1} and done.cost_actual == 0.5
    assert done.lease_token is None
    running = queue.get(b.id)
    assert running.status == "running" and running.lease_owner == "w" and running.attempts == 1
    assert running.lease_token == nxt.lease_token and nxt.stage == "processing"
    assert queue.finish_and_claim(nxt, "w") is None
    assert queue.get(b.id).status == "completed"


def test_finish_and_claim_with_a_lost_lease_changes_nothing(
    queue: JobQueue, engine: sa.Engine
) -> None:
    queue.enqueue("noop")
    stale = queue.claim("w1")
    _age(engine, stale.id, lease_expires_at=utcnow() - timedelta(seconds=1))
    queue.reap()
    again = queue.claim("w2")
    assert again.id == stale.id
    other = queue.enqueue("noop")
    with pytest.raises(LeaseLost):
        queue.finish_and_claim(stale, "w1")
    assert queue.get(other.id).status == "pending", "a worker that lost its lease claims nothing"
    assert queue.get(stale.id).lease_token == again.lease_token


def test_finish_and_claim_hands_a_key_on_in_order(queue: JobQueue) -> None:
    v1 = queue.enqueue("verse", concurrency_key="song", ordered=True, sequence=1)
    v2 = queue.enqueue("verse", concurrency_key="song", ordered=True, sequence=2)
    v3 = queue.enqueue("verse", concurrency_key="song", ordered=True, sequence=3)
    job = queue.claim("w")
    order = [job.id]
    while (job := queue.finish_and_claim(job, "w")) is not None:
        order.append(job.id)
    assert order == [v1.id, v2.id, v3.id]


def test_finish_and_claim_respects_kinds(queue: JobQueue) -> None:
    queue.enqueue("a")
    a = queue.claim("w", kinds=["a"])
    queue.enqueue("b")
    wanted = queue.enqueue("a")
    assert queue.finish_and_claim(a, "w", kinds=["a"]).id == wanted.id


def test_a_held_connection_serves_many_steps(queue: JobQueue, engine: sa.Engine) -> None:
    for i in range(3):
        queue.enqueue("noop", label=str(i))
    keyed = queue.enqueue("verse", concurrency_key="k", ordered=True, sequence=1)
    with queue.connect() as conn:
        done = []
        while (job := queue.claim("w", conn=conn)) is not None:
            queue.finish(job, conn=conn)
            done.append(job)
        assert keyed.id in {j.id for j in done} and len(done) == 4
        with pytest.raises(LeaseLost):  # a failed step leaves the connection usable
            queue.finish(done[0], conn=conn)
        late = queue.enqueue("noop")
        assert queue.claim("w", conn=conn).id == late.id
    with engine.connect() as conn:
        statuses = conn.execute(sa.select(Job.status, sa.func.count()).group_by(Job.status)).all()
    assert dict(statuses) == {"completed": 4, "running": 1}


def test_finish_and_claim_falls_back_to_two_steps(
    queue: JobQueue, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: when the one-statement step meets a concurrent claim on a key (a unique
    violation), nothing was written, and it finishes and claims in two steps instead."""
    if not queue.is_pg:
        pytest.skip("the one-statement step is PostgreSQL's")
    import studio.jobs.queue as queue_module

    a = queue.enqueue("noop")
    b = queue.enqueue("noop")
    collides = sa.text("INSERT INTO jobs (id) VALUES (NULL)")  # any integrity error will do
    monkeypatch.setattr(queue_module, "finish_and_claim_statement", lambda kinds: collides)
    first = queue.claim("w")
    assert queue.finish_and_claim(first, "w").id == b.id
    assert queue.get(a.id).status == "completed"
