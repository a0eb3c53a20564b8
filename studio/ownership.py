"""Loading a row for its owner: another owner's row is reported exactly like a missing one, so
nobody learns what exists beyond their own work. The loaders of sessions, storyboards, songs
and assets are this; the ones that reach the owner through a parent (a step through its
session, a scene through its storyboard) join it in their own modules."""

from __future__ import annotations

from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import Base
from studio.errors import NotFound

Owned = TypeVar("Owned", bound=Base)


def owned(
    db: Session,
    owner_id: str,
    model: type[Owned],
    row_id: str,
    message: str,
    *,
    lock: bool = False,
) -> Owned:
    """The `model` row `row_id` if `owner_id` owns it and it is not in the trash, else
    NotFound(message). With `lock`,
    the row is locked for update (PostgreSQL) until the transaction ends."""
    stmt = sa.select(model).where(
        model.id == str(row_id),  # type: ignore[attr-defined]
        model.owner_id == owner_id,  # type: ignore[attr-defined]
    )
    if hasattr(model, "deleted_at"):  # a row in the trash is missing until it is restored
        stmt = stmt.where(model.deleted_at.is_(None))  # type: ignore[attr-defined]
    if lock:
        stmt = stmt.with_for_update()
    row = db.scalar(stmt)
    if row is None:
        raise NotFound(message)
    return row
