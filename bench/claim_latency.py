"""Bench: `JobQueue.claim` latency on an empty queue vs a loaded one (PostgreSQL, then SQLite).

Run: .venv/bin/python bench/claim_latency.py

Two fresh, migrated databases side by side:
- empty: no jobs but the one about to be claimed;
- loaded: 100,000 pending no-op jobs plus 10,000 jobs blocked behind ONE ordered concurrency
  key whose head is running. The background jobs are bulk-inserted with the values
  `JobQueue.enqueue` would write: the keyed ones after the head have held=true (enqueue sets
  `held` when an open job of the key with sequence <= theirs exists), the head is running under
  a one-hour lease. The keyed jobs are the oldest, so without `held` every claim would walk
  past all 10,000 of them first. Then 20,000 jobs of two kinds an editor paused (older than the
  plain ones, so without the `paused` flag every claim would walk past them). Both databases
  have those two kinds paused (`queue_controls` rows: every claim checks them); both tables
  are VACUUM ANALYZE'd after loading.

Each sample enqueues one no-op job into each database (not timed), then times `claim` on empty
and on loaded alternately (so machine noise hits both alike), and finishes each claimed job at
once (not timed): the queues keep their size. SAMPLES samples after WARMUP untimed ones.
PostgreSQL gives the RESULT line (growth = p95_loaded / p95_empty, goal <= 2); SQLite (temp
files) is printed on its own line. If PostgreSQL is unreachable: RESULT skipped=postgres_unreachable.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import URL, Engine  # noqa: E402

from bench.queue_throughput import admin_url, reachable, scratch_db  # noqa: E402

SAMPLES = 300
WARMUP = 20
PENDING = 100_000
BLOCKED = 10_000
KEY = "bench:song-1"
DB_EMPTY = "bench_claim_empty"
DB_LOADED = "bench_claim_loaded"
PAUSED = 20_000
PAUSED_KINDS = ("bench_paused_a", "bench_paused_b")
INSERT_BATCH = 10_000


def job_row(at: datetime, **over: Any) -> dict[str, Any]:
    """A pending no-op job as `JobQueue.enqueue` writes it, created (and runnable) at `at`."""
    from studio.jobs.queue import pending_job_values

    row = pending_job_values("noop", at=at)
    # not written by enqueue; listed so every row of a bulk insert has the same keys
    row.update(
        lease_owner=None,
        lease_token=None,
        lease_expires_at=None,
        heartbeat_at=None,
        started_at=None,
    )
    row.update(over)
    return row


def background_rows() -> Iterator[dict[str, Any]]:
    """The keyed head (running), its 10,000 held followers, then 100,000 plain pending jobs."""
    now = datetime.now(UTC)
    base = now - timedelta(days=1)
    step = timedelta(microseconds=1)
    keyed = {"concurrency_key": KEY, "ordered": True}
    yield job_row(
        base,
        **keyed,
        status="running",
        stage="processing",
        attempts=1,
        lease_owner="bench/head",
        lease_token="00000000-0000-4000-8000-000000000000",
        lease_expires_at=now + timedelta(hours=1),
        heartbeat_at=now,
        started_at=now,
    )
    for i in range(1, BLOCKED + 1):
        yield job_row(base + i * step, **keyed, sequence=i, held=True)
    for i in range(PAUSED):
        yield job_row(base + (BLOCKED + 1 + i) * step, kind=PAUSED_KINDS[i % 2])
    for i in range(PENDING):
        yield job_row(base + (BLOCKED + PAUSED + 1 + i) * step)


def pause_kinds(engine: Engine) -> None:
    """Pause the two paused kinds (as an editor would: their pending jobs get flagged)."""
    from studio.jobs.queue import JobQueue

    for kind in PAUSED_KINDS:
        JobQueue(engine).pause("kind", kind, by="bench")


def load_background(engine: Engine) -> None:
    from studio.jobs.queue import jobs

    batch: list[dict[str, Any]] = []
    with engine.begin() as conn:
        for row in background_rows():
            batch.append(row)
            if len(batch) == INSERT_BATCH:
                conn.execute(jobs.insert(), batch)
                batch = []
        if batch:
            conn.execute(jobs.insert(), batch)


def analyze(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE jobs"))
    else:
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE jobs"))


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def measure(empty_url: URL | str, loaded_url: URL | str) -> dict[str, list[float]]:
    """Alternate timed claims on the two databases; return the latencies in ms."""
    from db.engine import make_engine
    from db.migrate import upgrade
    from studio.jobs.queue import JobQueue

    engines = {"empty": make_engine(empty_url), "loaded": make_engine(loaded_url)}
    try:
        for engine in engines.values():
            upgrade(engine)
        load_background(engines["loaded"])
        for engine in engines.values():
            pause_kinds(engine)
            analyze(engine)
        queues = {name: JobQueue(engine) for name, engine in engines.items()}
        times: dict[str, list[float]] = {"empty": [], "loaded": []}
        for i in range(WARMUP + SAMPLES):
            for name, queue in queues.items():
                queue.enqueue("noop")
                start = time.perf_counter()
                job = queue.claim(f"bench/{name}")
                elapsed = (time.perf_counter() - start) * 1000
                if job is None or job.kind != "noop" or job.concurrency_key is not None:
                    raise RuntimeError(f"{name}: claim returned {job!r}")
                queue.finish(job)
                if i >= WARMUP:
                    times[name].append(elapsed)
        check_loaded(engines["loaded"])
        return times
    finally:
        for engine in engines.values():
            engine.dispose()


def check_loaded(engine: Engine) -> None:
    """The loaded queue still holds its 100,000 pending, 10,000 held and 20,000 paused jobs
    after the run."""
    from studio.jobs.queue import jobs

    with engine.connect() as conn:
        counts = {
            (bool(held), bool(paused)): n
            for held, paused, n in conn.execute(
                sa.select(jobs.c.held, jobs.c.paused, sa.func.count())
                .where(jobs.c.status == "pending")
                .group_by(jobs.c.held, jobs.c.paused)
            ).all()
        }
    expected = {(False, False): PENDING, (True, False): BLOCKED, (False, True): PAUSED}
    if counts != expected:
        raise RuntimeError(f"loaded queue changed size: pending by (held, paused) {counts}")


def summary(times: dict[str, list[float]]) -> dict[str, float]:
    out = {}
    for name, values in times.items():
        out[f"p50_{name}_ms"] = statistics.median(values)
        out[f"p95_{name}_ms"] = percentile(values, 95)
    out["growth"] = out["p95_loaded_ms"] / out["p95_empty_ms"]
    return out


def describe(label: str, s: dict[str, float]) -> str:
    return (
        f"{label}: claim p50/p95 empty {s['p50_empty_ms']:.2f}/{s['p95_empty_ms']:.2f} ms, "
        f"loaded {s['p50_loaded_ms']:.2f}/{s['p95_loaded_ms']:.2f} ms, growth (p95) {s['growth']:.2f}"
    )


@contextmanager
def sqlite_files() -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="bench_claim_") as tmp:
        yield f"sqlite:///{tmp}/empty.db", f"sqlite:///{tmp}/loaded.db"


def main() -> None:
    print(
        f"inputs: {SAMPLES} timed claims per queue after {WARMUP} warm-up ones, each claimed job finished at "
        f"once; empty queue vs {PENDING:,} pending no-op jobs + {BLOCKED:,} held behind one ordered "
        f"concurrency key whose head is running"
    )
    problem = reachable()
    if problem is not None:
        print(
            f"PostgreSQL at {admin_url().render_as_string(hide_password=True)} is unreachable ({problem}); skipping."
        )
        print("RESULT skipped=postgres_unreachable")
        return

    with ExitStack() as stack:
        empty_url = stack.enter_context(scratch_db(DB_EMPTY))
        loaded_url = stack.enter_context(scratch_db(DB_LOADED))
        pg = summary(measure(empty_url, loaded_url))
    print(describe(f"PostgreSQL ({admin_url().render_as_string(hide_password=True)})", pg))

    with sqlite_files() as (empty_file, loaded_file):
        sq = summary(measure(empty_file, loaded_file))
    print(describe("SQLite (temp files, WAL)", sq))

    print(
        f"RESULT p50_empty_ms={pg['p50_empty_ms']:.2f} p95_empty_ms={pg['p95_empty_ms']:.2f} "
        f"p50_loaded_ms={pg['p50_loaded_ms']:.2f} p95_loaded_ms={pg['p95_loaded_ms']:.2f} growth={pg['growth']:.2f}"
    )


if __name__ == "__main__":
    main()
