"""Search: one row per searchable text of a person's work (a step's prompt, a verse, a verse's
prompt, a scene or character, a storyboard request's prompt), written with the row it indexes
and deleted with it (each kind's foreign key cascades).

The full-text index is the database's own and lives outside the models (made by migration
0011): on SQLite an FTS5 table `search_fts` over `text` (external content, kept current by
triggers on this table); on PostgreSQL a generated `tsvector` column `document` with a GIN
index. db/migration_options.py keeps autogenerate from reporting either.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from db.schema.base import Base, created_column, id_column, status_check

SEARCH_KINDS = ("step", "verse", "verse_prompt", "scene", "character", "request")


def _ref(target: str) -> Mapped[str | None]:
    return mapped_column(sa.ForeignKey(target, ondelete="CASCADE"), index=True)


class SearchEntry(Base):
    __tablename__ = "search_entries"

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    # Where it is: the session, song or storyboard (None: a request in no storyboard), and the
    # step or verse number.
    container_id: Mapped[str | None] = mapped_column(sa.String(36))
    position: Mapped[int | None] = mapped_column()
    text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    provider: Mapped[str | None] = mapped_column(sa.String(50))
    model: Mapped[str | None] = mapped_column(sa.String(200))
    job_id: Mapped[str | None] = mapped_column(sa.String(36))
    generation_id: Mapped[str | None] = _ref("image_generations.id")
    verse_id: Mapped[str | None] = _ref("song_verses.id")
    artifact_id: Mapped[str | None] = _ref("song_generation_verse_artifacts.id")
    entity_id: Mapped[str | None] = _ref("storyboard_entities.id")
    request_id: Mapped[str | None] = _ref("storyboard_generations.id")
    created_at: Mapped[datetime] = created_column()

    __table_args__ = (
        sa.Index("ix_search_entries_owner_created", "owner_id", "created_at"),
        status_check("kind", SEARCH_KINDS),
    )
