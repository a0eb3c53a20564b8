"""Loading a session or a step for its owner: anyone else's is reported as missing."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import ImageAsset, ImageGeneration, ImageSession
from studio.errors import NotFound
from studio.ownership import owned

SESSION_NOT_FOUND = "That session does not exist or is not yours."
STEP_NOT_FOUND = "That step does not exist or is not yours."


def owned_session(
    db: Session, owner_id: str, session_id: str, *, lock: bool = False
) -> ImageSession:
    return owned(db, owner_id, ImageSession, session_id, SESSION_NOT_FOUND, lock=lock)


def owned_generation(
    db: Session, owner_id: str, generation_id: str, *, lock: bool = False
) -> tuple[ImageGeneration, ImageSession]:
    stmt = (
        sa.select(ImageGeneration, ImageSession)
        .join(ImageSession, ImageSession.id == ImageGeneration.session_id)
        .where(
            ImageGeneration.id == generation_id,
            ImageSession.owner_id == owner_id,
            ImageGeneration.deleted_at.is_(None),
            ImageSession.deleted_at.is_(None),
        )
    )
    if lock:  # the step only: the worker locks step then session, and so must we
        stmt = stmt.with_for_update(of=ImageGeneration)
    row = db.execute(stmt).first()
    if row is None:
        raise NotFound(STEP_NOT_FOUND)
    return row[0], row[1]


def assets_of(db: Session, generation_id: str, roles: tuple[str, ...]) -> list[ImageAsset]:
    return list(
        db.scalars(
            sa.select(ImageAsset)
            .where(ImageAsset.generation_id == generation_id, ImageAsset.role.in_(roles))
            .order_by(ImageAsset.created_at, ImageAsset.id)
        ).all()
    )
