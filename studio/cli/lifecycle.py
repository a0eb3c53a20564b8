"""Housekeeping commands: gc, purge, prune, backup, export and import of sessions."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from pathlib import Path

from studio.cli import common
from studio.cli.common import EXIT_FOUND, EXIT_OK, EXIT_USAGE


def cmd_gc(args: argparse.Namespace) -> int:
    from studio.lifecycle import gc

    svc = common.services_for_cli()
    report = gc.collect(svc, delete=args.delete, min_age=timedelta(minutes=args.min_age_minutes))
    for orphan in report.orphans:
        f = orphan.file
        print(f"orphan  {orphan.bucket}/{f.key}  {f.size} bytes  {f.modified:%Y-%m-%d %H:%M}")
    for missing in report.missing:
        print(
            f"missing {missing.bucket}/{missing.key}  ({missing.what} of asset {missing.asset_id})"
        )
    print(
        f"{len(report.orphans)} file(s) no row references, "
        f"{len(report.missing)} row(s) whose file is missing."
    )
    if args.delete:
        print(
            f"Deleted {len(report.deleted)} orphan file(s); kept {report.kept_young} younger "
            f"than {args.min_age_minutes} minute(s) (work in flight may still commit them)."
        )
    return EXIT_FOUND if report.found else EXIT_OK


def cmd_purge(args: argparse.Namespace) -> int:
    from studio.lifecycle import purge

    svc = common.services_for_cli()
    print(purge.purge(svc).sentence())
    return EXIT_OK


def cmd_prune(args: argparse.Namespace) -> int:
    from studio.lifecycle import purge, retention

    svc = common.services_for_cli()
    days = args.days if args.days is not None else svc.settings.retention_days
    if days is not None:
        print(retention.prune(svc, older_than=timedelta(days=days)).sentence())
    else:
        print("Retention is off (STUDIO_RETENTION_DAYS is not set): no job or input pruned.")
    print(purge.purge(svc).sentence())
    return EXIT_OK


def cmd_backup(args: argparse.Namespace) -> int:
    from studio.lifecycle import backup

    svc = common.services_for_cli()
    done = backup.backup(svc, Path(args.path))
    for line in done:
        print(line)
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from studio.lifecycle import archive, exports

    svc = common.services_for_cli()
    export = {
        "session": archive.export_session,
        "song": exports.export_song,
        "storyboard": exports.export_storyboard,
    }[args.kind]
    name, data = export(svc, common.cli_owner(args, svc), args.id)
    out = Path(args.output or name)
    out.write_bytes(data)
    print(f"Exported to {out} ({len(data)} bytes)")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    from studio.lifecycle import archive

    svc = common.services_for_cli()
    path = Path(args.path)
    if not path.is_file():
        print(f"error: no file {path}", file=sys.stderr)
        return EXIT_USAGE
    if path.stat().st_size > archive.MAX_ZIP_BYTES:
        print(f"error: {archive.TOO_BIG}", file=sys.stderr)
        return EXIT_USAGE
    session = archive.import_session(svc, common.cli_owner(args, svc), path.read_bytes())
    print(f"Imported session {session.id}: {session.title}")
    return EXIT_OK


def add_lifecycle_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:

    gc = sub.add_parser(
        "gc",
        help="list files no row references and rows whose file is missing (exit 1: found some)",
    )
    gc.add_argument(
        "--delete", action="store_true", help="remove the orphan files older than --min-age"
    )
    gc.add_argument(
        "--min-age-minutes",
        type=int,
        default=60,
        help="only orphans at least this old are deleted (default 60: work in flight is safe)",
    )
    gc.set_defaults(func=cmd_gc)

    sub.add_parser(
        "purge", help="delete for good what has been in the trash longer than STUDIO_TRASH_DAYS"
    ).set_defaults(func=cmd_purge)

    pr = sub.add_parser(
        "prune",
        help="retention (finished jobs, failed steps' inputs older than STUDIO_RETENTION_DAYS) "
        "and the trash purge",
    )
    pr.add_argument("--days", type=int, default=None, help="override STUDIO_RETENTION_DAYS")
    pr.set_defaults(func=cmd_prune)

    bk = sub.add_parser(
        "backup", help="copy the SQLite database (online) and the local media folder to PATH"
    )
    bk.add_argument("path", help="a folder to create (must not exist or be empty)")
    bk.set_defaults(func=cmd_backup)

    ex = sub.add_parser("export", help="export a session, a song or a storyboard as a zip")
    ex.add_argument("id", help="the session's (or song's, or storyboard's) id")
    ex.add_argument(
        "--kind", choices=("session", "song", "storyboard"), default="session", help="what ID is"
    )
    ex.add_argument("--output", help="the zip file to write (default: named after the session)")
    common.add_owner_option(ex)
    ex.set_defaults(func=cmd_export)

    im = sub.add_parser("import", help="import a session zip as a new session")
    im.add_argument("path", help="the zip file")
    common.add_owner_option(im)
    im.set_defaults(func=cmd_import)
