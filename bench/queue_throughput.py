"""Bench: draining 20,000 no-op jobs on PostgreSQL with 4 in-flight slots, three ways.

Run: .venv/bin/python bench/queue_throughput.py

- ours: `JobQueue` on a fresh, migrated database. Each of 4 workers loops claim -> finish (a
  no-op job does no work) until `claim` returns None. A short probe (PROBE_JOBS jobs) runs the
  workers both as 4 threads sharing one engine (how `WorkerLoop` runs) and as 4 spawned processes
  with one engine each (how 4 `studio worker` processes run); the full run uses the faster.
- procrastinate: procrastinate 3.x on its own fresh database, its schema applied by its
  schema manager, 20,000 deferred no-op tasks (an `async def` that returns None), drained by one
  worker with concurrency=4 and wait=False, every other worker option at its default.
- limit: what the database itself allows for the same work: 4 connections (autocommit, raw
  psycopg), each looping over its share of 20,000 rows of a plain table doing two single-row
  UPDATE transactions per job (status='running', then status='done'), each its own commit.
  Run as threads and as processes; the faster is limit_jobs_s.

All three use the same server and its durability settings (synchronous_commit as configured);
each gets its own scratch database, created and dropped through the `postgres` database. The
jobs are inserted in bulk before the clock starts, then VACUUM ANALYZE'd (same treatment for
all three). The clock starts when the 4 workers are connected and released together and stops
at the last finish. The RESULT values `*_jobs_s` are throughputs in jobs per second (N_JOBS over
that time); ratio = ours / procrastinate and fraction_of_limit = ours / limit, both in jobs/s.
Goals: ratio >= 2, fraction_of_limit >= 0.6.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing as mp
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import URL, make_url  # noqa: E402

N_JOBS = 20_000
PROBE_JOBS = 2_000  # threads vs processes for ours, decided on a short run of this many jobs
SLOTS = 4
DEFAULT_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DB_OURS = "bench_queue_ours"
DB_PROCRASTINATE = "bench_queue_procrastinate"
DB_LIMIT = "bench_queue_limit"


# -- scratch databases ----------------------------------------------------------------------


def server_url() -> URL:
    u = make_url(os.environ.get("STUDIO_BENCH_DATABASE_URL", DEFAULT_SERVER_URL))
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u


def admin_url() -> URL:
    return server_url().set(database="postgres")


def db_url(name: str) -> URL:
    return server_url().set(database=name)


def libpq_dsn(name: str) -> str:
    """The same URL in libpq form (`postgresql://…`) for raw psycopg and procrastinate."""
    return db_url(name).set(drivername="postgresql").render_as_string(hide_password=False)


def reachable() -> str | None:
    """None when the server answers, else a short reason."""
    engine = sa.create_engine(admin_url(), connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return None
    except Exception as err:  # any connection failure means: skip
        return f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
    finally:
        engine.dispose()


@contextmanager
def scratch_db(name: str) -> Iterator[URL]:
    """Create a fresh database `name` (dropping a leftover one), drop it afterwards."""
    admin = sa.create_engine(admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        yield db_url(name)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def vacuum_analyze(url: URL, table: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f"VACUUM ANALYZE {table}"))
    engine.dispose()


# -- running 4 workers as threads or processes ------------------------------------------------

# A worker is `fn(index, barrier, results, *args)`: it connects, waits on the barrier, records
# its start, drains its work, and puts (start, end, jobs_done) on `results`.
Worker = Callable[..., None]


def drive(mode: str, fn: Worker, *args: Any) -> tuple[float, int]:
    """Run SLOTS workers as 'threads' or 'processes'; return (seconds, jobs done)."""
    if mode == "threads":
        barrier: Any = threading.Barrier(SLOTS)
        import queue

        results: Any = queue.Queue()
        runners: list[Any] = [
            threading.Thread(target=fn, args=(i, barrier, results, *args)) for i in range(SLOTS)
        ]
    else:
        ctx = mp.get_context("spawn")
        barrier = ctx.Barrier(SLOTS)
        results = ctx.Queue()
        runners = [ctx.Process(target=fn, args=(i, barrier, results, *args)) for i in range(SLOTS)]
    for r in runners:
        r.start()
    reports = [results.get(timeout=600) for _ in range(SLOTS)]
    for r in runners:
        r.join()
    errors = [rep for rep in reports if isinstance(rep, str)]
    if errors:
        raise RuntimeError(f"worker failed: {errors[0]}")
    start = min(rep[0] for rep in reports)
    end = max(rep[1] for rep in reports)
    return end - start, sum(rep[2] for rep in reports)


# -- ours -----------------------------------------------------------------------------------


def ours_rows(n: int) -> list[dict[str, Any]]:
    """Rows with the column values `JobQueue.enqueue('noop')` writes, created 1 µs apart."""
    from studio.queue import pending_job_values

    base = datetime.now(UTC) - timedelta(seconds=1)
    rows = []
    for i in range(n):
        at = base + timedelta(microseconds=i)
        rows.append(pending_job_values("noop", at=at))
    return rows


def ours_prepare(url: URL, n: int) -> None:
    """Migrate (once) and (re)load `n` pending no-op jobs."""
    from db.engine import make_engine
    from db.migrate import upgrade
    from studio.queue import jobs

    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE jobs CASCADE"))
        conn.execute(jobs.insert(), ours_rows(n))
    engine.dispose()
    vacuum_analyze(url, "jobs")


def ours_drain(queue: Any, worker_id: str) -> int:
    done = 0
    while True:
        job = queue.claim(worker_id)
        if job is None:
            return done
        queue.finish(job, result=None)
        done += 1


def _ours_slot(index: int, barrier: Any, results: Any, queue: Any) -> None:
    try:
        barrier.wait()
        start = time.perf_counter()
        done = ours_drain(queue, f"bench/{index}")
        results.put((start, time.perf_counter(), done))
    except Exception as err:
        results.put(f"{type(err).__name__}: {err}")
        raise


def ours_thread_worker(index: int, barrier: Any, results: Any, queue: Any) -> None:
    _ours_slot(index, barrier, results, queue)


def ours_process_worker(index: int, barrier: Any, results: Any, url_text: str) -> None:
    from db.engine import make_engine
    from studio.queue import JobQueue

    engine = make_engine(make_url(url_text), pool_size=1)
    with engine.connect() as conn:  # connect before the clock starts
        conn.execute(sa.text("SELECT 1"))
    try:
        _ours_slot(index, barrier, results, JobQueue(engine))
    finally:
        engine.dispose()


def count_ours(url: URL) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, count(*) FROM jobs GROUP BY status")).all()
    engine.dispose()
    return {r[0]: r[1] for r in rows}


def run_ours(url: URL, mode: str, n: int) -> float:
    from db.engine import make_engine
    from studio.queue import JobQueue

    ours_prepare(url, n)
    url_text = url.render_as_string(hide_password=False)
    if mode == "threads":
        engine = make_engine(url, pool_size=SLOTS)
        conns = [engine.connect() for _ in range(SLOTS)]  # warm the pool before the clock
        for c in conns:
            c.close()
        seconds, done = drive(mode, ours_thread_worker, JobQueue(engine))
        engine.dispose()
    else:
        seconds, done = drive(mode, ours_process_worker, url_text)
    counts = count_ours(url)
    if done != n or counts.get("completed") != n:
        raise RuntimeError(f"ours ({mode}) did not drain the queue: done={done} statuses={counts}")
    return seconds


# -- procrastinate --------------------------------------------------------------------------


async def _procrastinate(dsn: str) -> tuple[float, dict[str, int]]:
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))

    @app.task(name="noop")
    async def noop() -> None:
        return None

    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        for at in range(0, N_JOBS, 5_000):
            await noop.batch_defer_async(*({} for _ in range(min(5_000, N_JOBS - at))))
        async with app.connector.pool.connection() as conn:
            await conn.set_autocommit(True)
            await conn.execute("VACUUM ANALYZE procrastinate_jobs")
        start = time.perf_counter()
        await app.run_worker_async(concurrency=SLOTS, wait=False, install_signal_handlers=False)
        seconds = time.perf_counter() - start
        async with app.connector.pool.connection() as conn:
            cur = await conn.execute("SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1")
            counts = {r[0]: r[1] for r in await cur.fetchall()}
    return seconds, counts


def run_procrastinate(url: URL) -> float:
    for name in ("procrastinate", "psycopg", "psycopg.pool"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    seconds, counts = asyncio.run(_procrastinate(libpq_dsn(url.database or "")))
    if counts.get("succeeded") != N_JOBS:
        raise RuntimeError(f"procrastinate did not drain the queue: {counts}")
    return seconds


# -- the database's own limit ---------------------------------------------------------------


def limit_prepare(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS limit_jobs")
        conn.execute("CREATE TABLE limit_jobs (id bigint PRIMARY KEY, status varchar(20) NOT NULL)")
        conn.execute(
            "INSERT INTO limit_jobs SELECT i, 'pending' FROM generate_series(0, %s) AS i", (N_JOBS - 1,)
        )
        conn.execute("VACUUM ANALYZE limit_jobs")


def limit_worker(index: int, barrier: Any, results: Any, dsn: str) -> None:
    import psycopg

    try:
        with psycopg.connect(dsn, autocommit=True, prepare_threshold=0) as conn:
            claim = "UPDATE limit_jobs SET status = 'running' WHERE id = %s"
            finish = "UPDATE limit_jobs SET status = 'done' WHERE id = %s"
            barrier.wait()
            start = time.perf_counter()
            done = 0
            for job_id in range(index, N_JOBS, SLOTS):
                conn.execute(claim, (job_id,))
                conn.execute(finish, (job_id,))
                done += 1
            results.put((start, time.perf_counter(), done))
    except Exception as err:
        results.put(f"{type(err).__name__}: {err}")
        raise


def run_limit(url: URL, mode: str) -> float:
    import psycopg

    dsn = libpq_dsn(url.database or "")
    limit_prepare(dsn)
    seconds, done = drive(mode, limit_worker, dsn)
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM limit_jobs WHERE status = 'done'").fetchone()
    if done != N_JOBS or row is None or row[0] != N_JOBS:
        raise RuntimeError(f"limit run incomplete: done={done}")
    return seconds


# -- main -----------------------------------------------------------------------------------


def main() -> None:
    problem = reachable()
    if problem is not None:
        print(f"PostgreSQL at {admin_url().render_as_string(hide_password=True)} is unreachable ({problem}); skipping.")
        print("RESULT skipped=postgres_unreachable")
        return

    import procrastinate.metadata
    import psycopg

    engine = sa.create_engine(admin_url())
    with engine.connect() as conn:
        version = conn.execute(sa.text("SHOW server_version")).scalar()
        settings = {
            name: conn.execute(sa.text(f"SHOW {name}")).scalar()
            for name in ("synchronous_commit", "fsync", "wal_sync_method", "autovacuum")
        }
    engine.dispose()
    print(
        f"inputs: {N_JOBS} pre-inserted no-op jobs, {SLOTS} in-flight slots, PostgreSQL {version} at "
        f"{admin_url().render_as_string(hide_password=True)} "
        f"({', '.join(f'{k}={v}' for k, v in settings.items())}), {os.cpu_count()} CPUs; "
        f"procrastinate {procrastinate.metadata.extract_metadata()['version']}, psycopg {psycopg.__version__}, "
        f"SQLAlchemy {sa.__version__}"
    )

    with scratch_db(DB_OURS) as url:
        probe = {mode: run_ours(url, mode, PROBE_JOBS) for mode in ("threads", "processes")}
        ours_mode = min(probe, key=lambda m: probe[m])
        for mode, s in probe.items():
            print(f"ours probe ({mode}): {PROBE_JOBS} jobs by {SLOTS} {mode}: {s:.2f} s ({PROBE_JOBS / s:,.0f} jobs/s)")
        ours_s = run_ours(url, ours_mode, N_JOBS)
    print(
        f"ours: JobQueue.claim -> finish x {N_JOBS} by {SLOTS} {ours_mode} (the faster in the probe): "
        f"{ours_s:.2f} s ({N_JOBS / ours_s:,.0f} jobs/s)"
    )

    with scratch_db(DB_PROCRASTINATE) as url:
        proc_s = run_procrastinate(url)
    print(
        f"procrastinate: run_worker_async(concurrency={SLOTS}, wait=False) over {N_JOBS} async no-op tasks: "
        f"{proc_s:.2f} s ({N_JOBS / proc_s:,.0f} jobs/s)"
    )

    with scratch_db(DB_LIMIT) as url:
        limits = {mode: run_limit(url, mode) for mode in ("threads", "processes")}
    limit_mode = min(limits, key=lambda m: limits[m])
    limit_s = limits[limit_mode]
    for mode, s in limits.items():
        print(
            f"limit ({mode}): 2 autocommit single-row UPDATEs per job on {SLOTS} raw psycopg connections: "
            f"{s:.2f} s ({N_JOBS / s:,.0f} jobs/s)"
        )
    print(f"limit: using {limit_mode} (the faster setup)")

    ours_rate, proc_rate, limit_rate = N_JOBS / ours_s, N_JOBS / proc_s, N_JOBS / limit_s
    print(
        f"RESULT ours_jobs_s={ours_rate:.0f} procrastinate_jobs_s={proc_rate:.0f} "
        f"ratio={ours_rate / proc_rate:.2f} limit_jobs_s={limit_rate:.0f} "
        f"fraction_of_limit={ours_rate / limit_rate:.2f}"
    )


if __name__ == "__main__":
    main()
