"""The declarative base of every table, its naming convention and column helpers.

Ids are UUID strings, timestamps timezone-aware UTC. Owned rows carry `owner_id`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from db.types import JSONType, UTCDateTime, new_id, utcnow

NAMING = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType}


def id_column() -> Mapped[str]:
    return mapped_column(sa.String(36), primary_key=True, default=new_id)


def created_column() -> Mapped[datetime]:
    return mapped_column(default=utcnow, nullable=False)


def updated_column() -> Mapped[datetime]:
    return mapped_column(default=utcnow, onupdate=utcnow, nullable=False)


def deleted_column() -> Mapped[datetime | None]:
    """When the row went to the trash (Recently deleted); NULL while it is live. Every read
    leaves trashed rows out; `studio purge` deletes them for good after the trash period."""
    return mapped_column(nullable=True)


def trash_index(name: str, *columns: str) -> sa.Index:
    """The trashed rows only (a partial index): what Recently deleted lists and purge finds,
    at no cost to live rows."""
    return sa.Index(
        name,
        *columns,
        sqlite_where=sa.text("deleted_at IS NOT NULL"),
        postgresql_where=sa.text("deleted_at IS NOT NULL"),
    )


def status_check(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({quoted})", name=f"{column}_valid")


def table(model: type[Base]) -> sa.Table:
    """The Core table of a mapped class, typed as the Table it is (for Core statements)."""
    return cast(sa.Table, model.__table__)
