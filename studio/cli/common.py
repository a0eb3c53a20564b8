"""What every command shares: exit statuses and the services a command acts with."""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from studio.config import DEMO_OWNER, Settings
from studio.errors import Invalid

if TYPE_CHECKING:
    from studio.services import Services

EXIT_OK = 0
EXIT_JOB_FAILED = 1  # dispatch: the job failed; batch: some entries were invalid and skipped
EXIT_FOUND = 1  # gc: orphan files or missing files were found
EXIT_USAGE = 2  # bad input (options, values, a source that is not an image, malformed JSON)
EXIT_NO_WORK = 3
EXIT_NOT_FOUND = 4  # unknown storyboard, scene, character, asset or file
EXIT_BUSY = 5  # already in progress, or a limit or budget was reached


def cli_owner(args: argparse.Namespace, services: Services) -> str:
    """Whom a command acts for: --owner, else STUDIO_CLI_OWNER, else the demo user. Work it
    enqueues belongs to them and counts against their limits."""
    owner = (getattr(args, "owner", None) or services.settings.cli_owner).strip()
    if not owner or len(owner) > 200:
        raise Invalid("--owner must be an owner id of 1 to 200 characters.")
    return owner


def configure_logging(*, verbose: bool, worker: bool) -> None:
    """Text lines by default; with STUDIO_LOG_FORMAT=json, one JSON line per record, and an
    event per job transition and provider call (which text shows only with -v)."""
    from studio.jobs.observe import configure_logging as configure

    log_format = Settings().log_format
    configure(log_format, logging.INFO if verbose or worker else logging.WARNING)
    if log_format == "text" and not verbose:
        logging.getLogger("studio.events").setLevel(logging.WARNING)


def services_for_cli(migrate: bool = True, *, slots: int = 1) -> Services:
    """The services; a worker with `slots` slots gets a pool that holds a connection per slot
    plus one each for the jobs' own writes and heartbeats, with room to spare."""
    from db.engine import make_engine
    from studio.services import Services

    settings = Settings()
    engine = make_engine(settings.database_url, pool_size=max(5, 2 * slots + 1))
    return Services.build(settings, engine=engine, migrate=migrate)


def add_owner_option(p: argparse.ArgumentParser) -> None:
    """The --owner option of every command that acts for someone (read by cli_owner)."""
    p.add_argument(
        "--owner",
        help="act as this user: their owner id, as the studio's sidebar shows it "
        f"(default: STUDIO_CLI_OWNER, else the demo user {DEMO_OWNER!r})",
    )
