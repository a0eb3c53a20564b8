"""The storyboard commands: `studio enqueue image|image-edit|video` and `studio batch images`.

Files named on the command line (a source image, a batch file and the images it names) are read
here and handed to the service layer as bytes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from studio.cli import common
from studio.cli.common import EXIT_JOB_FAILED, EXIT_OK, EXIT_USAGE
from studio.errors import Invalid, NotFound
from studio.storyboards.requests import Source

_UUID_CHARS = set("0123456789abcdefABCDEF-")


def read_source(value: str, folder: Path | None = None) -> Source:
    """PATH_OR_ASSET: an existing image file (relative to `folder` when given and found
    there), else an asset id."""
    if value.strip().lower().startswith(("http://", "https://")):
        raise Invalid(
            "A source must be an image file or an asset id, not a URL: download "
            "the image and give its path."
        )
    path = Path(value).expanduser()
    if folder is not None and not path.is_absolute() and (folder / path).exists():
        path = folder / path
    if path.is_file():
        try:
            return Source(data=path.read_bytes(), name=str(path))
        except OSError as exc:
            raise Invalid(f"Cannot read {value}: {exc.strerror or exc}.") from None
    if path.exists():
        raise Invalid(f"{value} is not a file.")
    text = value.strip()
    if len(text) == 36 and set(text) <= _UUID_CHARS and text.count("-") == 4:
        return Source(asset_id=text, name=f"asset {text}")
    raise NotFound(f"No file or asset {value!r}: give an image file's path or an asset id.")


def read_batch_file(path: Path) -> str:
    """The batch file's text; NotFound or Invalid when it cannot be read."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"There is no file {path}.") from None
    except OSError as exc:
        raise Invalid(f"Cannot read {path}: {exc.strerror or exc}.") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("The file is not UTF-8 text.") from None


def _target_kw(args: argparse.Namespace) -> dict[str, Any]:
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

    svc = common.services_for_cli()
    gen = sb.request_image(
        svc,
        common.cli_owner(args, svc),
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

    source = read_source(args.source) if args.source else None
    svc = common.services_for_cli()
    gen = sb.request_edit(
        svc,
        common.cli_owner(args, svc),
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
    source = read_source(args.source) if args.source else None
    svc = common.services_for_cli()
    fields: dict[str, Any] = dict(
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
        gen = sb.request_animate(svc, common.cli_owner(args, svc), entity_id=entity, **fields)
    else:
        gen = sb.request_video(
            svc, common.cli_owner(args, svc), source=source, **_target_kw(args), **fields
        )
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
    from studio.storyboards import batch

    path = Path(args.file)
    try:
        entries = batch.parse_entries(read_batch_file(path))
    except Invalid as err:
        print(f"error: {path}: {err.user_message}", file=sys.stderr)
        print("Nothing was enqueued.", file=sys.stderr)
        return EXIT_USAGE
    if not entries:
        print(f"error: {path}: the list is empty; there is nothing to enqueue.", file=sys.stderr)
        return EXIT_USAGE
    svc = common.services_for_cli()
    report = batch.enqueue_images(
        svc,
        common.cli_owner(args, svc),
        entries,
        open_source=lambda value: read_source(value, path.parent.resolve()),
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
    common.add_owner_option(p)


def add_storyboard_commands(enq_sub, sub) -> None:  # type: ignore[no-untyped-def]
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
    common.add_owner_option(images)
    images.set_defaults(func=cmd_batch_images)
