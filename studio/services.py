"""The composition root: the Services container, one object built from Settings that every
caller shares — engine, unit of work, storage, providers, queue, and the table of job kinds the
workers run.

Pages get it through `studio.ui.common.services.get_services()` (cached per process), the CLI and
worker processes build their own, tests build one per test against a scratch database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from db.engine import make_engine, make_sessionmaker
from db.migrate import upgrade
from studio.config import Settings
from studio.errors import NotFound
from studio.jobs.kinds import NOOP, JobKind, kind_table
from studio.jobs.observe import observed
from studio.jobs.queue import JobQueue
from studio.providers.base import Provider
from studio.providers.registry import ProviderStatus, provider_statuses
from studio.sessions.job import SESSION_GENERATION
from studio.songs.job import VERSE_ILLUSTRATION
from studio.storage import Storage, make_storage
from studio.storyboards.jobs import STORYBOARD_IMAGE, STORYBOARD_VIDEO


def job_kinds() -> dict[str, JobKind]:
    """Every kind of work the studio's workers run, by name."""
    return kind_table(
        NOOP, SESSION_GENERATION, VERSE_ILLUSTRATION, STORYBOARD_IMAGE, STORYBOARD_VIDEO
    )


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    storage: Storage
    queue: JobQueue
    providers: list[ProviderStatus] = field(default_factory=list)
    kinds: dict[str, JobKind] = field(default_factory=job_kinds)

    @classmethod
    def build(
        cls, settings: Settings | None = None, *, engine: Engine | None = None, migrate: bool = True
    ) -> Services:
        """Build every part from `settings`; migrate the database to head unless told not to."""
        settings = settings or Settings()
        engine = engine or make_engine(settings.database_url)
        if migrate:
            upgrade(engine)
        services = cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            storage=make_storage(
                settings.storage_url,
                s3_endpoint_url=settings.s3_endpoint_url,
                s3_region=settings.s3_region,
                url_expires_seconds=settings.media_url_seconds,
            ),
            queue=JobQueue(
                engine,
                lease_seconds=settings.lease_seconds,
                stale_seconds=settings.stale_job_seconds,
                max_attempts=settings.max_attempts,
            ),
            providers=provider_statuses(settings),
        )
        if settings.caps():
            services.queue.apply_configured_caps(settings.caps())
        return services

    @contextmanager
    def db(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any error."""
        with self.sessions.begin() as session:
            yield session

    def provider(self, name: str) -> Provider:
        for status in self.providers:
            if status.name == name:
                if status.provider is None:
                    raise NotFound(f"The provider {status.label} is off: {status.reason}.")
                return observed(status.provider)  # calls timed, counted and logged
        raise NotFound(f"Unknown provider {name!r}.")

    def close(self) -> None:
        self.engine.dispose()
