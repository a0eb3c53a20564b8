"""What every command shares: exit statuses and the services a command acts with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from studio.config import Settings

if TYPE_CHECKING:
    from studio.services import Services

EXIT_OK = 0
EXIT_JOB_FAILED = 1  # dispatch: the job failed; batch: some entries were invalid and skipped
EXIT_FOUND = 1  # gc: orphan files or missing files were found
EXIT_USAGE = 2  # bad input (options, values, a source that is not an image, malformed JSON)
EXIT_NO_WORK = 3
EXIT_NOT_FOUND = 4  # unknown storyboard, scene, character, asset or file
EXIT_BUSY = 5  # already in progress, or a limit or budget was reached


def services_for_cli(migrate: bool = True, *, slots: int = 1) -> Services:
    """The services; a worker with `slots` slots gets a pool that holds a connection per slot
    plus one each for the jobs' own writes and heartbeats, with room to spare."""
    from db.engine import make_engine
    from studio.services import Services

    settings = Settings()
    engine = make_engine(settings.database_url, pool_size=max(5, 2 * slots + 1))
    return Services.build(settings, engine=engine, migrate=migrate)
