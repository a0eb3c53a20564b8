"""Publishing a song, and requeueing or skipping a verse from the song page."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from db.schema import Job, Song, table
from db.types import utcnow
from studio.errors import NotFound
from studio.jobs.admin import Actor
from studio.songs.illustration import JOB_KIND, song_key
from studio.songs.ownership import SONG_NOT_FOUND, VERSE_NOT_FOUND, owned_song

if TYPE_CHECKING:
    from studio.services import Services


def set_published(services: Services, owner_id: str, song_id: str, published: bool) -> Song:
    """Publish or unpublish a song."""
    with services.db() as db:
        song = db.scalar(
            sa.select(Song)
            .where(Song.id == song_id, Song.owner_id == owner_id, Song.deleted_at.is_(None))
            .with_for_update()
        )
        if song is None:
            raise NotFound(SONG_NOT_FOUND)
        if song.published != bool(published):
            song.published = bool(published)
            song.updated_at = utcnow()
        return song


def _verse_job(services: Services, owner_id: str, song_id: str, verse_id: str) -> str:
    """The latest job of an owned verse."""
    jobs = table(Job)
    with services.db() as db:
        owned_song(db, owner_id, song_id)
        rows = db.execute(
            sa.select(jobs.c.id, jobs.c.payload)
            .where(jobs.c.concurrency_key == song_key(song_id), jobs.c.kind == JOB_KIND)
            .order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
        ).all()
    for row in rows:
        if (row.payload or {}).get("verse_id") == verse_id:
            return str(row.id)
    raise NotFound(VERSE_NOT_FOUND)


def requeue_verse(services: Services, owner_id: str, song_id: str, verse_id: str) -> None:
    """Put a failed or skipped verse back in the queue, in its place in the song's order."""
    services.queue.requeue(_verse_job(services, owner_id, song_id, verse_id), actor=Actor(owner_id))


def skip_verse(services: Services, owner_id: str, song_id: str, verse_id: str) -> None:
    """Skip a pending or failed verse, so the verses after it can go on."""
    services.queue.cancel(_verse_job(services, owner_id, song_id, verse_id), actor=Actor(owner_id))
