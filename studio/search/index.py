"""Writing search entries, in the transaction that writes the row they index."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import (
    ImageGeneration,
    SearchEntry,
    SongGenerationVerseArtifact,
    SongVerse,
    StoryboardEntity,
    StoryboardGeneration,
)


def index_step(db: Session, gen: ImageGeneration, owner_id: str) -> None:
    """A session step's prompt."""
    db.add(
        SearchEntry(
            owner_id=owner_id,
            kind="step",
            container_id=gen.session_id,
            position=gen.step,
            text=gen.prompt,
            provider=gen.provider,
            model=gen.model,
            job_id=gen.job_id,
            generation_id=gen.id,
        )
    )


def index_verse(db: Session, verse: SongVerse, owner_id: str, *, job_id: str | None) -> None:
    """A song verse's text."""
    db.add(
        SearchEntry(
            owner_id=owner_id,
            kind="verse",
            container_id=verse.song_id,
            position=verse.sequence_number,
            text=verse.text,
            job_id=job_id,
            verse_id=verse.id,
        )
    )


def index_verse_prompt(
    db: Session, artifact: SongGenerationVerseArtifact, verse: SongVerse, owner_id: str
) -> None:
    """The prompt that illustrated a verse."""
    db.add(
        SearchEntry(
            owner_id=owner_id,
            kind="verse_prompt",
            container_id=verse.song_id,
            position=verse.sequence_number,
            text=artifact.prompt,
            provider=artifact.provider,
            model=artifact.model,
            job_id=artifact.job_id,
            artifact_id=artifact.id,
        )
    )


def index_entity(db: Session, entity: StoryboardEntity, owner_id: str) -> None:
    """A scene or character: its name and description (written again when they change)."""
    text = f"{entity.name}\n{entity.description or ''}".strip()
    entry = db.scalar(sa.select(SearchEntry).where(SearchEntry.entity_id == entity.id))
    if entry is None:
        db.add(
            SearchEntry(
                owner_id=owner_id,
                kind=entity.kind,
                container_id=entity.storyboard_id,
                text=text,
                entity_id=entity.id,
            )
        )
    else:
        entry.text = text


def index_request(db: Session, gen: StoryboardGeneration) -> None:
    """A storyboard request's prompt (its job id is written once the job exists)."""
    db.add(
        SearchEntry(
            owner_id=gen.owner_id,
            kind="request",
            container_id=gen.storyboard_id,
            text=gen.prompt,
            provider=gen.provider,
            model=gen.model,
            job_id=gen.job_id,
            request_id=gen.id,
        )
    )
