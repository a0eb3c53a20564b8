"""Cost and time to here: each finished step keeps the cost and generation time summed along
its path from the root, and its session the total of its finished steps and the step whose path
cost most (its most expensive branch). Written with the step's outcome, so the pages read them
with the rows they already read, whatever the size of the tree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import ImageGeneration, ImageSession


def own_cost(gen: Any) -> float:
    """What one step cost: the provider's figure, else the estimate."""
    if gen.cost_actual is not None:
        return float(gen.cost_actual)
    return float(gen.cost_estimate or 0.0)


def settle_step(db: Session, session: ImageSession, gen: ImageGeneration) -> None:
    """Write a step's path sums and its session's totals (in the transaction finishing it)."""
    base_cost, base_ms = 0.0, 0
    if gen.parent_generation_id is not None:
        parent = db.execute(
            sa.select(ImageGeneration.path_cost, ImageGeneration.path_ms).where(
                ImageGeneration.id == gen.parent_generation_id
            )
        ).first()
        if parent is not None:
            base_cost, base_ms = parent.path_cost or 0.0, parent.path_ms or 0
    cost = own_cost(gen)
    gen.path_cost = base_cost + cost
    gen.path_ms = base_ms + (gen.duration_ms or 0)
    session.total_cost = (session.total_cost or 0.0) + cost
    top = None
    if session.costliest_generation_id is not None:
        top = db.scalar(
            sa.select(ImageGeneration.path_cost).where(
                ImageGeneration.id == session.costliest_generation_id
            )
        )
    if top is None or gen.path_cost > top:
        session.costliest_generation_id = gen.id


@dataclass(frozen=True)
class PathTotals:
    """Cost and generation time from the root to a step; `estimated`: a step on it has not
    finished (its estimate is counted, its time is not yet known)."""

    cost: float
    ms: int
    estimated: bool


def path_totals(gen: Any, parent: Any | None) -> PathTotals:
    """A step's totals: stored once it finished, else its parent's plus its own estimate."""
    if gen.path_cost is not None:
        return PathTotals(float(gen.path_cost), int(gen.path_ms or 0), False)
    base_cost = float(parent.path_cost or 0.0) if parent is not None else 0.0
    base_ms = int(parent.path_ms or 0) if parent is not None else 0
    return PathTotals(base_cost + float(gen.cost_estimate or 0.0), base_ms, True)
