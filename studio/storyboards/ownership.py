"""Loading a storyboard, a scene or character, or an asset for its owner: anyone else's is
reported as missing."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import ImageAsset, Storyboard, StoryboardEntity
from studio.errors import NotFound
from studio.ownership import owned

STORYBOARD_NOT_FOUND = "That storyboard does not exist or is not yours."
ENTITY_NOT_FOUND = "That scene or character does not exist or is not yours."


def owned_storyboard(
    db: Session, owner_id: str, storyboard_id: str, *, lock: bool = False
) -> Storyboard:
    return owned(db, owner_id, Storyboard, storyboard_id, STORYBOARD_NOT_FOUND, lock=lock)


def owned_entity(
    db: Session, owner_id: str, entity_id: str, *, lock: bool = False
) -> tuple[StoryboardEntity, Storyboard]:
    stmt = (
        sa.select(StoryboardEntity, Storyboard)
        .join(Storyboard, Storyboard.id == StoryboardEntity.storyboard_id)
        .where(
            StoryboardEntity.id == str(entity_id),
            Storyboard.owner_id == owner_id,
            Storyboard.deleted_at.is_(None),
        )
    )
    if lock:
        stmt = stmt.with_for_update(of=StoryboardEntity)
    row = db.execute(stmt).first()
    if row is None:
        raise NotFound(ENTITY_NOT_FOUND)
    return row[0], row[1]


def owned_asset(db: Session, owner_id: str, asset_id: str) -> ImageAsset:
    return owned(db, owner_id, ImageAsset, asset_id, f"There is no asset {asset_id} of yours.")
