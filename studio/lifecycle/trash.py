"""Delete with a trash: a session, a step and its descendants, a song or a storyboard goes to
Recently deleted, from which it can be restored whole for `STUDIO_TRASH_DAYS` (7 by default);
`purge` (purge.py) deletes it for good after that.

Deleting sets `deleted_at` (one time for a whole subtree of steps) and cancels the work still
queued or running for it, in one transaction. Every read leaves trashed rows out
(`studio.ownership.owned` and each list's query), so a trashed thing is reported exactly like a
missing one. Nothing is removed from storage here: the files stay until the purge, and even then
a file goes only when no row references it any more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import (
    ImageAsset,
    ImageGeneration,
    ImageSession,
    Job,
    Song,
    SongGenerationVerseArtifact,
    SongVerse,
    Storyboard,
    StoryboardEntity,
    StoryboardGeneration,
)
from db.types import utcnow
from studio.errors import Conflict, Invalid, NotFound
from studio.humanize import plural
from studio.lifecycle.reads import TrashedItem, list_trash
from studio.ownership import owned
from studio.sessions.ownership import SESSION_NOT_FOUND, owned_generation
from studio.songs.illustration import song_key
from studio.songs.ownership import SONG_NOT_FOUND
from studio.storyboards.ownership import STORYBOARD_NOT_FOUND

if TYPE_CHECKING:
    from studio.services import Services

__all__ = ["KINDS", "TrashedItem", "WhatGoes", "delete", "list_trash", "restore", "what_goes"]

KINDS = ("session", "step", "song", "storyboard")
_UNFINISHED = ("pending", "running", "failed")  # a failed ordered job holds its song's queue


@dataclass(frozen=True)
class WhatGoes:
    """What deleting something takes away: the confirmation dialog's sentence."""

    kind: str
    id: str
    title: str
    steps: int = 0
    images: int = 0
    videos: int = 0
    parts: int = 0  # verses of a song, scenes and characters of a storyboard
    in_flight: int = 0

    def sentence(self) -> str:
        counts = []
        if self.kind in ("session", "step"):
            counts.append(plural(self.steps, "step"))
        if self.kind == "song":
            counts.append(plural(self.parts, "verse"))
        if self.kind == "storyboard":
            counts.append(plural(self.parts, "scene or character", "scenes and characters"))
        counts.append(plural(self.images, "image"))
        if self.videos or self.kind == "storyboard":
            counts.append(plural(self.videos, "video"))
        text = ", ".join(counts)
        if self.in_flight:
            text += f"; {plural(self.in_flight, 'piece')} of work in progress will be canceled"
        return text


# ---------------------------------------------------------------------------------------------
# what goes
# ---------------------------------------------------------------------------------------------


def _live_steps(db: Session, session_id: str) -> list[Any]:
    return list(
        db.execute(
            sa.select(
                ImageGeneration.id,
                ImageGeneration.parent_generation_id,
                ImageGeneration.deleted_at,
                ImageGeneration.job_id,
            ).where(ImageGeneration.session_id == session_id)
        ).all()
    )


def _subtree(rows: list[Any], root_id: str, *, deleted_at: datetime | None) -> list[Any]:
    """The step `root_id` and its descendants among `rows` whose `deleted_at` is the given one
    (None: the live ones)."""
    children: dict[str | None, list[Any]] = {}
    for row in rows:
        children.setdefault(row.parent_generation_id, []).append(row)
    found = [r for r in rows if r.id == root_id]
    queue = list(found)
    while queue:
        for child in children.get(queue.pop().id, []):
            if child.deleted_at == deleted_at:
                found.append(child)
                queue.append(child)
    return found


def _asset_counts(db: Session, where: sa.ColumnElement[bool]) -> tuple[int, int]:
    rows = dict(
        db.execute(
            sa.select(ImageAsset.role, sa.func.count())
            .where(where, ImageAsset.role.in_(("output", "video")))
            .group_by(ImageAsset.role)
        ).all()
    )
    return int(rows.get("output", 0)), int(rows.get("video", 0))


def _in_flight(db: Session, job_ids: list[str]) -> list[str]:
    if not job_ids:
        return []
    return list(
        db.scalars(sa.select(Job.id).where(Job.id.in_(job_ids), Job.status.in_(_UNFINISHED)))
    )


@dataclass
class _Plan:
    """What a delete does: the row that goes to the trash (for a step: its session, whose steps
    `step_ids` go), the unfinished jobs to cancel, and what the dialog says."""

    target: Any
    jobs: list[str]
    what: WhatGoes
    step_ids: list[str] = field(default_factory=list)


def _session_plan(db: Session, owner_id: str, session_id: str, lock: bool) -> _Plan:
    session = owned(db, owner_id, ImageSession, session_id, SESSION_NOT_FOUND, lock=lock)
    live = [r for r in _live_steps(db, session_id) if r.deleted_at is None]
    ids = [r.id for r in live]
    images, videos = _asset_counts(db, ImageAsset.generation_id.in_(ids)) if ids else (0, 0)
    jobs = _in_flight(db, [r.job_id for r in live if r.job_id])
    what = WhatGoes("session", session.id, session.title, len(live), images, videos, 0, len(jobs))
    return _Plan(session, jobs, what)


def _step_plan(db: Session, owner_id: str, generation_id: str, lock: bool) -> _Plan:
    gen, session = owned_generation(db, owner_id, generation_id, lock=lock)
    subtree = _subtree(_live_steps(db, session.id), gen.id, deleted_at=None)
    ids = [r.id for r in subtree]
    images, videos = _asset_counts(db, ImageAsset.generation_id.in_(ids))
    jobs = _in_flight(db, [r.job_id for r in subtree if r.job_id])
    title = f"Step {gen.step} of {session.title}"
    what = WhatGoes("step", gen.id, title, len(ids), images, videos, 0, len(jobs))
    return _Plan(session, jobs, what, ids)


def _song_plan(db: Session, owner_id: str, song_id: str, lock: bool) -> _Plan:
    song = owned(db, owner_id, Song, song_id, SONG_NOT_FOUND, lock=lock)
    verses = int(db.scalar(sa.select(sa.func.count()).where(SongVerse.song_id == song.id)) or 0)
    images = int(
        db.scalar(
            sa.select(sa.func.count())
            .select_from(SongGenerationVerseArtifact)
            .join(SongVerse, SongVerse.id == SongGenerationVerseArtifact.verse_id)
            .where(
                SongVerse.song_id == song.id, SongGenerationVerseArtifact.image_asset_id.isnot(None)
            )
        )
        or 0
    )
    jobs = list(
        db.scalars(
            sa.select(Job.id).where(
                Job.concurrency_key == song_key(song.id), Job.status.in_(_UNFINISHED)
            )
        )
    )
    return _Plan(song, jobs, WhatGoes("song", song.id, song.title, 0, images, 0, verses, len(jobs)))


def _storyboard_plan(db: Session, owner_id: str, storyboard_id: str, lock: bool) -> _Plan:
    board = owned(db, owner_id, Storyboard, storyboard_id, STORYBOARD_NOT_FOUND, lock=lock)
    parts = int(
        db.scalar(sa.select(sa.func.count()).where(StoryboardEntity.storyboard_id == board.id)) or 0
    )
    media = dict(
        db.execute(
            sa.select(StoryboardGeneration.media, sa.func.count())
            .where(
                StoryboardGeneration.storyboard_id == board.id,
                StoryboardGeneration.asset_id.isnot(None),
            )
            .group_by(StoryboardGeneration.media)
        ).all()
    )
    job_ids = db.scalars(
        sa.select(StoryboardGeneration.job_id).where(
            StoryboardGeneration.storyboard_id == board.id,
            StoryboardGeneration.job_id.isnot(None),
        )
    )
    jobs = _in_flight(db, sorted({j for j in job_ids if j}))
    images, videos = int(media.get("image", 0)), int(media.get("video", 0))
    what = WhatGoes("storyboard", board.id, board.title, 0, images, videos, parts, len(jobs))
    return _Plan(board, jobs, what)


_PLANS = {
    "session": _session_plan,
    "step": _step_plan,
    "song": _song_plan,
    "storyboard": _storyboard_plan,
}


def _plan(db: Session, owner_id: str, kind: str, row_id: str, *, lock: bool = False) -> _Plan:
    if kind not in _PLANS:
        raise Invalid(f"Only {', '.join(KINDS)} can be deleted, not {kind!r}.")
    return _PLANS[kind](db, owner_id, row_id, lock)


def what_goes(services: Services, owner_id: str, kind: str, row_id: str) -> WhatGoes:
    """What deleting `kind` `row_id` would take away (read only)."""
    with services.db() as db:
        return _plan(db, owner_id, kind, row_id).what


# ---------------------------------------------------------------------------------------------
# delete and restore
# ---------------------------------------------------------------------------------------------


def delete(services: Services, owner_id: str, kind: str, row_id: str) -> WhatGoes:
    """Move `kind` `row_id` to the trash and cancel its unfinished work, in one transaction."""
    now = utcnow()
    with services.db() as db:
        plan = _plan(db, owner_id, kind, row_id, lock=True)
        if kind == "step":
            db.execute(
                sa.update(ImageGeneration)
                .where(ImageGeneration.id.in_(plan.step_ids))
                .values(deleted_at=now)
            )
            _refresh_thumbnail(db, plan.target)
            plan.target.updated_at = now
        else:
            plan.target.deleted_at = now
        for job_id in plan.jobs:
            try:
                services.queue.cancel(job_id, db=db)
            except Conflict:  # it finished a moment ago: its output goes to the trash too
                pass
    return plan.what


def _refresh_thumbnail(db: Session, session: ImageSession) -> None:
    """Point the session's thumbnail at its newest live image (None if it has none)."""
    session.thumbnail_asset_id = db.scalar(
        sa.select(ImageAsset.id)
        .join(ImageGeneration, ImageGeneration.id == ImageAsset.generation_id)
        .where(
            ImageGeneration.session_id == session.id,
            ImageGeneration.deleted_at.is_(None),
            ImageAsset.role == "output",
        )
        .order_by(ImageGeneration.step.desc(), ImageAsset.created_at.desc())
        .limit(1)
    )


def restore(services: Services, owner_id: str, kind: str, row_id: str) -> str:
    """Bring `kind` `row_id` back from the trash, whole; returns its title. Work that was
    canceled when it was deleted stays canceled (run it again from its page)."""
    if kind not in KINDS:
        raise Invalid(f"Only {', '.join(KINDS)} can be restored, not {kind!r}.")
    with services.db() as db:
        if kind == "step":
            row = db.execute(
                sa.select(ImageGeneration, ImageSession)
                .join(ImageSession, ImageSession.id == ImageGeneration.session_id)
                .where(
                    ImageGeneration.id == row_id,
                    ImageSession.owner_id == owner_id,
                    ImageGeneration.deleted_at.isnot(None),
                )
            ).first()
            if row is None:
                raise NotFound("That step is not in your Recently deleted.")
            gen, session = row
            if session.deleted_at is not None:
                raise Invalid(
                    f"Step {gen.step} belongs to the deleted session {session.title!r}: "
                    "restore the session first."
                )
            ids = [
                r.id
                for r in _subtree(_live_steps(db, session.id), gen.id, deleted_at=gen.deleted_at)
            ]
            db.execute(
                sa.update(ImageGeneration)
                .where(ImageGeneration.id.in_(ids))
                .values(deleted_at=None)
            )
            _refresh_thumbnail(db, session)
            session.updated_at = utcnow()
            return f"Step {gen.step} of {session.title}"
        model: Any = {"session": ImageSession, "song": Song, "storyboard": Storyboard}[kind]
        target = db.scalar(
            sa.select(model).where(
                model.id == row_id, model.owner_id == owner_id, model.deleted_at.isnot(None)
            )
        )
        if target is None:
            raise NotFound(f"That {kind} is not in your Recently deleted.")
        target.deleted_at = None
        target.updated_at = utcnow()
        return str(target.title)
