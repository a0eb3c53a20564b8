"""A worker that dies (SIGKILL) between storing an output and committing its row.

Runs one session step against STUDIO_DATABASE_URL / STUDIO_STORAGE_URL with a provider that
returns different bytes each time; the step's output and thumbnail reach storage, then the
process kills itself where the commit would start, so no row references them.
Usage: python -m tests.helpers.gc_crash_worker
"""

from __future__ import annotations

import os
import signal
from typing import Any

from studio.config import Settings
from studio.jobs.worker import process_next
from studio.services import Services
from studio.sessions import job as session_job
from tests.helpers.noise_provider import use_noise_provider


def _die(*_args: Any, **_kwargs: Any) -> Any:
    print("STORED, dying before the commit", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    services = Services.build(Settings(_env_file=None), migrate=False)  # type: ignore[call-arg]
    use_noise_provider(services)
    session_job._commit = _die  # type: ignore[assignment]
    process_next(services, "victim")


if __name__ == "__main__":
    main()
