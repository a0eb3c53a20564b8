"""Per-user limits: requests per hour and the daily budget, one check for every kind
of work, so image sessions, storyboards and songs share them.

Both are read from the queue's own records, which every kind of work writes: each request is a
job carrying its owner, time and cost estimate, and each finished job that cost money a
usage-ledger row. Requests per hour are the owner's jobs created in the last hour; the budget
is today's (UTC) ledger spend, plus the estimates of the owner's pending and running jobs, plus
the new request's estimate. A request without an estimate (a free or unpriced provider) is
never refused for the budget. Call `check` inside the transaction that stores the request,
before anything is written, so a refused request stores nothing.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import JOB_STATUSES, Job, UsageLedger
from db.types import utcnow
from studio.config import Settings
from studio.errors import LimitExceeded

# The job kinds that are someone's request (`noop` is not). Spelled out rather than imported:
# the modules defining them import this one (tests/integration/test_limits.py keeps it whole).
REQUEST_KINDS = ("session_generation", "storyboard_image", "storyboard_video", "verse_illustration")
# Jobs whose cost is not in the ledger yet but will be.
QUEUED_STATUSES = ("pending", "running")


def _requests_since(db: Session, owner_id: str, since: datetime) -> int:
    # Every status, named, so the search stays within the (owner_id, status, created_at) index.
    return int(
        db.scalar(
            sa.select(sa.func.count())
            .select_from(Job)
            .where(
                Job.owner_id == owner_id,
                Job.status.in_(JOB_STATUSES),
                Job.created_at >= since,
                Job.kind.in_(REQUEST_KINDS),
            )
        )
        or 0
    )


def _spent_or_queued(db: Session, owner_id: str, since: datetime) -> float:
    """The ledger's costs since `since` (actual, else estimated) plus the estimates of the
    owner's unfinished jobs, in one round trip."""
    spent = sa.select(
        sa.func.coalesce(
            sa.func.sum(sa.func.coalesce(UsageLedger.cost_actual, UsageLedger.cost_estimate)), 0.0
        )
    ).where(UsageLedger.owner_id == owner_id, UsageLedger.created_at >= since)
    queued = sa.select(sa.func.coalesce(sa.func.sum(Job.cost_estimate), 0.0)).where(
        Job.owner_id == owner_id,
        Job.status.in_(QUEUED_STATUSES),
        Job.kind.in_(REQUEST_KINDS),
    )
    row = db.execute(sa.select(spent.scalar_subquery(), queued.scalar_subquery())).one()
    return float(row[0] or 0.0) + float(row[1] or 0.0)


def _too_many(recent: int, requests: int, limit: int, what: str) -> str:
    if requests == 1:
        return (
            f"You have started {recent} generations in the last hour; the limit is {limit}. "
            "Try again a little later."
        )
    if requests > limit:
        return f"This {what} needs {requests} generations; the limit is {limit} per hour."
    return (
        f"This {what} needs {requests} generations and you have started {recent} in the last "
        f"hour; the limit is {limit}. Try again a little later."
    )


def check(
    db: Session,
    settings: Settings,
    owner_id: str,
    estimate: float | None,
    *,
    requests: int = 1,
    what: str = "request",
) -> None:
    """Raise LimitExceeded when `requests` more jobs (costing `estimate` in all) would take the
    owner over the requests per hour or today's budget. `what` names the request in messages
    ("step", "request", "song draft")."""
    now = utcnow()
    limit = settings.generations_per_hour
    recent = _requests_since(db, owner_id, now - timedelta(hours=1))
    if recent + requests > limit:
        raise LimitExceeded(_too_many(recent, requests, limit, what))
    if not estimate:
        return
    midnight = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    used = _spent_or_queued(db, owner_id, midnight)
    budget = settings.daily_budget_usd
    if used + estimate > budget:
        raise LimitExceeded(
            f"This {what} (about ${estimate:.2f}) would go over today's budget of "
            f"${budget:.2f} (${used:.2f} spent or queued)."
        )
