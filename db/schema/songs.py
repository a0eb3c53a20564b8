"""Songs, their verses, the model conversation that illustrates them, and each illustration."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from db.schema.base import (
    Base,
    created_column,
    deleted_column,
    id_column,
    trash_index,
    updated_column,
)
from db.types import JSONType


class Song(Base):
    __tablename__ = "songs"

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    tags: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    published: Mapped[bool] = mapped_column(nullable=False, default=False)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()
    deleted_at: Mapped[datetime | None] = deleted_column()

    __table_args__ = (
        sa.Index("ix_songs_owner_updated", "owner_id", "updated_at"),
        trash_index("ix_songs_trash", "owner_id", "deleted_at"),
    )


class SongVerse(Base):
    __tablename__ = "song_verses"

    id: Mapped[str] = id_column()
    song_id: Mapped[str] = mapped_column(
        sa.ForeignKey("songs.id", ondelete="CASCADE"), nullable=False
    )
    sequence_number: Mapped[int] = mapped_column(nullable=False)
    text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    illustration_asset_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("image_assets.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_column()

    __table_args__ = (
        sa.UniqueConstraint("song_id", "sequence_number", name="uq_song_verses_song_sequence"),
    )


class SongGenerationConversation(Base):
    __tablename__ = "song_generation_conversations"

    song_id: Mapped[str] = mapped_column(
        sa.ForeignKey("songs.id", ondelete="CASCADE"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(sa.String(50), nullable=False)
    model: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    conversation_id: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()


class SongGenerationVerseArtifact(Base):
    __tablename__ = "song_generation_verse_artifacts"

    id: Mapped[str] = id_column()
    job_id: Mapped[str | None] = mapped_column(sa.String(36))
    verse_id: Mapped[str] = mapped_column(
        sa.ForeignKey("song_verses.id", ondelete="CASCADE"), nullable=False
    )
    prompt: Mapped[str] = mapped_column(sa.Text, nullable=False)
    provider: Mapped[str] = mapped_column(sa.String(50), nullable=False)
    model: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    image_asset_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("image_assets.id", ondelete="SET NULL")
    )
    thumbnail_key: Mapped[str | None] = mapped_column(sa.String(500))
    image_summary: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_column()

    __table_args__ = (sa.Index("ix_song_artifacts_verse", "verse_id", "created_at"),)
