"""Recently deleted: the owner's trashed sessions, songs, storyboards and subtrees of steps
(delete and restore are in trash.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from db.schema import ImageGeneration, ImageSession, Song, Storyboard
from db.types import utcnow

if TYPE_CHECKING:
    from studio.services import Services


@dataclass(frozen=True)
class TrashedItem:
    """One line of Recently deleted."""

    kind: str
    id: str
    title: str
    deleted_at: datetime
    purge_at: datetime
    session_id: str | None = None  # a step's session


def _since(services: Services) -> timedelta:
    return timedelta(days=services.settings.trash_days)


def list_trash(services: Services, owner_id: str, *, limit: int = 200) -> list[TrashedItem]:
    """The owner's Recently deleted, newest first: trashed sessions, songs and storyboards, and
    each trashed subtree of steps of a live session (by its top step)."""
    keep = _since(services)
    items: list[TrashedItem] = []
    with services.db() as db:
        for model, kind in ((ImageSession, "session"), (Song, "song"), (Storyboard, "storyboard")):
            m: Any = model
            for row in db.execute(
                sa.select(m.id, m.title, m.deleted_at)
                .where(m.owner_id == owner_id, m.deleted_at.isnot(None))
                .order_by(m.deleted_at.desc())
                .limit(limit)
            ).all():
                items.append(
                    TrashedItem(kind, row.id, row.title, row.deleted_at, row.deleted_at + keep)
                )
        parent = aliased(ImageGeneration)
        for gen, session_title in db.execute(
            sa.select(ImageGeneration, ImageSession.title)
            .join(ImageSession, ImageSession.id == ImageGeneration.session_id)
            .outerjoin(parent, parent.id == ImageGeneration.parent_generation_id)
            .where(
                ImageSession.owner_id == owner_id,
                ImageSession.deleted_at.is_(None),
                ImageGeneration.deleted_at.isnot(None),
                # the top of its subtree: its parent is live, or went to the trash another time
                sa.or_(
                    parent.id.is_(None),
                    parent.deleted_at.is_distinct_from(ImageGeneration.deleted_at),
                ),
            )
            .order_by(ImageGeneration.deleted_at.desc())
            .limit(limit)
        ).all():
            when = gen.deleted_at or utcnow()  # set: the query asks for trashed steps only
            title = f"Step {gen.step} of {session_title}"
            items.append(TrashedItem("step", gen.id, title, when, when + keep, gen.session_id))
    items.sort(key=lambda i: i.deleted_at, reverse=True)
    return items[:limit]
