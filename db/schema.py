"""The studio's tables (DESIGN §2–§3). The only place tables are defined.

Ids are UUID strings, timestamps timezone-aware UTC. Owned rows carry `owner_id`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

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


def _id() -> Mapped[str]:
    return mapped_column(sa.String(36), primary_key=True, default=new_id)


def _created() -> Mapped[datetime]:
    return mapped_column(default=utcnow, nullable=False)


def _updated() -> Mapped[datetime]:
    return mapped_column(default=utcnow, onupdate=utcnow, nullable=False)


def _status_check(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({quoted})", name=f"{column}_valid")


# ---------------------------------------------------------------------------------------------
# Sessions, generations and assets
# ---------------------------------------------------------------------------------------------

GENERATION_STATUSES = ("queued", "running", "succeeded", "failed", "canceled")
GENERATION_MODES = ("text_to_image", "image_to_image", "inpaint")
ASSET_ROLES = ("input", "mask", "output", "thumbnail", "video")


class ImageSession(Base):
    __tablename__ = "image_sessions"

    id: Mapped[str] = _id()
    owner_id: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="Untitled")
    # Not a foreign key on purpose: assets point at sessions, and a cycle would make deletes
    # order-dependent. The service layer keeps it pointing at an output of this session.
    thumbnail_asset_id: Mapped[str | None] = mapped_column(sa.String(36))
    provider: Mapped[str | None] = mapped_column(sa.String(50))
    model: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()

    __table_args__ = (sa.Index("ix_image_sessions_owner_updated", "owner_id", "updated_at"),)


class ImageGeneration(Base):
    __tablename__ = "image_generations"

    id: Mapped[str] = _id()
    session_id: Mapped[str] = mapped_column(
        sa.ForeignKey("image_sessions.id", ondelete="CASCADE"), nullable=False
    )
    parent_generation_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("image_generations.id", ondelete="SET NULL")
    )
    step: Mapped[int] = mapped_column(nullable=False)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="queued")
    mode: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="text_to_image")
    provider: Mapped[str] = mapped_column(sa.String(50), nullable=False)
    model: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    prompt: Mapped[str] = mapped_column(sa.Text, nullable=False)
    negative_prompt: Mapped[str | None] = mapped_column(sa.Text)
    params: Mapped[dict[str, Any]] = mapped_column(nullable=False, default=dict)
    error: Mapped[str | None] = mapped_column(sa.Text)
    error_class: Mapped[str | None] = mapped_column(sa.String(20))
    cost_estimate: Mapped[float | None] = mapped_column(sa.Float)
    cost_actual: Mapped[float | None] = mapped_column(sa.Float)
    duration_ms: Mapped[int | None] = mapped_column()
    job_id: Mapped[str | None] = mapped_column(sa.String(36))
    created_at: Mapped[datetime] = _created()
    started_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        sa.Index("ix_image_generations_session_created", "session_id", "created_at"),
        sa.Index("ix_image_generations_parent", "parent_generation_id"),
        sa.UniqueConstraint("session_id", "step", name="uq_image_generations_session_step"),
        _status_check("status", GENERATION_STATUSES),
        _status_check("mode", GENERATION_MODES),
    )


class ImageAsset(Base):
    __tablename__ = "image_assets"

    id: Mapped[str] = _id()
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
    created_at: Mapped[datetime] = _created()

    __table_args__ = (
        sa.Index("ix_image_assets_generation_role", "generation_id", "role"),
        sa.Index("ix_image_assets_sha256", "sha256"),
        sa.Index("ix_image_assets_session", "session_id"),
        _status_check("role", ASSET_ROLES),
    )


# ---------------------------------------------------------------------------------------------
# Songs
# ---------------------------------------------------------------------------------------------


class Song(Base):
    __tablename__ = "songs"

    id: Mapped[str] = _id()
    owner_id: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    tags: Mapped[list[str]] = mapped_column(JSONType, nullable=False, default=list)
    published: Mapped[bool] = mapped_column(nullable=False, default=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()

    __table_args__ = (sa.Index("ix_songs_owner_updated", "owner_id", "updated_at"),)


class SongVerse(Base):
    __tablename__ = "song_verses"

    id: Mapped[str] = _id()
    song_id: Mapped[str] = mapped_column(
        sa.ForeignKey("songs.id", ondelete="CASCADE"), nullable=False
    )
    sequence_number: Mapped[int] = mapped_column(nullable=False)
    text: Mapped[str] = mapped_column(sa.Text, nullable=False)
    illustration_asset_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("image_assets.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = _created()

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
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()


class SongGenerationVerseArtifact(Base):
    __tablename__ = "song_generation_verse_artifacts"

    id: Mapped[str] = _id()
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
    created_at: Mapped[datetime] = _created()

    __table_args__ = (sa.Index("ix_song_artifacts_verse", "verse_id", "created_at"),)


# ---------------------------------------------------------------------------------------------
# Storyboards
# ---------------------------------------------------------------------------------------------

ENTITY_KINDS = ("scene", "character")


class Storyboard(Base):
    __tablename__ = "storyboards"

    id: Mapped[str] = _id()
    owner_id: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()

    __table_args__ = (sa.Index("ix_storyboards_owner_updated", "owner_id", "updated_at"),)


class StoryboardEntity(Base):
    __tablename__ = "storyboard_entities"

    id: Mapped[str] = _id()
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
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _updated()

    __table_args__ = (
        sa.Index("ix_storyboard_entities_storyboard", "storyboard_id", "kind"),
        _status_check("kind", ENTITY_KINDS),
    )


STORYBOARD_MEDIA = ("image", "video")
STORYBOARD_MODES = ("text_to_image", "image_to_image", "text_to_video", "image_to_video")


class StoryboardGeneration(Base):
    """One requested image or video: prompt, settings, job, status and, once done, the output.

    The succeeded rows of an entity are its history; the entity points at the current ones.
    `storyboard_id` / `entity_id` are empty for work enqueued from the CLI without them.
    """

    __tablename__ = "storyboard_generations"

    id: Mapped[str] = _id()
    owner_id: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    storyboard_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("storyboards.id", ondelete="CASCADE")
    )
    entity_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("storyboard_entities.id", ondelete="CASCADE")
    )
    media: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    mode: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="queued")
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
    error: Mapped[str | None] = mapped_column(sa.Text)
    error_class: Mapped[str | None] = mapped_column(sa.String(20))
    cost_estimate: Mapped[float | None] = mapped_column(sa.Float)
    cost_actual: Mapped[float | None] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = _created()
    started_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        sa.Index("ix_storyboard_generations_entity_created", "entity_id", "created_at"),
        sa.Index("ix_storyboard_generations_storyboard_created", "storyboard_id", "created_at"),
        sa.Index("ix_storyboard_generations_owner_created", "owner_id", "created_at"),
        sa.Index("ix_storyboard_generations_job", "job_id"),
        _status_check("status", GENERATION_STATUSES),
        _status_check("media", STORYBOARD_MEDIA),
        _status_check("mode", STORYBOARD_MODES),
    )


# ---------------------------------------------------------------------------------------------
# The job queue (DESIGN §3)
# ---------------------------------------------------------------------------------------------

JOB_STATUSES = ("pending", "running", "completed", "failed", "canceled")
JOB_STAGES = ("queued", "processing", "generating", "uploading", "completed")
ERROR_CLASSES = ("temporary", "permanent", "rate_limit", "auth", "unknown")


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[str] = _id()
    kind: Mapped[str] = mapped_column(sa.String(50), nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(nullable=False, default=dict)
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="pending")
    stage: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="queued")
    failure_stage: Mapped[str | None] = mapped_column(sa.String(20))
    priority: Mapped[int] = mapped_column(nullable=False, default=100)
    run_after: Mapped[datetime] = mapped_column(nullable=False, default=utcnow)
    attempts: Mapped[int] = mapped_column(nullable=False, default=0)
    max_attempts: Mapped[int] = mapped_column(nullable=False, default=3)
    retry_count: Mapped[int] = mapped_column(nullable=False, default=0)
    rate_limit_waits: Mapped[int] = mapped_column(nullable=False, default=0)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200))
    concurrency_key: Mapped[str | None] = mapped_column(sa.String(200))
    sequence: Mapped[int] = mapped_column(nullable=False, default=0)
    # ordered: a failed job holds the later jobs of its key (verses); otherwise the key only
    # means "one at a time" (exclusive storyboard work).
    ordered: Mapped[bool] = mapped_column(nullable=False, default=False)
    # held: a pending keyed job that is not the head of its key. Kept out of the claim index so
    # thousands of jobs waiting behind one key cost a claim nothing.
    held: Mapped[bool] = mapped_column(nullable=False, default=False)
    owner_id: Mapped[str | None] = mapped_column(sa.String(200))
    label: Mapped[str | None] = mapped_column(sa.String(300))
    lease_owner: Mapped[str | None] = mapped_column(sa.String(200))
    lease_token: Mapped[str | None] = mapped_column(sa.String(36))
    lease_expires_at: Mapped[datetime | None] = mapped_column()
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    cancel_requested: Mapped[bool] = mapped_column(nullable=False, default=False)
    error_class: Mapped[str | None] = mapped_column(sa.String(20))
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    cost_estimate: Mapped[float | None] = mapped_column(sa.Float)
    cost_actual: Mapped[float | None] = mapped_column(sa.Float)
    created_at: Mapped[datetime] = _created()
    started_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        sa.Index(
            "ix_jobs_claim",
            "priority",
            "run_after",
            "created_at",
            sqlite_where=sa.text("status = 'pending' AND NOT held"),
            postgresql_where=sa.text("status = 'pending' AND NOT held"),
        ),
        sa.Index(
            "uq_jobs_idempotency_key",
            "idempotency_key",
            unique=True,
            sqlite_where=sa.text("idempotency_key IS NOT NULL"),
            postgresql_where=sa.text("idempotency_key IS NOT NULL"),
        ),
        # Only keyed jobs enter it: an unkeyed claim then updates one index fewer.
        sa.Index(
            "uq_jobs_running_concurrency_key",
            "concurrency_key",
            unique=True,
            sqlite_where=sa.text("status = 'running' AND concurrency_key IS NOT NULL"),
            postgresql_where=sa.text("status = 'running' AND concurrency_key IS NOT NULL"),
        ),
        sa.Index(
            "ix_jobs_lease_expires",
            "lease_expires_at",
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        ),
        # Finds the earlier jobs of a key that hold a later one (verses of one song).
        sa.Index(
            "ix_jobs_concurrency_order",
            "concurrency_key",
            "sequence",
            "created_at",
            sqlite_where=sa.text("concurrency_key IS NOT NULL"),
            postgresql_where=sa.text("concurrency_key IS NOT NULL"),
        ),
        # Per-user limits (studio/limits.py): an owner's unfinished jobs, and their jobs of the
        # last hour. Ownerless jobs (no-ops, benchmarks) stay out and cost it nothing.
        sa.Index(
            "ix_jobs_owner_status_created",
            "owner_id",
            "status",
            "created_at",
            sqlite_where=sa.text("owner_id IS NOT NULL"),
            postgresql_where=sa.text("owner_id IS NOT NULL"),
        ),
        # No plain index on status: every claim and finish changes it, and each such index
        # costs every job two more index writes. The admin lists read the (pruned) table.
        _status_check("status", JOB_STATUSES),
        _status_check("stage", JOB_STAGES),
    )


class UsageLedger(Base):
    """One row per finished job that cost (or was estimated to cost) money."""

    __tablename__ = "usage_ledger"

    id: Mapped[str] = _id()
    job_id: Mapped[str] = mapped_column(
        sa.ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False
    )
    owner_id: Mapped[str | None] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(50), nullable=False)
    provider: Mapped[str] = mapped_column(sa.String(50), nullable=False)
    model: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    units: Mapped[float | None] = mapped_column(sa.Float)
    cost_estimate: Mapped[float | None] = mapped_column(sa.Float)
    cost_actual: Mapped[float | None] = mapped_column(sa.Float)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = _created()

    __table_args__ = (
        sa.Index("ix_usage_ledger_owner_created", "owner_id", "created_at"),
        sa.Index("ix_usage_ledger_job", "job_id"),
    )


metadata = Base.metadata
