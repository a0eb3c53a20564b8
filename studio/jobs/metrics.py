"""Prometheus metrics of the queue and of provider calls (prometheus_client).

Counted in every process that runs jobs; served by `studio worker --metrics-port N`
(`serve`), which also reports the queue's depth and age from the database at each scrape.

- studio_jobs_claimed_total{kind}, studio_jobs_completed_total{kind},
  studio_jobs_retried_total{kind,error_class}, studio_jobs_failed_total{kind,error_class},
  studio_jobs_ended_total{kind,outcome} (canceled, lost);
- studio_job_queue_wait_seconds{kind}: from enqueue (or the end of a retry's wait) to claim;
  studio_job_run_seconds{kind}: from claim to completion;
- studio_queue_jobs{kind,status}: pending, running and failed jobs now;
  studio_queue_oldest_pending_seconds{kind}: how long the oldest due pending job has waited;
- studio_provider_call_seconds{provider,model,call}, studio_provider_cost_usd_total{provider,
  model}, studio_provider_errors_total{provider,model,error_class}.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import sqlalchemy as sa
from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine

from db.schema import Job, table

jobs = table(Job)

WAIT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
RUN_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200)

CLAIMED = Counter("studio_jobs_claimed", "Jobs claimed by a worker", ["kind"])
COMPLETED = Counter("studio_jobs_completed", "Jobs completed", ["kind"])
RETRIED = Counter(
    "studio_jobs_retried", "Failed attempts that will be retried", ["kind", "error_class"]
)
FAILED = Counter("studio_jobs_failed", "Jobs failed for good", ["kind", "error_class"])
OTHER = Counter("studio_jobs_ended", "Jobs canceled, or lost by their worker", ["kind", "outcome"])
QUEUE_WAIT = Histogram(
    "studio_job_queue_wait_seconds",
    "From enqueue (or the end of a retry's wait) to claim",
    ["kind"],
    buckets=WAIT_BUCKETS,
)
RUN_TIME = Histogram(
    "studio_job_run_seconds", "From claim to completion", ["kind"], buckets=RUN_BUCKETS
)
PROVIDER_SECONDS = Histogram(
    "studio_provider_call_seconds",
    "Provider calls by model",
    ["provider", "model", "call"],
    buckets=RUN_BUCKETS,
)
PROVIDER_COST = Counter(
    "studio_provider_cost_usd", "What provider calls cost (USD)", ["provider", "model"]
)
PROVIDER_ERRORS = Counter(
    "studio_provider_errors", "Provider calls that failed", ["provider", "model", "error_class"]
)


class QueueCollector(Collector):
    """The queue's depth by kind and status, and its oldest due pending job, read at scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily(
            "studio_queue_jobs", "Jobs in the queue by kind and status", labels=["kind", "status"]
        )
        age = GaugeMetricFamily(
            "studio_queue_oldest_pending_seconds",
            "How long the oldest due pending job has waited",
            labels=["kind"],
        )
        now = datetime.now(UTC)
        with self.engine.connect() as conn:
            counts = conn.execute(
                sa.select(jobs.c.kind, jobs.c.status, sa.func.count())
                .where(jobs.c.status.in_(("pending", "running", "failed")))
                .group_by(jobs.c.kind, jobs.c.status)
            ).all()
            oldest = conn.execute(
                sa.select(jobs.c.kind, sa.func.min(jobs.c.run_after))
                .where(jobs.c.status == "pending", jobs.c.run_after <= now)
                .group_by(jobs.c.kind)
            ).all()
        for kind, status, n in counts:
            depth.add_metric([kind, status], float(n))
        for kind, since in oldest:
            if since is not None:
                if since.tzinfo is None:
                    since = since.replace(tzinfo=UTC)
                age.add_metric([kind], max(0.0, (now - since).total_seconds()))
        yield depth
        yield age


def serve(port: int, engine: Engine, addr: str = "0.0.0.0") -> None:
    """Serve /metrics on `port` from a background thread, with the queue's gauges."""
    REGISTRY.register(QueueCollector(engine))
    start_http_server(port, addr=addr)
