"""storyboard generations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 10:19:42
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "storyboard_generations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("owner_id", sa.String(length=200), nullable=False),
        sa.Column("storyboard_id", sa.String(length=36), nullable=True),
        sa.Column("entity_id", sa.String(length=36), nullable=True),
        sa.Column("media", sa.String(length=10), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column(
            "params", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("source_asset_id", sa.String(length=36), nullable=True),
        sa.Column("asset_id", sa.String(length=36), nullable=True),
        sa.Column("job_id", sa.String(length=36), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_class", sa.String(length=20), nullable=True),
        sa.Column("cost_estimate", sa.Float(), nullable=True),
        sa.Column("cost_actual", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "media IN ('image', 'video')", name=op.f("ck_storyboard_generations_media_valid")
        ),
        sa.CheckConstraint(
            "mode IN ('text_to_image', 'image_to_image', 'text_to_video', 'image_to_video')",
            name=op.f("ck_storyboard_generations_mode_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'canceled')",
            name=op.f("ck_storyboard_generations_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["image_assets.id"],
            name=op.f("fk_storyboard_generations_asset_id_image_assets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["entity_id"],
            ["storyboard_entities.id"],
            name=op.f("fk_storyboard_generations_entity_id_storyboard_entities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_asset_id"],
            ["image_assets.id"],
            name=op.f("fk_storyboard_generations_source_asset_id_image_assets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["storyboard_id"],
            ["storyboards.id"],
            name=op.f("fk_storyboard_generations_storyboard_id_storyboards"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_storyboard_generations")),
    )
    with op.batch_alter_table("storyboard_generations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_storyboard_generations_entity_created", ["entity_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_storyboard_generations_job", ["job_id"], unique=False)
        batch_op.create_index(
            "ix_storyboard_generations_owner_created", ["owner_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_storyboard_generations_storyboard_created",
            ["storyboard_id", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("storyboard_generations", schema=None) as batch_op:
        batch_op.drop_index("ix_storyboard_generations_storyboard_created")
        batch_op.drop_index("ix_storyboard_generations_owner_created")
        batch_op.drop_index("ix_storyboard_generations_job")
        batch_op.drop_index("ix_storyboard_generations_entity_created")

    op.drop_table("storyboard_generations")
