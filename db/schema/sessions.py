"""Image sessions, their tree of generations (steps), and every stored image or video."""

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

GENERATION_MODES = ("text_to_image", "image_to_image", "inpaint")
ASSET_ROLES = ("input", "mask", "output", "thumbnail", "video")


class ImageSession(Base):
    __tablename__ = "image_sessions"

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="Untitled")
    # Not a foreign key on purpose: assets point at sessions, and a cycle would make deletes
    # order-dependent. The service layer keeps it pointing at an output of this session.
    thumbnail_asset_id: Mapped[str | None] = mapped_column(sa.String(36))
    provider: Mapped[str | None] = mapped_column(sa.String(50))
    model: Mapped[str | None] = mapped_column(sa.String(200))
    # What the session's finished steps cost, and its most expensive branch (the finished step
    # whose path from the root cost most), kept with each step's outcome.
    total_cost: Mapped[float] = mapped_column(sa.Float, nullable=False, default=0.0)
    costliest_generation_id: Mapped[str | None] = mapped_column(sa.String(36))
    created_at: Mapped[datetime] = created_column()
    updated_at: Mapped[datetime] = updated_column()
    deleted_at: Mapped[datetime | None] = deleted_column()

    __table_args__ = (
        sa.Index("ix_image_sessions_owner_updated", "owner_id", "updated_at"),
        trash_index("ix_image_sessions_trash", "owner_id", "deleted_at"),
    )


class ImageGeneration(Base):
    """One step of a session. Its state (queued, running, failed, ...) is its job's, read
    through studio.jobs.work; the row keeps what the step asked for and what it produced."""

    __tablename__ = "image_generations"

    id: Mapped[str] = id_column()
    session_id: Mapped[str] = mapped_column(
        sa.ForeignKey("image_sessions.id", ondelete="CASCADE"), nullable=False
    )
    parent_generation_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("image_generations.id", ondelete="SET NULL")
    )
    step: Mapped[int] = mapped_column(nullable=False)
    # Its place in the session's tree: ordering by (tree_key, step) is depth first
    # (studio/sessions/tree.py).
    tree_key: Mapped[str] = mapped_column(sa.String(2000), nullable=False, default="")
    mode: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="text_to_image")
    provider: Mapped[str] = mapped_column(sa.String(50), nullable=False)
    model: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    prompt: Mapped[str] = mapped_column(sa.Text, nullable=False)
    negative_prompt: Mapped[str | None] = mapped_column(sa.Text)
    params: Mapped[dict[str, Any]] = mapped_column(nullable=False, default=dict)
    cost_estimate: Mapped[float | None] = mapped_column(sa.Float)
    cost_actual: Mapped[float | None] = mapped_column(sa.Float)
    duration_ms: Mapped[int | None] = mapped_column()
    # Cost and generation time summed along the path from the root to this step (its own
    # included), written with its outcome: the parent's path is finished by then.
    path_cost: Mapped[float | None] = mapped_column(sa.Float)
    path_ms: Mapped[int | None] = mapped_column(sa.BigInteger)
    # Inpainting: pixels outside the mask that differ from the source (0 when the mask held).
    mask_outside_changed: Mapped[int | None] = mapped_column()
    job_id: Mapped[str | None] = mapped_column(sa.String(36))
    created_at: Mapped[datetime] = created_column()
    started_at: Mapped[datetime | None] = mapped_column()
    # Set with the step's output, in the transaction that completes its job: "produced at".
    completed_at: Mapped[datetime | None] = mapped_column()
    # A step deleted with its descendants (one time for the whole subtree); its session stays.
    deleted_at: Mapped[datetime | None] = deleted_column()

    __table_args__ = (
        trash_index("ix_image_generations_trash", "session_id", "deleted_at"),
        sa.Index("ix_image_generations_session_created", "session_id", "created_at"),
        sa.Index("ix_image_generations_parent", "parent_generation_id"),
        sa.Index("ix_image_generations_session_tree", "session_id", "tree_key", "step"),
        # The steps that produced nothing (yet): where a session's work in flight is found
        # without reading its whole history.
        sa.Index(
            "ix_image_generations_unproduced",
            "session_id",
            "step",
            sqlite_where=sa.text("completed_at IS NULL"),
            postgresql_where=sa.text("completed_at IS NULL"),
        ),
        sa.UniqueConstraint("session_id", "step", name="uq_image_generations_session_step"),
        status_check("mode", GENERATION_MODES),
    )


class ImageAsset(Base):
    __tablename__ = "image_assets"

    id: Mapped[str] = id_column()
    owner_id: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    session_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("image_sessions.id", ondelete="CASCADE")
    )
    generation_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("image_generations.id", ondelete="CASCADE")
    )
    role: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    storage_provider: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    bucket: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    key: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    mime_type: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    size_bytes: Mapped[int] = mapped_column(nullable=False)
    width: Mapped[int | None] = mapped_column()
    height: Mapped[int | None] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    thumbnail_key: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = created_column()

    __table_args__ = (
        sa.Index("ix_image_assets_generation_role", "generation_id", "role"),
        sa.Index("ix_image_assets_sha256", "sha256"),
        sa.Index("ix_image_assets_session", "session_id"),
        status_check("role", ASSET_ROLES),
    )
