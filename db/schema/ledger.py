"""The usage ledger: what each finished job cost, per owner and model."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from db.schema.base import Base, created_column, id_column
from db.types import JSONType


class UsageLedger(Base):
    """One row per finished job that cost (or was estimated to cost) money."""

    __tablename__ = "usage_ledger"

    id: Mapped[str] = id_column()
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
    created_at: Mapped[datetime] = created_column()

    __table_args__ = (
        sa.Index("ix_usage_ledger_owner_created", "owner_id", "created_at"),
        sa.Index("ix_usage_ledger_job", "job_id"),
    )
