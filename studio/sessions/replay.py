"""Replaying a branch on another model: the whole path from the root to a step runs again with
another provider or model — the same prompts, masks, seeds and strengths, each step starting
from the previous replayed output — as a new line of steps beside the original.

The steps are written at once, each made from the one before it, and their jobs share one
ordered concurrency key (`replay:<a new id>`) with the path's order as their sequence,
as a song's verses do: they run strictly in order; a step that fails holds the rest until it
is requeued or skipped; canceling the replay cancels what has not run. A step's source image
is attached when it runs (studio/sessions/job.py): its parent's output, which did not exist
when it was queued. The estimate of the whole replay is checked against the owner's limits
before anything is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import ImageGeneration, ImageSession, Job
from db.types import new_id
from studio import limits, submissions
from studio.errors import Invalid, NotFound
from studio.sessions.create import add_generation, copy_asset, made_by_submission
from studio.sessions.ownership import STEP_NOT_FOUND, assets_of, owned_generation, owned_session
from studio.sessions.params import (
    JOB_KIND,
    CheckedParams,
    GenerationParams,
    check_params,
    estimate_cost,
)
from studio.sessions.tree import ancestors

if TYPE_CHECKING:
    from studio.services import Services

KEY_PREFIX = "replay:"
MAX_STEPS = 100
_GONE = "This replay was already asked for and its steps no longer exist; ask again."


@dataclass(frozen=True)
class ReplayPlan:
    """What a replay would run: the original steps, root first, with each one's estimate."""

    steps: list[ImageGeneration]
    checked: list[CheckedParams]
    estimates: list[float | None]

    @property
    def total(self) -> float:
        return float(sum(e or 0.0 for e in self.estimates))

    @property
    def priced(self) -> bool:
        """Every step has an estimate (else the total is a lower bound)."""
        return all(e is not None for e in self.estimates)


def path_to(db: Session, generation_id: str) -> list[ImageGeneration]:
    """The steps from the root of `generation_id`'s tree down to it (a recursive query)."""
    up = ancestors(generation_id, MAX_STEPS)
    rows = db.scalars(
        sa.select(ImageGeneration).join(up, up.c.id == ImageGeneration.id).order_by(up.c.n.desc())
    ).all()
    return list(rows)


def _checked(
    services: Services, original: ImageGeneration, provider: str, model: str
) -> CheckedParams:
    params = GenerationParams.from_mapping(
        original.params or {},
        prompt=original.prompt,
        negative_prompt=original.negative_prompt,
        provider=provider,
        model=model,
    )
    try:
        return check_params(services, params, original.mode)
    except Invalid as err:
        raise Invalid(f"Step {original.step} cannot be replayed: {err.user_message}") from None


def _plan(
    db: Session, services: Services, owner_id: str, generation_id: str, provider: str, model: str
) -> tuple[ReplayPlan, ImageSession]:
    target, session = owned_generation(db, owner_id, generation_id)
    steps = path_to(db, target.id)
    if len(steps) > MAX_STEPS or (steps and steps[0].parent_generation_id is not None):
        raise Invalid(f"A replay runs at most {MAX_STEPS} steps; this branch is longer.")
    checked = [_checked(services, g, provider, model) for g in steps]
    return ReplayPlan(steps, checked, [estimate_cost(c) for c in checked]), session


def plan_replay(
    services: Services, owner_id: str, generation_id: str, *, provider: str, model: str
) -> ReplayPlan:
    """What replaying the branch ending at `generation_id` on `provider`/`model` would run and
    cost (nothing is written)."""
    with services.db() as db:
        plan, _ = _plan(db, services, owner_id, generation_id, provider, model)
        for g in plan.steps:
            db.expunge(g)
    return plan


def replay_branch(
    services: Services,
    owner_id: str,
    generation_id: str,
    *,
    provider: str,
    model: str,
    idempotency_key: str,
) -> list[ImageGeneration]:
    """Queue the replay of the branch ending at `generation_id` on `provider`/`model`: one new
    step per step of its path, in order. Refused (nothing queued) when its estimate would take
    the owner over a limit. Returns the new steps, root first."""
    job_key = submissions.job_key(JOB_KIND, owner_id, idempotency_key)

    def create() -> tuple[ImageGeneration, ImageSession]:
        with services.db() as db:
            plan, session = _plan(db, services, owner_id, generation_id, provider, model)
            session = owned_session(db, owner_id, session.id, lock=True)
            limits.check(
                db,
                services.settings,
                owner_id,
                plan.total,
                requests=len(plan.steps),
                what=f"replay of {len(plan.steps)} steps",
            )
            parent_id: str | None = None
            key = f"{KEY_PREFIX}{new_id()}"
            first: ImageGeneration | None = None
            for i, (original, checked) in enumerate(zip(plan.steps, plan.checked, strict=True)):
                gen = add_generation(
                    db,
                    services,
                    session,
                    checked,
                    job_key=job_key if i == 0 else f"{job_key}#{i}",
                    parent_id=parent_id,
                    params=dict(original.params or {}) | {"seed": checked.params.seed},
                    order=(key, i),
                    label=f"replay of step {original.step} on {model}",
                )
                first = first or gen
                roles = ("mask",) if i else ("input", "mask")  # a root's upload is reused
                for asset in assets_of(db, original.id, roles):
                    db.add(
                        copy_asset(
                            asset, role=asset.role, generation_id=gen.id, session_id=session.id
                        )
                    )
                parent_id = gen.id
            db.flush()
            assert first is not None
        return first, session

    first, _ = submissions.submit_once(
        services, replay=made_by_submission(owner_id, job_key), create=create, gone=_GONE
    )
    return replayed_steps(services, owner_id, first.id)


def replay_key(db: Session, gen: Any) -> str | None:
    """The replay a step belongs to (its job's key), if it is part of one."""
    if gen.job_id is None:
        return None
    key = db.scalar(sa.select(Job.concurrency_key).where(Job.id == gen.job_id))
    return key if key and key.startswith(KEY_PREFIX) else None


def replayed_steps(services: Services, owner_id: str, generation_id: str) -> list[ImageGeneration]:
    """Every step of the replay `generation_id` belongs to, in order."""
    with services.db() as db:
        gen, _ = owned_generation(db, owner_id, generation_id)
        key = replay_key(db, gen)
        if key is None:
            raise NotFound(STEP_NOT_FOUND)
        steps = list(
            db.scalars(
                sa.select(ImageGeneration)
                .join(Job, Job.id == ImageGeneration.job_id)
                .where(Job.concurrency_key == key, ImageGeneration.session_id == gen.session_id)
                .order_by(Job.sequence)
            ).all()
        )
        for g in steps:
            db.expunge(g)
    return steps


def cancel_replay(services: Services, owner_id: str, generation_id: str) -> int:
    """Cancel what has not run of the replay `generation_id` belongs to (a running step stops
    at its next stage). Returns how many steps were canceled or asked to stop."""
    with services.db() as db:
        gen, _ = owned_generation(db, owner_id, generation_id)
        key = replay_key(db, gen)
        if key is None:
            raise Invalid(f"Step {gen.step} is not part of a replay.")
        waiting = db.scalars(
            sa.select(Job.id)
            .where(Job.concurrency_key == key, Job.status.in_(("pending", "running", "failed")))
            .order_by(Job.sequence.desc())  # the last first: nothing is released meanwhile
        ).all()
        for job_id in waiting:
            services.queue.cancel(job_id, db=db)
    return len(waiting)


def requeue_or_skip(services: Services, owner_id: str, generation_id: str, *, skip: bool) -> None:
    """A failed step of a replay: run it again (requeue), or skip it so the rest go on (the
    next step then starts from the nearest earlier image of the replay)."""
    with services.db() as db:
        gen, _ = owned_generation(db, owner_id, generation_id)
        if replay_key(db, gen) is None or gen.job_id is None:
            raise Invalid(f"Step {gen.step} is not part of a replay.")
        if skip:
            services.queue.cancel(gen.job_id, db=db)
        else:
            services.queue.requeue(gen.job_id, db=db)
