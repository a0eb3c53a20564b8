"""Creating a draft: the song, its verses and one ordered illustration job per verse in one
transaction, once the owner's limits allow one request per verse; submitting the same form
again returns the song the first submission made."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import Job, Song, SongVerse
from studio import limits, search, submissions
from studio.songs.illustration import (
    JOB_KIND,
    choose_provider,
    illustration_request,
    song_key,
    verse_label,
)
from studio.songs.text import check_draft

if TYPE_CHECKING:
    from studio.services import Services


def _job_key(form_key: str, number: int) -> str:
    return f"{form_key}:{number}"


def _estimate(services: Services) -> float | None:
    """What one verse is expected to cost with the provider a new song would use."""
    name, model = choose_provider(services)
    try:
        return services.provider(name).estimate_cost(model, illustration_request("verse"))
    except Exception:  # an unknown price must not block a draft; the ledger has the actual
        return None


def _replay(owner_id: str, form_key: str) -> Callable[[Session], Song | None]:
    """Finds the song an earlier submission with this key made (by its first verse's job)."""

    def find(db: Session) -> Song | None:
        first = _job_key(form_key, 1)
        payload = db.scalar(sa.select(Job.payload).where(Job.idempotency_key == first))
        if not payload or not payload.get("song_id"):
            return None
        return db.scalar(
            sa.select(Song).where(Song.id == payload["song_id"], Song.owner_id == owner_id)
        )

    return find


def create_song_draft(
    services: Services,
    owner_id: str,
    *,
    title: str,
    tags: str | list[str] | None,
    text: str,
    idempotency_key: str,
) -> Song:
    """Store an unpublished song with its verses and enqueue one illustration job per verse,
    in verse order, in one transaction. Submitting the same form again (same idempotency key)
    returns the song the first submission made."""
    form_key = submissions.job_key(JOB_KIND, owner_id, idempotency_key)

    def create() -> Song:
        draft = check_draft(title, tags, text)
        estimate = _estimate(services)
        provider_name, _ = choose_provider(services)
        with services.db() as db:
            n = len(draft.verses)  # one request per verse
            total = estimate * n if estimate else None
            limits.check(db, services.settings, owner_id, total, requests=n, what="song draft")
            song = Song(owner_id=owner_id, title=draft.title, tags=draft.tags, published=False)
            db.add(song)
            db.flush()
            verses = [
                SongVerse(song_id=song.id, sequence_number=n, text=verse)
                for n, verse in enumerate(draft.verses, start=1)
            ]
            db.add_all(verses)
            db.flush()
            for verse in verses:
                job = services.queue.enqueue(
                    JOB_KIND,
                    {"song_id": song.id, "verse_id": verse.id, "verse": verse.sequence_number},
                    db=db,
                    idempotency_key=_job_key(form_key, verse.sequence_number),
                    concurrency_key=song_key(song.id),
                    ordered=True,
                    sequence=verse.sequence_number,
                    owner_id=owner_id,
                    label=verse_label(verse.sequence_number, song.title),
                    cost_estimate=estimate,
                    provider=provider_name,
                    new_only=True,
                )
                search.index_verse(db, verse, owner_id, job_id=job.id)
        return song

    return submissions.submit_once(
        services,
        replay=_replay(owner_id, form_key),
        create=create,
        gone="This form was already submitted and its song no longer exists; submit it again.",
    )
