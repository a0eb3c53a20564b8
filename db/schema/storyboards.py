"""Storyboards, their scenes and characters, and every image or video requested for them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from db.schema.base import (
    Base,
    created_column,
    deleted_column,
    id_column,
    status_check,
    trash_index,
    updated_column,
)

ENTITY_KINDS = ("scene", "character")


class Storyboard(Base):
    __tablename__ = "storyboards"

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()
    deleted_at: Mapped[datetime | None] = deleted_column()

    __table_args__ = (
        sa.Index("ix_storyboards_owner_updated", "owner_id", "updated_at"),
        trash_index("ix_storyboards_trash", "owner_id", "deleted_at"),
    )


class StoryboardEntity(Base):
    __tablename__ = "storyboard_entities"

    id: Mapped[str] = id_column()
    storyboard_id: Mapped[str] = mapped_column(
        sa.ForeignKey("storyboards.id", ondelete="CASCADE"), nullable=False
    )
    kind: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    description: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    image_asset_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("image_assets.id", ondelete="SET NULL")
    )
    video_asset_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("image_assets.id", ondelete="SET NULL")
    )
    image_generated_at: Mapped[datetime | None] = mapped_column()
    video_generated_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()

    __table_args__ = (
        sa.Index("ix_storyboard_entities_storyboard", "storyboard_id", "kind"),
        status_check("kind", ENTITY_KINDS),
    )


STORYBOARD_MEDIA = ("image", "video")
STORYBOARD_MODES = ("text_to_image", "image_to_image", "text_to_video", "image_to_video")


class StoryboardGeneration(Base):
    """One requested image or video: prompt, settings, job and, once done, the output.

    Its state is its job's, read through studio.jobs.work; the row keeps what was asked for and
    what came of it. The succeeded rows of an entity are its history; the entity points at the
    current ones.
    `storyboard_id` / `entity_id` are empty for work enqueued from the CLI without them.
    """

    __tablename__ = "storyboard_generations"

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    storyboard_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("storyboards.id", ondelete="CASCADE")
    )
    entity_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("storyboard_entities.id", ondelete="CASCADE")
    )
    media: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    mode: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    provider: Mapped[str] = mapped_column(sa.String(50), nullable=False)
    model: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    prompt: Mapped[str] = mapped_column(sa.Text, nullable=False)
    params: Mapped[dict[str, Any]] = mapped_column(nullable=False, default=dict)
    source_asset_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("image_assets.id", ondelete="SET NULL")
    )
    asset_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("image_assets.id", ondelete="SET NULL")
    )
    job_id: Mapped[str | None] = mapped_column(sa.String(36))
    # A refusal of this request alone, by a job that makes several (the whole storyboard).
    refusal: Mapped[str | None] = mapped_column(sa.Text)
    refusal_class: Mapped[str | None] = mapped_column(sa.String(20))
    cost_estimate: Mapped[float | None] = mapped_column(sa.Float)
    cost_actual: Mapped[float | None] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = created_column()
    started_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        sa.Index("ix_storyboard_generations_entity_created", "entity_id", "created_at"),
        sa.Index("ix_storyboard_generations_storyboard_created", "storyboard_id", "created_at"),
        sa.Index("ix_storyboard_generations_owner_created", "owner_id", "created_at"),
        sa.Index("ix_storyboard_generations_job", "job_id"),
        # Requests without an output (in flight, failed, refused): a storyboard's work in
        # flight without reading its whole history.
        sa.Index(
            "ix_storyboard_generations_unproduced",
            "storyboard_id",
            "created_at",
            sqlite_where=sa.text("asset_id IS NULL"),
            postgresql_where=sa.text("asset_id IS NULL"),
        ),
        status_check("media", STORYBOARD_MEDIA),
        status_check("mode", STORYBOARD_MODES),
    )
