"""`studio queue …`: pause, resume, step (process one, then pause), cap, move and status.

Every control is a row in the database, so it holds for every worker on every machine."""

from __future__ import annotations

import argparse
import getpass
import socket
from typing import TYPE_CHECKING

import sqlalchemy as sa

from studio.cli import common
from studio.cli.common import EXIT_OK
from studio.jobs.controls import MOVES
from studio.jobs.statements import jobs

if TYPE_CHECKING:
    from studio.services import Services


def _who(args: argparse.Namespace) -> str:
    return str(args.by or f"{getpass.getuser()}@{socket.gethostname()}")


def _scope(args: argparse.Namespace) -> tuple[str, str | None]:
    if args.kind:
        return "kind", args.kind
    if args.provider:
        return "provider", args.provider
    return "all", None


def cmd_pause(args: argparse.Namespace) -> int:
    svc = common.services_for_cli()
    scope, name = _scope(args)
    svc.queue.pause(scope, name, by=_who(args))
    for line in svc.queue.pause_lines():
        print(line)
    return EXIT_OK


def cmd_resume(args: argparse.Namespace) -> int:
    svc = common.services_for_cli()
    scope, name = _scope(args)
    what = "the whole queue" if scope == "all" else f"{scope} {name}"
    if svc.queue.resume(scope, name):
        print(f"Resumed {what}.")
    else:
        print(f"{what.capitalize()} was not paused.")
    return EXIT_OK


def cmd_step(args: argparse.Namespace) -> int:
    svc = common.services_for_cli()
    job = svc.queue.let_one_through(by=_who(args))
    if job is None:
        print("The queue is paused; no job is waiting to be let through.")
    else:
        print(f"The queue is paused; letting {job.label or job.kind} ({job.id[:8]}) through.")
    return EXIT_OK


def cmd_cap(args: argparse.Namespace) -> int:
    svc = common.services_for_cli()
    scope, name = _scope(args)
    if scope == "all" or name is None:
        print("error: name a --kind or a --provider to cap")
        return common.EXIT_USAGE
    cap = None if args.cap == "none" else int(args.cap)
    svc.queue.set_cap(scope, name, cap, by=_who(args))
    print(f"{scope} {name}: " + (f"at most {cap} at once." if cap else "no cap."))
    return EXIT_OK


def cmd_move(args: argparse.Namespace) -> int:
    svc = common.services_for_cli()
    job = svc.queue.move(_full_id(svc, args.job), args.where)
    print(f"Moved {job.label or job.kind} ({job.id[:8]}) {args.where}.")
    return EXIT_OK


def _full_id(svc: Services, prefix: str) -> str:
    """A job id from its first characters, as the Jobs page shows them."""
    with svc.engine.connect() as conn:
        ids = conn.execute(
            sa.select(jobs.c.id).where(jobs.c.id.startswith(prefix, autoescape=True)).limit(2)
        ).scalars()
        found = list(ids)
    if len(found) == 1:
        return str(found[0])
    return prefix  # unknown or ambiguous: the queue answers "does not exist"


def cmd_status(args: argparse.Namespace) -> int:
    from studio.jobs.reads import job_counts

    svc = common.services_for_cli()
    controls = svc.queue.controls()
    lines = [c.pause_line for c in controls if c.paused_at is not None]
    print("\n".join(lines) if lines else "Not paused.")
    for c in controls:
        if c.cap is not None:
            print(f"Cap: {c.what}: at most {c.cap} at once (set by {c.cap_by}).")
    counts = job_counts(svc.engine)
    print("Jobs: " + (", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"))
    return EXIT_OK


def _target(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument("--kind", help="only this kind of work (e.g. storyboard_video)")
    group.add_argument("--provider", help="only work calling this provider (e.g. openai)")


def add_queue_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    q = sub.add_parser("queue", help="pause, resume, cap or reorder the queue; show its state")
    qs = q.add_subparsers(dest="action", required=True)
    pause = qs.add_parser("pause", help="claim nothing (of a kind or provider) until resumed")
    _target(pause)
    pause.add_argument("--by", help="who pauses (default: user@host)")
    pause.set_defaults(func=cmd_pause)
    resume = qs.add_parser("resume", help="lift a pause")
    _target(resume)
    resume.set_defaults(func=cmd_resume)
    step = qs.add_parser("step", help="process one job, then pause (pauses the whole queue)")
    step.add_argument("--by", help="who pauses (default: user@host)")
    step.set_defaults(func=cmd_step)
    cap = qs.add_parser("cap", help="at most N jobs of a kind or provider at once ('none': no cap)")
    _target(cap)
    cap.add_argument("cap", help="a number, or none")
    cap.add_argument("--by", help="who sets it (default: user@host)")
    cap.set_defaults(func=cmd_cap)
    move = qs.add_parser("move", help="move a pending job to the front, up or down")
    move.add_argument("job", help="the job's id (its first characters are enough)")
    move.add_argument("where", choices=MOVES)
    move.set_defaults(func=cmd_move)
    qs.add_parser("status", help="what is paused and capped; jobs by status").set_defaults(
        func=cmd_status
    )
