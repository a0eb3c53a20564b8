"""The `studio` command: init, worker, dispatch, enqueue, batch, prune, gc, providers check."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from datetime import timedelta

from studio.config import DEMO_OWNER, Settings
from studio.errors import Conflict, InProgress, Invalid, LimitExceeded, NotFound, StudioError

EXIT_OK = 0
EXIT_JOB_FAILED = 1  # dispatch: the job failed; batch: some entries were invalid and skipped
EXIT_USAGE = 2  # bad input (options, values, a source that is not an image, malformed JSON)
EXIT_NO_WORK = 3
EXIT_NOT_FOUND = 4  # unknown storyboard, scene, character, asset or file
EXIT_BUSY = 5  # already in progress, or a limit or budget was reached


def _services(migrate: bool = True, *, slots: int = 1):  # type: ignore[no-untyped-def]
    """The services; a worker with `slots` slots gets a pool that holds a connection per slot
    plus one each for the jobs' own writes and heartbeats, with room to spare."""
    from db.engine import make_engine
    from studio.services import Services

    settings = Settings()
    engine = make_engine(settings.database_url, pool_size=max(5, 2 * slots + 1))
    return Services.build(settings, engine=engine, migrate=migrate)


def cmd_init(args: argparse.Namespace) -> int:
    svc = _services()
    from db.engine import database_label

    print(f"Database ready: {database_label(svc.engine)} (migrated to head)")
    print(f"Storage: {svc.settings.storage_url}")
    return EXIT_OK


def cmd_worker(args: argparse.Namespace) -> int:
    from studio.jobs.worker import WorkerLoop, default_worker_id

    svc = _services(slots=args.concurrency)
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

    svc = _services()
    outcome = process_next(svc, default_worker_id("dispatch"))
    if outcome is None:
        print("Nothing to do: no job is claimable.")
        return EXIT_NO_WORK
    print(f"{outcome.kind} {outcome.job_id}: {outcome.status}. {outcome.message}")
    return EXIT_OK if outcome.status == "completed" else EXIT_JOB_FAILED


def cmd_providers_check(args: argparse.Namespace) -> int:
    """One authenticated models list per configured provider and credential; a line per model
    family. Exit 0 when every configured credential is accepted, 1 otherwise."""
    from studio.providers.check import check_providers, report
    from studio.providers.registry import provider_statuses

    lines, status = report(check_providers(provider_statuses(Settings())))
    print("\n".join(lines))
    return status


def cmd_enqueue_noop(args: argparse.Namespace) -> int:
    svc = _services()
    for i in range(args.count):
        job = svc.queue.enqueue("noop", {"n": i}, label=f"no-op {i + 1}")
    print(f"Enqueued {args.count} no-op job(s); last {job.id}")
    return EXIT_OK


def cmd_prune(args: argparse.Namespace) -> int:
    svc = _services()
    n = svc.queue.prune(older_than=timedelta(days=args.days))
    print(f"Removed {n} finished job(s) older than {args.days} day(s).")
    return EXIT_OK


# --- storyboard work ------------------------------------------------------------------------


def _target_kw(args: argparse.Namespace) -> dict[str, object]:
    entity = args.scene or args.character
    kind = "scene" if args.scene else ("character" if args.character else None)
    return {"storyboard_id": args.storyboard, "entity_id": entity, "entity_kind": kind}


def _key(args: argparse.Namespace) -> str:
    from studio.submissions import new_key

    return args.key or new_key()


def _report(gen, services) -> None:  # type: ignore[no-untyped-def]
    from studio.providers.base import mode_label

    job = services.queue.get(gen.job_id)
    print(f"Queued {mode_label(gen.mode, article=True)}: {job.label}")
    print(f"job {job.id} ({job.kind}, {job.status})")
    print(f"request {gen.id} · {gen.provider}/{gen.model}")


def cmd_enqueue_image(args: argparse.Namespace) -> int:
    from studio import storyboards as sb

    svc = _services()
    gen = sb.request_image(
        svc,
        args.owner,
        prompt=args.prompt,
        idempotency_key=_key(args),
        provider=args.provider,
        model=args.model,
        seed=args.seed,
        **_target_kw(args),
    )
    _report(gen, svc)
    return EXIT_OK


def cmd_enqueue_image_edit(args: argparse.Namespace) -> int:
    from studio import storyboards as sb

    source = sb.Source.from_argument(args.source) if args.source else None
    svc = _services()
    gen = sb.request_edit(
        svc,
        args.owner,
        prompt=args.prompt,
        idempotency_key=_key(args),
        source=source,
        strength=args.strength,
        provider=args.provider,
        model=args.model,
        seed=args.seed,
        **_target_kw(args),
    )
    _report(gen, svc)
    return EXIT_OK


def cmd_enqueue_video(args: argparse.Namespace) -> int:
    from studio import storyboards as sb

    options = sb.VideoOptions.parse(args.aspect, args.duration, args.resolution)
    if args.animate and args.source:
        raise Invalid("Give --source or --animate, not both.")
    source = sb.Source.from_argument(args.source) if args.source else None
    svc = _services()
    common = dict(
        prompt=args.prompt,
        idempotency_key=_key(args),
        options=options,
        provider=args.provider,
        model=args.model,
        seed=args.seed,
    )
    if args.animate:
        entity = args.scene or args.character
        if not entity:
            raise Invalid("--animate needs --scene or --character (whose image to animate).")
        gen = sb.request_animate(svc, args.owner, entity_id=entity, **common)
    else:
        gen = sb.request_video(svc, args.owner, source=source, **_target_kw(args), **common)
    _report(gen, svc)
    return EXIT_OK


def _progress_bar(stream):  # type: ignore[no-untyped-def]
    """A text progress bar on `stream`: redrawn in place on a terminal, a line per step else."""
    tty = stream.isatty()

    def draw(done: int, total: int) -> None:
        width = 30
        filled = round(width * done / total) if total else width
        bar = "#" * filled + "-" * (width - filled)
        text = f"[{bar}] {done}/{total}"
        if tty:
            stream.write("\r" + text + ("\n" if done == total else ""))
        else:
            stream.write(text + "\n")
        stream.flush()

    return draw


def cmd_batch_images(args: argparse.Namespace) -> int:
    from pathlib import Path

    from studio.storyboards import batch

    path = Path(args.file)
    try:
        _, entries = batch.read_file(path)
    except batch.MalformedFile as err:
        print(f"error: {path}: {err.user_message}", file=sys.stderr)
        print("Nothing was enqueued.", file=sys.stderr)
        return EXIT_USAGE
    if not entries:
        print(f"error: {path}: the list is empty; there is nothing to enqueue.", file=sys.stderr)
        return EXIT_USAGE
    svc = _services()
    report = batch.enqueue_images(
        svc,
        args.owner,
        entries,
        folder=path.parent.resolve(),
        default_storyboard=args.storyboard,
        progress=_progress_bar(sys.stderr),
    )
    for problem in report.problems:
        print(
            f"{path}:{problem.line}: entry {problem.number} skipped: {problem.message}",
            file=sys.stderr,
        )
    parts = [f"{len(report.enqueued)} enqueued"]
    parts.append(f"{len(report.existing)} already enqueued earlier")
    parts.append(f"{len(report.problems)} invalid (skipped)")
    print(f"{report.total} entries: " + ", ".join(parts) + ".")
    for entry, gen in report.enqueued:
        print(f"  line {entry.line}: job {gen.job_id}")
    return EXIT_JOB_FAILED if report.problems else EXIT_OK


def _add_target_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--storyboard", metavar="ID", help="the storyboard the result belongs to")
    group = p.add_mutually_exclusive_group()
    group.add_argument("--scene", metavar="ID", help="link the result to this scene")
    group.add_argument("--character", metavar="ID", help="link the result to this character")


def _add_common_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--provider", help="provider name (default: Google when configured, else local)")
    p.add_argument("--model", help="model id (default: the provider's storyboard model)")
    p.add_argument("--seed", type=int, help="seed (default: a random one, recorded)")
    p.add_argument(
        "--key", help="idempotency key: running the command again with it enqueues nothing new"
    )
    p.add_argument("--owner", default=DEMO_OWNER, help=f"act as this user (default {DEMO_OWNER})")


def _add_storyboard_commands(enq_sub, sub) -> None:  # type: ignore[no-untyped-def]
    img = enq_sub.add_parser("image", help="a storyboard image from a prompt (text-to-image)")
    img.add_argument("prompt")
    _add_target_options(img)
    _add_common_options(img)
    img.set_defaults(func=cmd_enqueue_image)

    edit = enq_sub.add_parser("image-edit", help="edit an image with a prompt (image-to-image)")
    edit.add_argument("prompt")
    edit.add_argument(
        "--source",
        metavar="PATH_OR_ASSET",
        help="an image file or asset id (default: the scene's or character's current image)",
    )
    edit.add_argument("--strength", type=float, default=0.6, help="0 keeps the source, 1 redraws")
    _add_target_options(edit)
    _add_common_options(edit)
    edit.set_defaults(func=cmd_enqueue_image_edit)

    vid = enq_sub.add_parser("video", help="a video from a prompt, or from an image (--source)")
    vid.add_argument("prompt")
    vid.add_argument("--duration", default="8", help="seconds: 4, 6 or 8 (default 8)")
    vid.add_argument("--aspect", default="16:9", help="16:9 or 9:16 (default 16:9)")
    vid.add_argument("--resolution", default="720p", help="720p or 1080p (default 720p)")
    vid.add_argument(
        "--source", metavar="PATH_OR_ASSET", help="animate this image file or asset id"
    )
    vid.add_argument(
        "--animate",
        action="store_true",
        help="animate the current image of --scene / --character",
    )
    _add_target_options(vid)
    _add_common_options(vid)
    vid.set_defaults(func=cmd_enqueue_video)

    bat = sub.add_parser("batch", help="enqueue many requests from a file")
    bat_sub = bat.add_subparsers(dest="what", required=True)
    images = bat_sub.add_parser(
        "images",
        help="storyboard images from a JSON list of prompt objects; exit 0 all enqueued, "
        "1 some entries invalid (skipped), 2 the file is unusable",
    )
    images.add_argument("file", metavar="FILE.json")
    images.add_argument("--storyboard", metavar="ID", help="for entries that name none")
    images.add_argument(
        "--owner", default=DEMO_OWNER, help=f"act as this user (default {DEMO_OWNER})"
    )
    images.set_defaults(func=cmd_batch_images)


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
    w.set_defaults(func=cmd_worker)

    sub.add_parser(
        "dispatch", help="process one job; exit 0 completed, 1 failed, 3 nothing to do"
    ).set_defaults(func=cmd_dispatch)

    enq = sub.add_parser("enqueue", help="add jobs to the queue")
    enq_sub = enq.add_subparsers(dest="what", required=True)
    noop = enq_sub.add_parser("noop", help="no-op jobs, to check that workers are alive")
    noop.add_argument("--count", type=int, default=1)
    noop.set_defaults(func=cmd_enqueue_noop)
    _add_storyboard_commands(enq_sub, sub)

    prov = sub.add_parser("providers", help="the configured model providers")
    prov_sub = prov.add_subparsers(dest="what", required=True)
    prov_sub.add_parser(
        "check",
        help="ask each configured provider which models its credential serves, with prices; "
        "exit 0 all credentials accepted, 1 otherwise",
    ).set_defaults(func=cmd_providers_check)

    pr = sub.add_parser("prune", help="delete finished jobs older than N days")
    pr.add_argument("--days", type=int, default=30)
    pr.set_defaults(func=cmd_prune)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose or args.command == "worker" else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
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
