"""Monitoring: success rate, completion time and cost of the queue's work, by kind,
model and owner over time. Plain queries over `jobs` and `usage_ledger`; percentiles are
computed here so SQLite and PostgreSQL give the same figures."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from db.schema import Job, UsageLedger, table
from db.types import utcnow

jobs = table(Job)
ledger = table(UsageLedger)


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0..100) by the nearest-rank method; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class KindStats:
    """How one kind of work (or all of it, kind "all") went in the period."""

    kind: str
    total: int
    completed: int
    failed: int
    canceled: int
    waiting: int  # pending or running now
    avg_s: float | None  # claim to completion, completed jobs
    p95_s: float | None
    cost: float  # actual where known, else the estimate

    @property
    def success_rate(self) -> float | None:
        """Completed out of finished (completed + failed); None when nothing finished."""
        finished = self.completed + self.failed
        return self.completed / finished if finished else None


def _stats(kind: str, rows: list[sa.Row], cost: float) -> KindStats:
    counts: dict[str, int] = defaultdict(int)
    durations: list[float] = []
    for r in rows:
        counts[r.status] += 1
        if r.status == "completed" and r.started_at is not None and r.completed_at is not None:
            durations.append(max(0.0, (r.completed_at - r.started_at).total_seconds()))
    return KindStats(
        kind=kind,
        total=len(rows),
        completed=counts["completed"],
        failed=counts["failed"],
        canceled=counts["canceled"],
        waiting=counts["pending"] + counts["running"],
        avg_s=sum(durations) / len(durations) if durations else None,
        p95_s=percentile(durations, 95),
        cost=round(cost, 6),
    )


def job_stats(engine: Engine, since: datetime) -> list[KindStats]:
    """Per kind of work created since `since`, and a first row "all" for everything."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(jobs.c.kind, jobs.c.status, jobs.c.started_at, jobs.c.completed_at).where(
                jobs.c.created_at >= since
            )
        ).all()
        costs: dict[str, float | None] = {
            kind: cost
            for kind, cost in conn.execute(
                sa.select(ledger.c.kind, sa.func.sum(_cost()))
                .where(ledger.c.created_at >= since)
                .group_by(ledger.c.kind)
            )
        }
    by_kind: dict[str, list[sa.Row]] = defaultdict(list)
    for r in rows:
        by_kind[r.kind].append(r)
    per_kind = [
        _stats(kind, by_kind[kind], float(costs.get(kind) or 0.0))
        for kind in sorted(set(by_kind) | set(costs))
    ]
    total_cost = sum(float(c or 0.0) for c in costs.values())
    return [_stats("all", list(rows), total_cost), *per_kind]


def _cost() -> sa.ColumnElement[float]:
    return sa.func.coalesce(ledger.c.cost_actual, ledger.c.cost_estimate, 0.0)


@dataclass(frozen=True)
class CostRow:
    day: date
    kind: str
    provider: str
    model: str
    owner: str
    cost: float
    estimated: bool  # no actual cost was reported for (some of) it


def cost_rows(engine: Engine, since: datetime) -> list[CostRow]:
    """Ledger costs since `since`, summed per UTC day, kind, model and owner."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                ledger.c.created_at,
                ledger.c.kind,
                ledger.c.provider,
                ledger.c.model,
                ledger.c.owner_id,
                ledger.c.cost_actual,
                ledger.c.cost_estimate,
            ).where(ledger.c.created_at >= since)
        ).all()
    sums: dict[tuple[date, str, str, str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for r in rows:
        key = (r.created_at.date(), r.kind, r.provider, r.model, r.owner_id or "–")
        entry = sums[key]
        entry[0] += r.cost_actual if r.cost_actual is not None else (r.cost_estimate or 0.0)
        entry[1] += 1.0 if r.cost_actual is None and r.cost_estimate else 0.0
    return [
        CostRow(day, kind, provider, model, owner, round(cost, 6), estimated > 0)
        for (day, kind, provider, model, owner), (cost, estimated) in sorted(sums.items())
    ]


@dataclass(frozen=True)
class DayLatency:
    day: date
    completed: int
    failed: int
    avg_s: float | None
    p95_s: float | None


def daily_latency(engine: Engine, since: datetime) -> list[DayLatency]:
    """Per UTC day of completion: jobs completed and failed, average and p95 run time."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(jobs.c.status, jobs.c.started_at, jobs.c.completed_at).where(
                jobs.c.completed_at >= since, jobs.c.status.in_(("completed", "failed"))
            )
        ).all()
    days: dict[date, list[sa.Row]] = defaultdict(list)
    for r in rows:
        days[r.completed_at.date()].append(r)
    out = []
    for day in sorted(days):
        stats = _stats("day", days[day], 0.0)
        out.append(DayLatency(day, stats.completed, stats.failed, stats.avg_s, stats.p95_s))
    return out


PERIODS = {
    "Last 24 hours": timedelta(days=1),
    "Last 7 days": timedelta(days=7),
    "Last 30 days": timedelta(days=30),
}


def since(period: str, now: datetime | None = None) -> datetime:
    """The start of a named period (see PERIODS)."""
    return (now or utcnow()) - PERIODS[period]
