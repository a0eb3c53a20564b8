"""What every command shares: exit statuses and the services a command acts with."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from studio.config import Settings

if TYPE_CHECKING:
    from studio.services import Services

EXIT_OK = 0
EXIT_JOB_FAILED = 1  # dispatch: the job failed; batch: some entries were invalid and skipped
EXIT_USAGE = 2  # bad input (options, values, a source that is not an image, malformed JSON)
EXIT_NO_WORK = 3
EXIT_NOT_FOUND = 4  # unknown storyboard, scene, character, asset or file
EXIT_BUSY = 5  # already in progress, or a limit or budget was reached


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
