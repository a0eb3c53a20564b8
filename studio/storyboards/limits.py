"""The owner's limits on storyboard work: requests per hour and the daily budget."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import StoryboardGeneration, UsageLedger
from db.types import utcnow
from studio.errors import LimitExceeded
from studio.services import Services
from studio.storyboards.params import ACTIVE


def check_limits(db: Session, services: Services, owner_id: str, estimate: float | None) -> None:
    """Storyboard requests per hour and the daily budget (DESIGN §8)."""
    settings = services.settings
    now = utcnow()
    recent = db.scalar(
        sa.select(sa.func.count())
        .select_from(StoryboardGeneration)
        .where(
            StoryboardGeneration.owner_id == owner_id,
            StoryboardGeneration.created_at >= now - timedelta(hours=1),
        )
    )
    if (recent or 0) >= settings.generations_per_hour:
        raise LimitExceeded(
            f"You have requested {recent} storyboard images and videos in the last hour; the "
            f"limit is {settings.generations_per_hour}. Try again a little later."
        )
    if not estimate:
        return
    midnight = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    spent = db.scalar(
        sa.select(
            sa.func.coalesce(
                sa.func.sum(sa.func.coalesce(UsageLedger.cost_actual, UsageLedger.cost_estimate)),
                0.0,
            )
        ).where(UsageLedger.owner_id == owner_id, UsageLedger.created_at >= midnight)
    )
    queued = db.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(StoryboardGeneration.cost_estimate), 0.0)).where(
            StoryboardGeneration.owner_id == owner_id,
            StoryboardGeneration.status.in_(ACTIVE),
        )
    )
    used = float(spent or 0.0) + float(queued or 0.0)
    budget = settings.daily_budget_usd
    if used + estimate > budget:
        raise LimitExceeded(
            f"This request (about ${estimate:.2f}) would go over today's budget of "
            f"${budget:.2f} (${used:.2f} spent or queued)."
        )
