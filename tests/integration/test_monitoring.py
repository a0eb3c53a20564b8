"""Monitoring figures on both databases: success rate, completion times, costs by kind,
model, owner and day."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from db.schema import Job, UsageLedger
from db.types import utcnow
from studio import monitoring
from studio.services import Services


def _run(services: Services, kind: str, seconds: float, *, fail: bool = False) -> str:
    """One job of `kind` claimed, then completed (or failed) after `seconds` of running."""
    q = services.queue
    q.enqueue(kind, owner_id="ann", label=f"{kind} job")
    job = q.claim("w", kinds=[kind])
    assert job is not None
    if fail:
        q.fail(job, error_class="permanent", message="refused")
    else:
        q.finish(job)
    with services.db() as db:
        row = db.get_one(Job, job.id)
        row.started_at = row.completed_at - timedelta(seconds=seconds)
    return job.id


def _ledger(
    services: Services,
    job_id: str,
    kind: str,
    model: str,
    owner: str,
    actual: float | None,
    estimate: float,
    days_ago: int = 0,
) -> None:
    with services.db() as db:
        db.add(
            UsageLedger(
                job_id=job_id,
                owner_id=owner,
                kind=kind,
                provider="openai",
                model=model,
                cost_actual=actual,
                cost_estimate=estimate,
                created_at=utcnow() - timedelta(days=days_ago),
            )
        )


def test_percentile_nearest_rank() -> None:
    assert monitoring.percentile([], 95) is None
    assert monitoring.percentile([3.0], 95) == 3.0
    assert monitoring.percentile([float(i) for i in range(1, 101)], 95) == 95.0
    assert monitoring.percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0


def test_success_rate_times_and_cost_by_kind(services: Services) -> None:
    ids = [_run(services, "session_generation", s) for s in (1.0, 2.0, 3.0, 10.0)]
    _run(services, "session_generation", 5.0, fail=True)
    video = _run(services, "storyboard_video", 60.0)
    services.queue.enqueue("storyboard_video", owner_id="ann")  # still waiting
    _ledger(services, ids[0], "session_generation", "gpt-image-1", "ann", 0.04, 0.05)
    _ledger(services, ids[1], "session_generation", "gpt-image-1", "ann", None, 0.05)
    _ledger(services, video, "storyboard_video", "veo", "bob", 1.20, 1.20)

    stats = {s.kind: s for s in monitoring.job_stats(services.engine, utcnow() - timedelta(days=1))}
    gen = stats["session_generation"]
    assert (gen.total, gen.completed, gen.failed, gen.waiting) == (5, 4, 1, 0)
    assert gen.success_rate == 0.8
    assert abs(gen.avg_s - 4.0) < 0.01 and abs(gen.p95_s - 10.0) < 0.01
    assert abs(gen.cost - 0.09) < 1e-9  # the actual where known, else the estimate
    vid = stats["storyboard_video"]
    assert (vid.total, vid.completed, vid.waiting) == (2, 1, 1) and vid.cost == 1.2
    everything = stats["all"]
    assert everything.total == 7 and abs(everything.cost - 1.29) < 1e-9


def test_costs_per_day_model_and_owner_and_the_period(services: Services) -> None:
    a = _run(services, "session_generation", 1.0)
    b = _run(services, "session_generation", 1.0)
    _ledger(services, a, "session_generation", "gpt-image-1", "ann", 0.04, 0.04)
    _ledger(services, b, "session_generation", "gpt-image-1", "ann", None, 0.07, days_ago=3)
    week = monitoring.cost_rows(services.engine, utcnow() - timedelta(days=7))
    assert [(r.owner, r.model, r.cost, r.estimated) for r in week] == [
        ("ann", "gpt-image-1", 0.07, True),
        ("ann", "gpt-image-1", 0.04, False),
    ]
    assert week[0].day < week[1].day
    today = monitoring.cost_rows(services.engine, utcnow() - timedelta(days=1))
    assert [r.cost for r in today] == [0.04]
    days = monitoring.daily_latency(services.engine, utcnow() - timedelta(days=1))
    assert len(days) == 1 and days[0].completed == 2


def test_no_work_gives_empty_figures(services: Services) -> None:
    [everything] = monitoring.job_stats(services.engine, utcnow() - timedelta(days=1))
    assert everything.total == 0 and everything.success_rate is None and everything.p95_s is None
    with services.db() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
