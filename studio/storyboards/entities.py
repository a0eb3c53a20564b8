"""Storyboards and their scenes and characters: create, rename, add, change, delete."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from db.schema import Job, Storyboard, StoryboardEntity, StoryboardGeneration, table
from db.types import utcnow
from studio import search
from studio.jobs import work
from studio.storyboards.ownership import owned_entity, owned_storyboard
from studio.storyboards.params import check_entity_text, check_kind, check_title

if TYPE_CHECKING:
    from studio.services import Services


def create_storyboard(services: Services, owner_id: str, title: str) -> Storyboard:
    """A new, empty storyboard."""
    clean = check_title(title)
    with services.db() as db:
        board = Storyboard(owner_id=owner_id, title=clean)
        db.add(board)
        db.flush()
        db.expunge(board)
    return board


def rename_storyboard(services: Services, owner_id: str, storyboard_id: str, title: str) -> None:
    clean = check_title(title)
    with services.db() as db:
        board = owned_storyboard(db, owner_id, storyboard_id, lock=True)
        board.title = clean


def add_entity(
    services: Services,
    owner_id: str,
    storyboard_id: str,
    *,
    kind: str,
    name: str,
    description: str = "",
) -> StoryboardEntity:
    """Add a scene or a character (name required, description optional)."""
    check_kind(kind)
    clean_name, text = check_entity_text(kind, name, description)
    with services.db() as db:
        board = owned_storyboard(db, owner_id, storyboard_id, lock=True)
        entity = StoryboardEntity(
            storyboard_id=board.id, kind=kind, name=clean_name, description=text
        )
        db.add(entity)
        board.updated_at = utcnow()
        db.flush()
        search.index_entity(db, entity, owner_id)
        db.flush()
        db.expunge(entity)
    return entity


def update_entity(
    services: Services,
    owner_id: str,
    entity_id: str,
    *,
    name: str | None = None,
    description: str | None = None,
) -> StoryboardEntity:
    """Change the name and/or description of a scene or character."""
    with services.db() as db:
        entity, board = owned_entity(db, owner_id, entity_id, lock=True)
        clean_name, text = check_entity_text(
            entity.kind,
            entity.name if name is None else name,
            entity.description if description is None else description,
        )
        entity.name, entity.description = clean_name, text
        board.updated_at = utcnow()
        search.index_entity(db, entity, owner_id)
        db.flush()
        db.expunge(entity)
    return entity


def delete_entity(services: Services, owner_id: str, entity_id: str) -> None:
    """Remove a scene or character and its history (work still queued for it is canceled)."""
    with services.db() as db:
        entity, board = owned_entity(db, owner_id, entity_id, lock=True)
        waiting = db.scalars(
            sa.select(StoryboardGeneration.job_id).where(
                StoryboardGeneration.entity_id == entity.id,
                work.in_flight(table(StoryboardGeneration).c.job_id),
            )
        ).all()
        db.delete(entity)
        board.updated_at = utcnow()
        db.flush()
        for job_id in {j for j in waiting if j is not None}:
            job = db.get(Job, job_id)
            # A single-entity job has nothing left to do; a whole-storyboard job skips it.
            if job is not None and job.status == "pending" and "generation_id" in job.payload:
                services.queue.cancel(job_id, db=db)
