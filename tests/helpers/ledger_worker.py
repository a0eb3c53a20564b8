"""A worker process for the concurrency tests.

Runs `studio.jobs.worker.WorkerLoop` against STUDIO_DATABASE_URL with extra job kinds, `ledger`
(and `ledger_image`, `ledger_video`, for tests of pauses and caps by kind), whose handler writes a row into `test_ledger` (UNIQUE(job_id, attempt)) in the same transaction
that completes the job. Payload options: `sleep` seconds before finishing (to be killed or
paused mid-job). Prints `READY <id>` when it starts polling, `DONE <id> <jobs>` when it stops.
With `--barrier DIR` it writes `DIR/<id>.ready` and waits for `DIR/go` before polling, so that
several processes start claiming together (on a loaded machine one process can otherwise drain the
queue before the next one has imported anything).
Usage: python -m tests.helpers.ledger_worker WORKER_ID CONCURRENCY [--forever] [--barrier DIR]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import sqlalchemy as sa

from studio.config import Settings
from studio.jobs.kinds import JobContext, JobKind
from studio.jobs.worker import WorkerLoop
from studio.services import Services

LEDGER = sa.Table(
    "test_ledger",
    sa.MetaData(),
    sa.Column("job_id", sa.String(36), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("worker", sa.String(200), nullable=False),
    sa.Column("concurrency_key", sa.String(200)),
    sa.Column("sequence", sa.Integer),
    sa.Column("kind", sa.String(50)),
    sa.Column("started", sa.Float, nullable=False),
    sa.Column("finished", sa.Float, nullable=False),
    sa.UniqueConstraint("job_id", "attempt"),
)


def _run(ctx: JobContext) -> None:
    started = time.time()
    sleep = float(ctx.job.payload.get("sleep", 0))
    if sleep:
        print(f"RUNNING {ctx.job.id}", flush=True)
        time.sleep(sleep)
    with ctx.services.engine.begin() as conn:
        conn.execute(
            LEDGER.insert().values(
                job_id=ctx.job.id,
                attempt=ctx.job.attempts,
                worker=ctx.job.lease_owner,
                concurrency_key=ctx.job.concurrency_key,
                sequence=ctx.job.sequence,
                kind=ctx.job.kind,
                started=started,
                finished=time.time(),
            )
        )
        ctx.complete(db=conn)


LEDGER_KIND = JobKind("ledger", _run)
LEDGER_KINDS = (LEDGER_KIND, JobKind("ledger_image", _run), JobKind("ledger_video", _run))


def add_ledger_kind(services: Services) -> Services:
    """Teach `services`' workers the ledger kinds (also used by in-process workers)."""
    for kind in LEDGER_KINDS:
        services.kinds[kind.name] = kind
    return services


def main() -> None:
    worker_id, concurrency = sys.argv[1], int(sys.argv[2])
    forever = "--forever" in sys.argv
    services = add_ledger_kind(Services.build(Settings(), migrate=False))
    loop = WorkerLoop(
        services,
        concurrency=concurrency,
        worker_id=worker_id,
        once=not forever,
        idle_sleep=0.05,
        max_idle_sleep=0.2,
        reap_every=0.5,
    )
    import signal

    signal.signal(signal.SIGTERM, lambda *_: loop.stop.set())
    if "--barrier" in sys.argv:
        barrier = Path(sys.argv[sys.argv.index("--barrier") + 1])
        (barrier / f"{worker_id}.ready").touch()
        while not (barrier / "go").exists():
            time.sleep(0.01)
    print(f"READY {worker_id}", flush=True)
    n = loop.run()
    print(f"DONE {worker_id} {n}", flush=True)


if __name__ == "__main__":
    main()
