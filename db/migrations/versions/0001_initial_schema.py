"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 09:39:41.601068
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "image_sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("thumbnail_asset_id", sa.String(length=36), nullable=True),
        sa.Column("provider", sa.String(length=50), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_sessions")),
    )
    with op.batch_alter_table("image_sessions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_image_sessions_owner_updated", ["owner_id", "updated_at"], unique=False
        )

    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column(
            "payload", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("failure_stage", sa.String(length=20), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("run_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("rate_limit_waits", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("concurrency_key", sa.String(length=200), nullable=True),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("ordered", sa.Boolean(), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("owner_id", sa.String(length=200), nullable=True),
        sa.Column("label", sa.String(length=300), nullable=True),
        sa.Column("lease_owner", sa.String(length=200), nullable=True),
        sa.Column("lease_token", sa.String(length=36), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("error_class", sa.String(length=20), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "result", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True
        ),
        sa.Column("cost_estimate", sa.Float(), nullable=True),
        sa.Column("cost_actual", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "stage IN ('queued', 'processing', 'generating', 'uploading', 'completed')",
            name=op.f("ck_jobs_stage_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'running', 'completed', 'failed', 'canceled')",
            name=op.f("ck_jobs_status_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_jobs_claim",
            ["priority", "run_after", "created_at"],
            unique=False,
            sqlite_where=sa.text("status = 'pending' AND NOT held"),
            postgresql_where=sa.text("status = 'pending' AND NOT held"),
        )
        batch_op.create_index(
            "ix_jobs_concurrency_order",
            ["concurrency_key", "sequence", "created_at"],
            unique=False,
            sqlite_where=sa.text("concurrency_key IS NOT NULL"),
            postgresql_where=sa.text("concurrency_key IS NOT NULL"),
        )
        batch_op.create_index(
            "ix_jobs_lease_expires",
            ["lease_expires_at"],
            unique=False,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )
        batch_op.create_index("ix_jobs_status_kind", ["status", "kind"], unique=False)
        batch_op.create_index(
            "uq_jobs_idempotency_key",
            ["idempotency_key"],
            unique=True,
            sqlite_where=sa.text("idempotency_key IS NOT NULL"),
            postgresql_where=sa.text("idempotency_key IS NOT NULL"),
        )
        batch_op.create_index(
            "uq_jobs_running_concurrency_key",
            ["concurrency_key"],
            unique=True,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )

    op.create_table(
        "songs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("tags", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("published", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_songs")),
    )
    with op.batch_alter_table("songs", schema=None) as batch_op:
        batch_op.create_index("ix_songs_owner_updated", ["owner_id", "updated_at"], unique=False)

    op.create_table(
        "storyboards",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=200), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storyboards")),
    )
    with op.batch_alter_table("storyboards", schema=None) as batch_op:
        batch_op.create_index(
            "ix_storyboards_owner_updated", ["owner_id", "updated_at"], unique=False
        )

    op.create_table(
        "image_generations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("parent_generation_id", sa.String(length=36), nullable=True),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("negative_prompt", sa.Text(), nullable=True),
        sa.Column(
            "params", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_class", sa.String(length=20), nullable=True),
        sa.Column("cost_estimate", sa.Float(), nullable=True),
        sa.Column("cost_actual", sa.Float(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "mode IN ('text_to_image', 'image_to_image', 'inpaint')",
            name=op.f("ck_image_generations_mode_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'canceled')",
            name=op.f("ck_image_generations_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_generation_id"],
            ["image_generations.id"],
            name=op.f("fk_image_generations_parent_generation_id_image_generations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["image_sessions.id"],
            name=op.f("fk_image_generations_session_id_image_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_generations")),
        sa.UniqueConstraint("session_id", "step", name="uq_image_generations_session_step"),
    )
    with op.batch_alter_table("image_generations", schema=None) as batch_op:
        batch_op.create_index("ix_image_generations_parent", ["parent_generation_id"], unique=False)
        batch_op.create_index(
            "ix_image_generations_session_created", ["session_id", "created_at"], unique=False
        )

    op.create_table(
        "song_generation_conversations",
        sa.Column("song_id", sa.String(length=36), nullable=False),
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["song_id"],
            ["songs.id"],
            name=op.f("fk_song_generation_conversations_song_id_songs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("song_id", name=op.f("pk_song_generation_conversations")),
    )
    op.create_table(
        "usage_ledger",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=200), nullable=True),
        sa.Column("kind", sa.String(length=50), nullable=False),
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("units", sa.Float(), nullable=True),
        sa.Column("cost_estimate", sa.Float(), nullable=True),
        sa.Column("cost_actual", sa.Float(), nullable=True),
        sa.Column("usage", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_usage_ledger_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_ledger")),
    )
    with op.batch_alter_table("usage_ledger", schema=None) as batch_op:
        batch_op.create_index("ix_usage_ledger_job", ["job_id"], unique=False)
        batch_op.create_index(
            "ix_usage_ledger_owner_created", ["owner_id", "created_at"], unique=False
        )

    op.create_table(
        "image_assets",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=200), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column("generation_id", sa.String(length=36), nullable=True),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("storage_provider", sa.String(length=20), nullable=False),
        sa.Column("bucket", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=500), nullable=False),
        sa.Column("mime_type", sa.String(length=100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("thumbnail_key", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role IN ('input', 'mask', 'output', 'thumbnail', 'video')",
            name=op.f("ck_image_assets_role_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["generation_id"],
            ["image_generations.id"],
            name=op.f("fk_image_assets_generation_id_image_generations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["image_sessions.id"],
            name=op.f("fk_image_assets_session_id_image_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_assets")),
    )
    with op.batch_alter_table("image_assets", schema=None) as batch_op:
        batch_op.create_index(
            "ix_image_assets_generation_role", ["generation_id", "role"], unique=False
        )
        batch_op.create_index("ix_image_assets_session", ["session_id"], unique=False)
        batch_op.create_index("ix_image_assets_sha256", ["sha256"], unique=False)

    op.create_table(
        "song_verses",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("song_id", sa.String(length=36), nullable=False),
        sa.Column("sequence_number", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("illustration_asset_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["illustration_asset_id"],
            ["image_assets.id"],
            name=op.f("fk_song_verses_illustration_asset_id_image_assets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["song_id"], ["songs.id"], name=op.f("fk_song_verses_song_id_songs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_song_verses")),
        sa.UniqueConstraint("song_id", "sequence_number", name="uq_song_verses_song_sequence"),
    )
    op.create_table(
        "storyboard_entities",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("storyboard_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("image_asset_id", sa.String(length=36), nullable=True),
        sa.Column("video_asset_id", sa.String(length=36), nullable=True),
        sa.Column("image_generated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("video_generated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('scene', 'character')", name=op.f("ck_storyboard_entities_kind_valid")
        ),
        sa.ForeignKeyConstraint(
            ["image_asset_id"],
            ["image_assets.id"],
            name=op.f("fk_storyboard_entities_image_asset_id_image_assets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["storyboard_id"],
            ["storyboards.id"],
            name=op.f("fk_storyboard_entities_storyboard_id_storyboards"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["video_asset_id"],
            ["image_assets.id"],
            name=op.f("fk_storyboard_entities_video_asset_id_image_assets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storyboard_entities")),
    )
    with op.batch_alter_table("storyboard_entities", schema=None) as batch_op:
        batch_op.create_index(
            "ix_storyboard_entities_storyboard", ["storyboard_id", "kind"], unique=False
        )

    op.create_table(
        "song_generation_verse_artifacts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("verse_id", sa.String(length=36), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("image_asset_id", sa.String(length=36), nullable=True),
        sa.Column("thumbnail_key", sa.String(length=500), nullable=True),
        sa.Column("image_summary", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["image_asset_id"],
            ["image_assets.id"],
            name=op.f("fk_song_generation_verse_artifacts_image_asset_id_image_assets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["verse_id"],
            ["song_verses.id"],
            name=op.f("fk_song_generation_verse_artifacts_verse_id_song_verses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_song_generation_verse_artifacts")),
    )
    with op.batch_alter_table("song_generation_verse_artifacts", schema=None) as batch_op:
        batch_op.create_index("ix_song_artifacts_verse", ["verse_id", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("song_generation_verse_artifacts", schema=None) as batch_op:
        batch_op.drop_index("ix_song_artifacts_verse")

    op.drop_table("song_generation_verse_artifacts")
    with op.batch_alter_table("storyboard_entities", schema=None) as batch_op:
        batch_op.drop_index("ix_storyboard_entities_storyboard")

    op.drop_table("storyboard_entities")
    op.drop_table("song_verses")
    with op.batch_alter_table("image_assets", schema=None) as batch_op:
        batch_op.drop_index("ix_image_assets_sha256")
        batch_op.drop_index("ix_image_assets_session")
        batch_op.drop_index("ix_image_assets_generation_role")

    op.drop_table("image_assets")
    with op.batch_alter_table("usage_ledger", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_ledger_owner_created")
        batch_op.drop_index("ix_usage_ledger_job")

    op.drop_table("usage_ledger")
    op.drop_table("song_generation_conversations")
    with op.batch_alter_table("image_generations", schema=None) as batch_op:
        batch_op.drop_index("ix_image_generations_session_created")
        batch_op.drop_index("ix_image_generations_parent")

    op.drop_table("image_generations")
    with op.batch_alter_table("storyboards", schema=None) as batch_op:
        batch_op.drop_index("ix_storyboards_owner_updated")

    op.drop_table("storyboards")
    with op.batch_alter_table("songs", schema=None) as batch_op:
        batch_op.drop_index("ix_songs_owner_updated")

    op.drop_table("songs")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_jobs_running_concurrency_key",
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )
        batch_op.drop_index(
            "uq_jobs_idempotency_key",
            sqlite_where=sa.text("idempotency_key IS NOT NULL"),
            postgresql_where=sa.text("idempotency_key IS NOT NULL"),
        )
        batch_op.drop_index("ix_jobs_status_kind")
        batch_op.drop_index(
            "ix_jobs_lease_expires",
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )
        batch_op.drop_index(
            "ix_jobs_concurrency_order",
            sqlite_where=sa.text("concurrency_key IS NOT NULL"),
            postgresql_where=sa.text("concurrency_key IS NOT NULL"),
        )
        batch_op.drop_index(
            "ix_jobs_claim",
            sqlite_where=sa.text("status = 'pending' AND NOT held"),
            postgresql_where=sa.text("status = 'pending' AND NOT held"),
        )

    op.drop_table("jobs")
    with op.batch_alter_table("image_sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_image_sessions_owner_updated")

    op.drop_table("image_sessions")
