"""Creating a draft: the song, its verses and one ordered illustration job per verse in one
transaction, once the owner's limits allow one request per verse; submitting the same form
again returns the song the first submission made."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import Job, Song, SongVerse
from studio import limits
from studio.errors import Conflict
from studio.jobs.queue import DuplicateKey
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


def _form_key(owner_id: str, idempotency_key: str) -> str:
    """The form submission's key, namespaced by owner, so keys never cross people."""
    if not idempotency_key or not str(idempotency_key).strip():
        raise ValueError("an idempotency key is required")
    digest = hashlib.sha256(f"{owner_id}\0{idempotency_key}".encode()).hexdigest()
    return f"{JOB_KIND}:{digest}"


def _job_key(form_key: str, number: int) -> str:
    return f"{form_key}:{number}"


def _estimate(services: Services) -> float | None:
    """What one verse is expected to cost with the provider a new song would use."""
    name, model = choose_provider(services)
    try:
        return services.provider(name).estimate_cost(model, illustration_request("verse"))
    except Exception:  # an unknown price must not block a draft; the ledger has the actual
        return None


def _replay(db: Session, owner_id: str, form_key: str) -> Song | None:
    """The song an earlier submission with this key made, if any (found by its first job)."""
    payload = db.scalar(sa.select(Job.payload).where(Job.idempotency_key == _job_key(form_key, 1)))
    if not payload or not payload.get("song_id"):
        return None
    return db.scalar(
        sa.select(Song).where(Song.id == payload["song_id"], Song.owner_id == owner_id)
    )


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
    form_key = _form_key(owner_id, idempotency_key)
    with services.db() as db:
        found = _replay(db, owner_id, form_key)
    if found is not None:
        return found
    draft = check_draft(title, tags, text)
    estimate = _estimate(services)
    try:
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
                services.queue.enqueue(
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
                    new_only=True,
                )
    except DuplicateKey:
        with services.db() as db:
            found = _replay(db, owner_id, form_key)
        if found is None:
            raise Conflict(
                "This form was already submitted and its song no longer exists; submit it again."
            ) from None
        return found
    return song
