"""Several worker processes against one database: exactly once, in order, crash recovery."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from db.schema import Job
from studio.jobs.queue import JobQueue
from tests.helpers.ledger_worker import LEDGER

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _env(db_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        STUDIO_DATABASE_URL=db_url,
        STUDIO_STORAGE_URL=str(tmp_path / "media"),
        STUDIO_EMBEDDED_WORKER="false",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


def _spawn(
    worker_id: str, concurrency: int, env: dict[str, str], *flags: str
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.ledger_worker", worker_id, str(concurrency), *flags],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _bulk_enqueue(engine: sa.Engine, n: int, **kw: object) -> None:
    queue = JobQueue(engine)
    with engine.begin() as conn:
        for i in range(n):
            queue.enqueue("ledger", {"i": i}, db=conn, **kw)  # type: ignore[arg-type]


def _wait(procs: list[subprocess.Popen[str]], timeout: float = 240) -> list[str]:
    outputs = []
    for p in procs:
        out, _ = p.communicate(timeout=timeout)
        assert p.returncode == 0, out
        assert "database is locked" not in out, out
        outputs.append(out)
    return outputs


def _exactly_once(
    engine: sa.Engine, tmp_path: Path, db_url: str, n_jobs: int, n_procs: int, slots: int
) -> None:
    LEDGER.create(engine)
    _bulk_enqueue(engine, n_jobs)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    procs = [
        _spawn(f"w{i}", slots, _env(db_url, tmp_path), "--barrier", str(barrier))
        for i in range(n_procs)
    ]
    deadline = time.monotonic() + 120
    while len(list(barrier.glob("*.ready"))) < n_procs and time.monotonic() < deadline:
        time.sleep(0.02)
    (barrier / "go").touch()
    outs = _wait(procs)
    with engine.connect() as conn:
        ledger = conn.execute(sa.select(LEDGER.c.job_id, LEDGER.c.worker)).all()
        statuses = dict(
            conn.execute(sa.select(Job.status, sa.func.count()).group_by(Job.status)).all()
        )
    assert len(ledger) == n_jobs, "every run wrote one ledger row"
    assert len({r.job_id for r in ledger}) == n_jobs, "no job completed twice, none lost"
    assert statuses == {"completed": n_jobs}
    workers = {r.worker.split("/")[0] for r in ledger}
    assert len(workers) == n_procs, f"all processes took work: {workers}; {outs}"


def test_exactly_once_postgres_5000_jobs_4_processes(pg_base_url: str, tmp_path: Path) -> None:
    from tests.conftest import _truncate_all

    _truncate_all(pg_base_url)
    engine = sa.create_engine(pg_base_url)
    try:
        LEDGER.drop(engine, checkfirst=True)
        _exactly_once(engine, tmp_path, pg_base_url, n_jobs=5000, n_procs=4, slots=2)
    finally:
        LEDGER.drop(engine, checkfirst=True)
        engine.dispose()


def test_exactly_once_sqlite_two_processes(tmp_path: Path, sqlite_template: Path) -> None:
    import shutil

    path = tmp_path / "q.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    from db.engine import make_engine

    engine = make_engine(url)
    try:
        _exactly_once(engine, tmp_path, url, n_jobs=600, n_procs=2, slots=2)
    finally:
        engine.dispose()


def test_same_key_jobs_never_overlap_and_run_in_order(
    db_url: str, engine: sa.Engine, tmp_path: Path
) -> None:
    LEDGER.create(engine, checkfirst=True)
    queue = JobQueue(engine)
    with engine.begin() as conn:
        for seq in range(1, 9):
            for key in ("song:a", "song:b", "song:c"):
                queue.enqueue(
                    "ledger",
                    {"sleep": 0.02},
                    db=conn,
                    concurrency_key=key,
                    ordered=True,
                    sequence=seq,
                )
    env = _env(db_url, tmp_path)
    _wait([_spawn(f"w{i}", 2, env) for i in range(2)])
    with engine.connect() as conn:
        rows = conn.execute(sa.select(LEDGER).order_by(LEDGER.c.started)).all()
    LEDGER.drop(engine)
    assert len(rows) == 24
    for key in ("song:a", "song:b", "song:c"):
        runs = [r for r in rows if r.concurrency_key == key]
        assert [r.sequence for r in runs] == list(range(1, 9)), "verses complete in order"
        for before, after in zip(runs, runs[1:], strict=False):
            assert before.finished <= after.started, "same-key jobs never overlap"


def _read_until(proc: subprocess.Popen[str], marker: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if marker in line:
            return line
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"worker never printed {marker!r}")


def _rescue(engine: sa.Engine, env: dict[str, str], job_id: str, timeout: float = 60) -> None:
    """Run a worker until the job completes, then stop it with SIGTERM (a graceful exit)."""
    rescuer = _spawn("rescuer", 1, env, "--forever")
    deadline = time.monotonic() + timeout
    while JobQueue(engine).get(job_id).status != "completed":
        assert time.monotonic() < deadline, "the job was never re-claimed"
        time.sleep(0.2)
    rescuer.send_signal(signal.SIGTERM)
    out = _wait([rescuer], timeout=30)[0]
    assert "DONE rescuer 1" in out


def test_killed_worker_job_is_reclaimed_after_lease(
    db_url: str, engine: sa.Engine, tmp_path: Path
) -> None:
    LEDGER.create(engine, checkfirst=True)
    job = JobQueue(engine).enqueue("ledger", {"sleep": 30})
    env = _env(db_url, tmp_path, STUDIO_LEASE_SECONDS="2")
    victim = _spawn("victim", 1, env, "--forever")
    _read_until(victim, "RUNNING")
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    with engine.begin() as conn:  # the retry need not sleep again
        conn.execute(sa.update(Job).where(Job.id == job.id).values(payload={"sleep": 0}))
    _rescue(engine, env, job.id)
    row = JobQueue(engine).get(job.id)
    with engine.connect() as conn:
        ledger = conn.execute(sa.select(LEDGER)).all()
    LEDGER.drop(engine)
    assert row.status == "completed" and row.attempts == 2
    assert [(r.attempt, r.worker.split("/")[0]) for r in ledger] == [(2, "rescuer")]


def test_paused_worker_late_finish_is_rejected(
    db_url: str, engine: sa.Engine, tmp_path: Path
) -> None:
    LEDGER.create(engine, checkfirst=True)
    job = JobQueue(engine).enqueue("ledger", {"sleep": 3})
    env = _env(db_url, tmp_path, STUDIO_LEASE_SECONDS="1")
    slow = _spawn("slow", 1, env)
    _read_until(slow, "RUNNING")
    os.kill(slow.pid, signal.SIGSTOP)
    time.sleep(1.5)  # let the lease lapse while the worker is frozen
    with engine.begin() as conn:
        conn.execute(sa.update(Job).where(Job.id == job.id).values(payload={"sleep": 0}))
    _rescue(engine, env, job.id)
    os.kill(slow.pid, signal.SIGCONT)
    out = _wait([slow], timeout=60)[0]
    with engine.connect() as conn:
        ledger = conn.execute(sa.select(LEDGER)).all()
    LEDGER.drop(engine)
    assert [r.worker.split("/")[0] for r in ledger] == ["rescuer"], "the late finish wrote nothing"
    assert "no longer held" in out
    assert JobQueue(engine).get(job.id).status == "completed"


class _Output:
    """Collects a worker process's output as it comes (so its pipe never fills up)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            if line.startswith("READY"):
                self.ready.set()

    def stop(self, timeout: float = 60) -> str:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=timeout)
        self._reader.join(timeout=10)
        return "".join(self.lines)


class _Problems(logging.Handler):
    """Every warning or error logged in this process, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(self.format(record))


def test_sqlite_app_embedded_worker_and_two_worker_processes(
    tmp_path: Path, sqlite_template: Path
) -> None:
    """The local setup of the issue on one SQLite file: the app enqueueing and reading the job
    list, its embedded worker thread, and two worker processes. No "database is locked"
    anywhere, and every job completed exactly once, at its first attempt."""
    import shutil

    from db.engine import make_engine
    from studio.jobs.reads import job_counts, list_jobs
    from studio.jobs.worker import WorkerLoop
    from studio.services import Services
    from tests.conftest import make_settings
    from tests.helpers.ledger_worker import add_ledger_kind

    path = tmp_path / "studio.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    LEDGER.create(engine)
    services = add_ledger_kind(
        Services.build(make_settings(tmp_path, url), engine=engine, migrate=False)
    )
    problems = _Problems()
    logging.getLogger().addHandler(problems)
    n_jobs, batch = 300, 10
    app_errors: list[BaseException] = []

    def app() -> None:
        """Enqueue in small batches (every tenth job a verse of one of three songs) and read
        the job list and counts after each batch, as the Jobs page does."""
        try:
            for start in range(0, n_jobs, batch):
                for n in range(start, start + batch):
                    song = {"concurrency_key": f"song:{n % 3}", "ordered": True, "sequence": n}
                    keyed = song if n % 10 == 0 else {}
                    services.queue.enqueue("ledger", {"n": n}, label=f"job {n}", **keyed)
                list_jobs(engine, limit=50)
                job_counts(engine)
                time.sleep(0.03)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            app_errors.append(exc)

    env = _env(url, tmp_path)
    workers = [_Output(_spawn(f"proc{i}", 1, env, "--forever")) for i in range(2)]
    # The app's embedded worker, polling as often as the worker processes do.
    embedded = WorkerLoop(
        services, concurrency=1, worker_id="embedded", idle_sleep=0.05, max_idle_sleep=0.2
    )
    embedded_thread = threading.Thread(target=embedded.run, daemon=True)
    embedded_thread.start()
    try:
        for w in workers:
            assert w.ready.wait(60), "".join(w.lines)
        app_thread = threading.Thread(target=app)
        app_thread.start()
        app_thread.join(120)
        deadline = time.monotonic() + 120
        while (
            not app_errors
            and job_counts(engine).get("completed", 0) < n_jobs
            and time.monotonic() < deadline
        ):
            time.sleep(0.2)
    finally:
        embedded.stop.set()
        embedded_thread.join(30)
        outputs = [w.stop() for w in workers]
        logging.getLogger().removeHandler(problems)

    for w, out in zip(workers, outputs, strict=True):
        assert w.proc.returncode == 0, out
        assert "database is locked" not in out, out
        assert "Traceback" not in out, out
    assert not app_errors, app_errors
    trouble = [m for m in problems.messages if "locked" in m or "could not process" in m]
    assert not trouble, trouble
    with engine.connect() as conn:
        ledger = conn.execute(sa.select(LEDGER.c.job_id, LEDGER.c.worker)).all()
        jobs = conn.execute(sa.select(Job.status, Job.attempts)).all()
    engine.dispose()
    assert len(jobs) == n_jobs
    assert {(j.status, j.attempts) for j in jobs} == {("completed", 1)}, "all done at the first try"
    assert len(ledger) == n_jobs and len({r.job_id for r in ledger}) == n_jobs, "exactly once"
    assert {r.worker.split("/")[0] for r in ledger} == {"embedded", "proc0", "proc1"}, outputs
