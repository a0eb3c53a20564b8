"""Purge: what has been in the trash longer than `STUDIO_TRASH_DAYS` is deleted for good.

Rows go in one transaction (the database's ON DELETE CASCADE takes a session's steps and asset
rows, a song's verses, a storyboard's scenes and requests; asset rows a song or storyboard used
and nothing else references go too). Files go after the commit, and only those no remaining row
references: uploads and outputs are stored once per content and shared between rows, sessions
and owners.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import (
    ImageAsset,
    ImageGeneration,
    ImageSession,
    Song,
    SongGenerationVerseArtifact,
    SongVerse,
    Storyboard,
    StoryboardEntity,
    StoryboardGeneration,
)
from db.types import utcnow
from studio.storage import Storage, StorageError

if TYPE_CHECKING:
    from studio.services import Services

FileRef = tuple[str, str]  # (bucket, key)


@dataclass
class PurgeReport:
    sessions: int = 0
    steps: int = 0
    songs: int = 0
    storyboards: int = 0
    asset_rows: int = 0
    files: list[FileRef] = field(default_factory=list)

    def sentence(self) -> str:
        return (
            f"Purged {self.sessions} session(s), {self.steps} step(s), {self.songs} song(s), "
            f"{self.storyboards} storyboard(s), {self.asset_rows} asset row(s) and "
            f"{len(self.files)} file(s) no row used any more."
        )


def _files_of(db: Session, where: sa.ColumnElement[bool]) -> set[FileRef]:
    found: set[FileRef] = set()
    for bucket, key, thumb in db.execute(
        sa.select(ImageAsset.bucket, ImageAsset.key, ImageAsset.thumbnail_key).where(where)
    ).all():
        found.add((bucket, key))
        if thumb:
            found.add((bucket, thumb))
    return found


def referenced(db: Session, files: Iterable[FileRef]) -> set[FileRef]:
    """Those of `files` that some row still references."""
    files = set(files)
    if not files:
        return set()
    keys = {k for _, k in files}
    used: set[FileRef] = set()
    for bucket, key, thumb in db.execute(
        sa.select(ImageAsset.bucket, ImageAsset.key, ImageAsset.thumbnail_key).where(
            sa.or_(ImageAsset.key.in_(keys), ImageAsset.thumbnail_key.in_(keys))
        )
    ).all():
        used.add((bucket, key))
        if thumb:
            used.add((bucket, thumb))
    artifact_thumbs = set(
        db.scalars(
            sa.select(SongGenerationVerseArtifact.thumbnail_key).where(
                SongGenerationVerseArtifact.thumbnail_key.in_(keys)
            )
        )
    )
    return {f for f in files if f in used or f[1] in artifact_thumbs}


def _unused_assets(db: Session, asset_ids: set[str]) -> list[str]:
    """Those of `asset_ids` that belong to no session and no remaining row points at."""
    if not asset_ids:
        return []
    ids = list(asset_ids)
    pointers: list[Any] = [
        SongVerse.illustration_asset_id,
        SongGenerationVerseArtifact.image_asset_id,
        StoryboardEntity.image_asset_id,
        StoryboardEntity.video_asset_id,
        StoryboardGeneration.source_asset_id,
        StoryboardGeneration.asset_id,
        ImageSession.thumbnail_asset_id,
    ]
    used: set[str] = set()
    for column in pointers:
        used.update(db.scalars(sa.select(column).where(column.in_(ids))))
    used.update(
        db.scalars(
            sa.select(ImageAsset.id).where(
                ImageAsset.id.in_(ids), ImageAsset.session_id.isnot(None)
            )
        )
    )
    return [i for i in ids if i not in used]


def delete_files(storage: Storage, files: Iterable[FileRef]) -> list[FileRef]:
    """Remove `files` from storage (the caller checked that no row uses them)."""
    gone = []
    for bucket, key in sorted(set(files)):
        try:
            storage.delete(bucket, key)
            gone.append((bucket, key))
        except StorageError:
            continue  # left for `studio gc`
    return gone


def purge(
    services: Services, *, now: datetime | None = None, owner_id: str | None = None
) -> PurgeReport:
    """Delete for good everything trashed more than `STUDIO_TRASH_DAYS` ago (every owner's, or
    `owner_id`'s), then the files no row references any more."""
    cutoff = (now or utcnow()) - timedelta(days=services.settings.trash_days)
    report = PurgeReport()
    with services.db() as db:
        candidates = _purge_rows(db, cutoff, owner_id, report)
        unused = candidates - referenced(db, candidates)
    report.files = delete_files(services.storage, unused)
    return report


def _due(model: Any, cutoff: datetime, owner_id: str | None) -> list[sa.ColumnElement[bool]]:
    where = [model.deleted_at.isnot(None), model.deleted_at <= cutoff]
    if owner_id is not None:
        where.append(model.owner_id == owner_id)
    return where


def _purge_rows(
    db: Session, cutoff: datetime, owner_id: str | None, report: PurgeReport
) -> set[FileRef]:
    files: set[FileRef] = set()
    # sessions: their steps and asset rows go by cascade
    session_ids = list(
        db.scalars(sa.select(ImageSession.id).where(*_due(ImageSession, cutoff, owner_id)))
    )
    if session_ids:
        files |= _files_of(db, ImageAsset.session_id.in_(session_ids))
        report.asset_rows += _count(db, ImageAsset.session_id.in_(session_ids))
        db.execute(sa.delete(ImageAsset).where(ImageAsset.session_id.in_(session_ids)))
        db.execute(sa.delete(ImageGeneration).where(ImageGeneration.session_id.in_(session_ids)))
        db.execute(sa.delete(ImageSession).where(ImageSession.id.in_(session_ids)))
        report.sessions = len(session_ids)
    # steps of live sessions
    step_where = [ImageGeneration.deleted_at.isnot(None), ImageGeneration.deleted_at <= cutoff]
    step_q = (
        sa.select(ImageGeneration.id)
        .join(ImageSession, ImageSession.id == ImageGeneration.session_id)
        .where(*step_where)
    )
    if owner_id is not None:
        step_q = step_q.where(ImageSession.owner_id == owner_id)
    step_ids = list(db.scalars(step_q))
    if step_ids:
        files |= _files_of(db, ImageAsset.generation_id.in_(step_ids))
        report.asset_rows += _count(db, ImageAsset.generation_id.in_(step_ids))
        db.execute(sa.delete(ImageAsset).where(ImageAsset.generation_id.in_(step_ids)))
        db.execute(
            sa.update(ImageGeneration)
            .where(ImageGeneration.parent_generation_id.in_(step_ids))
            .values(parent_generation_id=None)
        )
        db.execute(sa.delete(ImageGeneration).where(ImageGeneration.id.in_(step_ids)))
        report.steps = len(step_ids)
    # songs and storyboards: their own rows by cascade, then the asset rows only they used
    asset_ids: set[str] = set()
    song_ids = list(db.scalars(sa.select(Song.id).where(*_due(Song, cutoff, owner_id))))
    if song_ids:
        verses = sa.select(SongVerse.id).where(SongVerse.song_id.in_(song_ids))
        asset_ids.update(
            a
            for a in db.scalars(
                sa.select(SongVerse.illustration_asset_id).where(SongVerse.song_id.in_(song_ids))
            )
            if a
        )
        asset_ids.update(
            a
            for a in db.scalars(
                sa.select(SongGenerationVerseArtifact.image_asset_id).where(
                    SongGenerationVerseArtifact.verse_id.in_(verses)
                )
            )
            if a
        )
        db.execute(
            sa.delete(SongGenerationVerseArtifact).where(
                SongGenerationVerseArtifact.verse_id.in_(verses)
            )
        )
        db.execute(sa.delete(SongVerse).where(SongVerse.song_id.in_(song_ids)))
        db.execute(sa.delete(Song).where(Song.id.in_(song_ids)))
        report.songs = len(song_ids)
    board_ids = list(
        db.scalars(sa.select(Storyboard.id).where(*_due(Storyboard, cutoff, owner_id)))
    )
    if board_ids:
        for row in db.execute(
            sa.select(StoryboardEntity.image_asset_id, StoryboardEntity.video_asset_id).where(
                StoryboardEntity.storyboard_id.in_(board_ids)
            )
        ).all():
            asset_ids.update(a for a in row if a)
        for row in db.execute(
            sa.select(StoryboardGeneration.source_asset_id, StoryboardGeneration.asset_id).where(
                StoryboardGeneration.storyboard_id.in_(board_ids)
            )
        ).all():
            asset_ids.update(a for a in row if a)
        db.execute(
            sa.delete(StoryboardGeneration).where(StoryboardGeneration.storyboard_id.in_(board_ids))
        )
        db.execute(sa.delete(StoryboardEntity).where(StoryboardEntity.storyboard_id.in_(board_ids)))
        db.execute(sa.delete(Storyboard).where(Storyboard.id.in_(board_ids)))
        report.storyboards = len(board_ids)
    unused = _unused_assets(db, asset_ids)
    if unused:
        files |= _files_of(db, ImageAsset.id.in_(unused))
        db.execute(sa.delete(ImageAsset).where(ImageAsset.id.in_(unused)))
        report.asset_rows += len(unused)
    db.flush()
    return files


def _count(db: Session, where: sa.ColumnElement[bool]) -> int:
    return int(db.scalar(sa.select(sa.func.count()).select_from(ImageAsset).where(where)) or 0)
