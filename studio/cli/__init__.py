"""The `studio` command: init, worker, dispatch, enqueue, batch, providers check, queue, and
the housekeeping of lifecycle.py: gc, purge, prune, backup, export, import (`studio --help`).

This package is the only part of the studio that reads files named on the command line;
storyboards.py holds the storyboard commands (enqueue image / image-edit / video, batch)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from studio.cli import common
from studio.cli.common import (
    EXIT_BUSY,
    EXIT_JOB_FAILED,
    EXIT_NO_WORK,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
)
from studio.cli.lifecycle import add_lifecycle_commands
from studio.cli.providers import add_provider_commands
from studio.cli.queue import add_queue_commands
from studio.cli.storyboards import add_storyboard_commands
from studio.errors import Conflict, InProgress, LimitExceeded, NotFound, StudioError


def cmd_init(args: argparse.Namespace) -> int:
    svc = common.services_for_cli()
    from db.engine import database_label

    print(f"Database ready: {database_label(svc.engine)} (migrated to head)")
    print(f"Storage: {svc.settings.storage_url}")
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    from studio.jobs.worker import WorkerLoop, default_worker_id

    svc = common.services_for_cli(slots=args.concurrency)
    if args.metrics_port is not None:
        from studio.jobs.metrics import serve

        serve(args.metrics_port, svc.engine, addr=args.metrics_addr)
        print(f"Prometheus metrics on http://{args.metrics_addr}:{args.metrics_port}/metrics")
    loop = WorkerLoop(
        svc, concurrency=args.concurrency, once=args.once, worker_id=default_worker_id(args.name)
    )

    def _stop(signum: int, _frame: object) -> None:
        logging.getLogger("studio.jobs.worker").info(
            "signal %s: finishing current jobs, then exiting", signum
        )
        loop.stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(
        f"{loop.worker_id}: {args.concurrency} slot(s), {'once' if args.once else 'until stopped'}"
    )
    processed = loop.run()
    print(f"{loop.worker_id}: processed {processed} job(s)")
    return EXIT_OK


def cmd_dispatch(args: argparse.Namespace) -> int:
    from studio.jobs.worker import default_worker_id, process_next

    svc = common.services_for_cli()
    outcome = process_next(svc, default_worker_id("dispatch"))
    if outcome is None:
        print("Nothing to do: no job is claimable.")
        return EXIT_NO_WORK
    print(f"{outcome.kind} {outcome.job_id}: {outcome.status}. {outcome.message}")
    return EXIT_OK if outcome.status == "completed" else EXIT_JOB_FAILED


def cmd_enqueue_noop(args: argparse.Namespace) -> int:
    svc = common.services_for_cli()
    for i in range(args.count):
        job = svc.queue.enqueue("noop", {"n": i}, label=f"no-op {i + 1}")
    print(f"Enqueued {args.count} no-op job(s); last {job.id}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="studio", description="Image Studio command line")
    p.add_argument("-v", "--verbose", action="store_true", help="log each job")
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("init", help="create or upgrade the database to the latest schema").set_defaults(
        func=cmd_init
    )

    w = sub.add_parser("worker", help="run jobs until stopped (SIGTERM finishes current jobs)")
    w.add_argument("--concurrency", type=int, default=1, help="jobs run at once (default 1)")
    w.add_argument("--once", action="store_true", help="exit when nothing is claimable")
    w.add_argument("--name", default="worker", help="prefix of this worker's id")
    w.add_argument(
        "--metrics-port", type=int, help="serve Prometheus metrics on this port (/metrics)"
    )
    w.add_argument("--metrics-addr", default="0.0.0.0", help="address the metrics listen on (all)")
    w.set_defaults(func=cmd_worker)

    sub.add_parser(
        "dispatch", help="process one job; exit 0 completed, 1 failed, 3 nothing to do"
    ).set_defaults(func=cmd_dispatch)

    enq = sub.add_parser("enqueue", help="add jobs to the queue")
    enq_sub = enq.add_subparsers(dest="what", required=True)
    noop = enq_sub.add_parser("noop", help="no-op jobs, to check that workers are alive")
    noop.add_argument("--count", type=int, default=1)
    noop.set_defaults(func=cmd_enqueue_noop)
    add_storyboard_commands(enq_sub, sub)

    add_lifecycle_commands(sub)
    add_provider_commands(sub)
    add_queue_commands(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    common.configure_logging(verbose=args.verbose, worker=args.command == "worker")
    try:
        return int(args.func(args))
    except StudioError as err:
        print(f"error: {err.user_message}", file=sys.stderr)
        return exit_status(err)


def exit_status(err: StudioError) -> int:
    """The exit status for a domain error (documented in the README)."""
    if isinstance(err, NotFound):
        return EXIT_NOT_FOUND
    if isinstance(err, InProgress | LimitExceeded | Conflict):
        return EXIT_BUSY
    return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
