"""Bench: draining 20,000 no-op jobs on PostgreSQL with 4 in-flight slots, three ways.

Run: .venv/bin/python bench/queue_throughput.py

Each contender runs its 4 slots in one of two layouts: 1 process x 4 slots, or 4 processes x
1 slot. A short probe (PROBE_JOBS jobs) runs ours and procrastinate in both layouts and the full
run uses each one's faster layout (the same rule for both); the limit runs in full both ways.
- ours: the real worker, `studio.jobs.worker.WorkerLoop` with `once=True` (what `studio worker
  --concurrency N --once` runs), on a fresh, migrated database, over jobs of a kind whose handler
  does nothing. Between two jobs a slot completes one and claims the next in one statement
  (`JobQueue.finish_and_claim`) on a connection it holds; slot 0 also reaps every 5 s.
  1x4 is one `--concurrency 4` process; 4x1 is four `--concurrency 1` processes.
- procrastinate: procrastinate 3.x on its own fresh database, its schema applied by its schema
  manager, 20,000 deferred no-op tasks (an `async def` that returns None), drained by
  `run_worker_async(concurrency=…, wait=False)`, every other worker option at its default.
  1x4 is one worker with concurrency=4; 4x1 is four worker processes with concurrency=1.
- limit: what the database itself allows for the same work: 4 connections (autocommit, raw
  psycopg), each looping over its share of 20,000 rows of a plain two-column table doing two
  single-row UPDATE transactions per job (status='running', then status='done'), each its own
  commit. 1x4 is 4 threads in one process; 4x1 is 4 processes. The faster is limit_jobs_s.

All three use the same server and its durability settings (synchronous_commit as configured);
each gets its own scratch database, created and dropped through the `postgres` database. The
jobs are inserted in bulk before the clock starts, then VACUUM ANALYZE'd (same treatment for
all three). Workers are started and connected before the clock; it starts when they are
released together (a barrier) and stops at the last one's end. The RESULT values `*_jobs_s`
are throughputs in jobs per second (N_JOBS over that time); ratio = ours / procrastinate and
fraction_of_limit = ours / limit, both in jobs/s. Goals: ratio >= 2, fraction_of_limit >= 0.6.
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
PROBE_JOBS = 2_000  # the layout of ours and procrastinate is chosen on a run of this many jobs
SLOTS = 4
LAYOUTS = ((1, SLOTS), (SLOTS, 1))  # (processes, slots per process)
DEFAULT_SERVER_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
DB_OURS = "bench_queue_ours"
DB_PROCRASTINATE = "bench_queue_procrastinate"
DB_LIMIT = "bench_queue_limit"

Layout = tuple[int, int]


def describe_layout(layout: Layout) -> str:
    processes, slots = layout
    return f"{processes} process{'es' * (processes > 1)} x {slots} slot{'s' * (slots > 1)}"


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


# -- running the slots in a layout ------------------------------------------------------------

# A worker is `fn(index, barrier, results, slots, *args)`, run in its own spawned process: it
# connects its `slots` slots, waits on the barrier, records its start, drains, and puts
# (start, end, jobs_done) on `results`, or a string saying what went wrong.
Worker = Callable[..., None]


def drive(layout: Layout, fn: Worker, *args: Any) -> tuple[float, int]:
    """Run `fn` in `layout`; return (seconds from the first start to the last end, jobs done)."""
    processes, slots = layout
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(processes)
    results = ctx.Queue()
    runners = [
        ctx.Process(target=fn, args=(i, barrier, results, slots, *args)) for i in range(processes)
    ]
    for r in runners:
        r.start()
    reports = [results.get(timeout=600) for _ in range(processes)]
    for r in runners:
        r.join()
    errors = [rep for rep in reports if isinstance(rep, str)]
    if errors:
        raise RuntimeError(f"worker failed: {errors[0]}")
    start = min(rep[0] for rep in reports)
    end = max(rep[1] for rep in reports)
    return end - start, sum(rep[2] for rep in reports)


@contextmanager
def reporting(results: Any) -> Iterator[None]:
    """Put a worker's failure on `results` (so `drive` stops waiting) and re-raise it."""
    try:
        yield
    except Exception as err:
        results.put(f"{type(err).__name__}: {err}")
        raise


# -- ours -----------------------------------------------------------------------------------

# Our side runs jobs of a kind whose handler does nothing, like procrastinate's no-op task. (The
# built-in `noop` kind enters a stage, a heartbeat per job, to show that workers are alive.)
BENCH_KIND = "bench_noop"


def ours_rows(n: int) -> list[dict[str, Any]]:
    """Rows with the column values `JobQueue.enqueue(BENCH_KIND)` writes, created 1 µs apart."""
    from studio.jobs.queue import pending_job_values

    base = datetime.now(UTC) - timedelta(seconds=1)
    return [pending_job_values(BENCH_KIND, at=base + timedelta(microseconds=i)) for i in range(n)]


def ours_prepare(url: URL, n: int) -> None:
    """Migrate (once) and (re)load `n` pending no-op jobs."""
    from db.engine import make_engine
    from db.migrate import upgrade
    from studio.jobs.queue import jobs

    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE jobs CASCADE"))
        conn.execute(jobs.insert(), ours_rows(n))
    engine.dispose()
    vacuum_analyze(url, "jobs")


def ours_worker(index: int, barrier: Any, results: Any, slots: int, url_text: str) -> None:
    """One `studio worker --concurrency {slots} --once` process."""
    import tempfile

    from db.engine import make_engine
    from studio.config import Settings
    from studio.jobs.kinds import JobKind
    from studio.jobs.worker import WorkerLoop
    from studio.services import Services

    with reporting(results):
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=url_text,
            storage_url=str(Path(tempfile.gettempdir()) / "bench_queue_media"),
            embedded_worker=False,
        )
        engine = make_engine(url_text, pool_size=slots)
        for conn in [engine.connect() for _ in range(slots)]:  # connect before the clock
            conn.close()
        services = Services.build(settings, engine=engine, migrate=False)
        services.kinds[BENCH_KIND] = JobKind(BENCH_KIND, lambda ctx: None)
        loop = WorkerLoop(services, concurrency=slots, once=True, worker_id=f"bench/{index}")
        barrier.wait()
        start = time.perf_counter()
        done = loop.run()
        results.put((start, time.perf_counter(), done))
        services.close()


def count_ours(url: URL) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT status, count(*) FROM jobs GROUP BY status")).all()
    engine.dispose()
    return {r[0]: r[1] for r in rows}


def run_ours(url: URL, layout: Layout, n: int) -> float:
    ours_prepare(url, n)
    seconds, done = drive(layout, ours_worker, url.render_as_string(hide_password=False))
    counts = count_ours(url)
    if done != n or counts.get("completed") != n:
        raise RuntimeError(f"ours did not drain the queue: done={done} statuses={counts}")
    return seconds


# -- procrastinate --------------------------------------------------------------------------


def procrastinate_app(dsn: str) -> Any:
    import procrastinate

    for name in ("procrastinate", "psycopg", "psycopg.pool"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=dsn))

    @app.task(name="noop")
    async def noop() -> None:
        return None

    return app


async def _procrastinate_schema(dsn: str) -> None:
    app = procrastinate_app(dsn)
    async with app.open_async():
        await app.schema_manager.apply_schema_async()


async def _procrastinate_prepare(dsn: str, n: int) -> None:
    """(Re)load `n` deferred no-op tasks."""
    app = procrastinate_app(dsn)
    async with app.open_async():
        async with app.connector.pool.connection() as conn:
            await conn.execute("TRUNCATE procrastinate_jobs CASCADE")
        task = app.tasks["noop"]
        for at in range(0, n, 5_000):
            await task.batch_defer_async(*({} for _ in range(min(5_000, n - at))))
        async with app.connector.pool.connection() as conn:
            await conn.set_autocommit(True)
            await conn.execute("VACUUM ANALYZE procrastinate_jobs")


async def _procrastinate_drain(dsn: str, slots: int, barrier: Any) -> tuple[float, float]:
    app = procrastinate_app(dsn)
    async with app.open_async():
        async with app.connector.pool.connection() as conn:  # connect before the clock
            await conn.execute("SELECT 1")
        barrier.wait()
        start = time.perf_counter()
        await app.run_worker_async(concurrency=slots, wait=False, install_signal_handlers=False)
        return start, time.perf_counter()


def procrastinate_worker(index: int, barrier: Any, results: Any, slots: int, dsn: str) -> None:
    """One procrastinate worker process with concurrency={slots}."""
    with reporting(results):
        start, end = asyncio.run(_procrastinate_drain(dsn, slots, barrier))
        results.put((start, end, 0))  # procrastinate does not say how many; counted after


def count_procrastinate(dsn: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT status::text, count(*) FROM procrastinate_jobs GROUP BY 1"
        ).fetchall()
    return {r[0]: r[1] for r in rows}


def run_procrastinate(url: URL, layout: Layout, n: int) -> float:
    dsn = libpq_dsn(url.database or "")
    asyncio.run(_procrastinate_prepare(dsn, n))
    seconds, _ = drive(layout, procrastinate_worker, dsn)
    counts = count_procrastinate(dsn)
    if counts.get("succeeded") != n:
        raise RuntimeError(f"procrastinate did not drain the queue: {counts}")
    return seconds


# -- the database's own limit ---------------------------------------------------------------


def limit_prepare(dsn: str) -> None:
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS limit_jobs")
        conn.execute("CREATE TABLE limit_jobs (id bigint PRIMARY KEY, status varchar(20) NOT NULL)")
        conn.execute(
            "INSERT INTO limit_jobs SELECT i, 'pending' FROM generate_series(0, %s) AS i",
            (N_JOBS - 1,),
        )
        conn.execute("VACUUM ANALYZE limit_jobs")


def _limit_slot(conn: Any, slot: int, done: list[int]) -> None:
    claim = "UPDATE limit_jobs SET status = 'running' WHERE id = %s"
    finish = "UPDATE limit_jobs SET status = 'done' WHERE id = %s"
    for job_id in range(slot, N_JOBS, SLOTS):
        conn.execute(claim, (job_id,))
        conn.execute(finish, (job_id,))
        done.append(1)


def limit_worker(index: int, barrier: Any, results: Any, slots: int, dsn: str) -> None:
    """`slots` connections in one process, each one thread working through its share."""
    import psycopg

    with reporting(results):
        conns = [psycopg.connect(dsn, autocommit=True, prepare_threshold=0) for _ in range(slots)]
        done: list[int] = []
        threads = [
            threading.Thread(target=_limit_slot, args=(conn, index * slots + i, done))
            for i, conn in enumerate(conns)
        ]
        barrier.wait()
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        results.put((start, time.perf_counter(), len(done)))
        for conn in conns:
            conn.close()


def run_limit(url: URL, layout: Layout) -> float:
    import psycopg

    dsn = libpq_dsn(url.database or "")
    limit_prepare(dsn)
    seconds, done = drive(layout, limit_worker, dsn)
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT count(*) FROM limit_jobs WHERE status = 'done'").fetchone()
    if done != N_JOBS or row is None or row[0] != N_JOBS:
        raise RuntimeError(f"limit run incomplete: done={done}")
    return seconds


# -- main -----------------------------------------------------------------------------------


def rate(n: int, seconds: float) -> str:
    return f"{seconds:.2f} s ({n / seconds:,.0f} jobs/s)"


def probe_then_run(name: str, run: Callable[[Layout, int], float]) -> tuple[Layout, float]:
    """Probe both layouts on PROBE_JOBS jobs, then drain N_JOBS in the faster one."""
    probe = {layout: run(layout, PROBE_JOBS) for layout in LAYOUTS}
    for layout, seconds in probe.items():
        print(
            f"{name} probe ({describe_layout(layout)}): {PROBE_JOBS} jobs in "
            f"{rate(PROBE_JOBS, seconds)}"
        )
    best = min(probe, key=lambda layout: probe[layout])
    return best, run(best, N_JOBS)


def main() -> None:
    problem = reachable()
    if problem is not None:
        where = admin_url().render_as_string(hide_password=True)
        print(f"PostgreSQL at {where} is unreachable ({problem}); skipping.")
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
        f"inputs: {N_JOBS} pre-inserted no-op jobs, {SLOTS} in-flight slots, "
        f"PostgreSQL {version} at "
        f"{admin_url().render_as_string(hide_password=True)} "
        f"({', '.join(f'{k}={v}' for k, v in settings.items())}), {os.cpu_count()} CPUs; "
        f"procrastinate {procrastinate.metadata.extract_metadata()['version']}, "
        f"psycopg {psycopg.__version__}, "
        f"SQLAlchemy {sa.__version__}"
    )

    with scratch_db(DB_OURS) as url:
        ours_layout, ours_s = probe_then_run("ours", lambda layout, n: run_ours(url, layout, n))
    print(
        f"ours: WorkerLoop (claim, then finish_and_claim per job) over {N_JOBS} no-op jobs, "
        f"{describe_layout(ours_layout)} (the faster in the probe): {rate(N_JOBS, ours_s)}"
    )

    with scratch_db(DB_PROCRASTINATE) as url:
        asyncio.run(_procrastinate_schema(libpq_dsn(url.database or "")))
        proc_layout, proc_s = probe_then_run(
            "procrastinate", lambda layout, n: run_procrastinate(url, layout, n)
        )
    print(
        f"procrastinate: run_worker_async(wait=False) over {N_JOBS} async no-op tasks, "
        f"{describe_layout(proc_layout)} (the faster in the probe): {rate(N_JOBS, proc_s)}"
    )

    with scratch_db(DB_LIMIT) as url:
        limits = {layout: run_limit(url, layout) for layout in LAYOUTS}
    for layout, seconds in limits.items():
        print(
            f"limit ({describe_layout(layout)}): 2 autocommit single-row UPDATEs per job on "
            f"{SLOTS} raw psycopg connections: {rate(N_JOBS, seconds)}"
        )
    limit_layout = min(limits, key=lambda layout: limits[layout])
    limit_s = limits[limit_layout]
    print(f"limit: using {describe_layout(limit_layout)} (the faster)")

    ours_rate, proc_rate, limit_rate = N_JOBS / ours_s, N_JOBS / proc_s, N_JOBS / limit_s
    print(
        f"RESULT ours_jobs_s={ours_rate:.0f} procrastinate_jobs_s={proc_rate:.0f} "
        f"ratio={ours_rate / proc_rate:.2f} limit_jobs_s={limit_rate:.0f} "
        f"fraction_of_limit={ours_rate / limit_rate:.2f}"
    )


if __name__ == "__main__":
    main()
