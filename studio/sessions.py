"""Image sessions and their tree of generations (DESIGN §2, §7 "Session").

Every function takes the Services container and the acting `owner_id`, and checks ownership in
the query itself: another owner's session or step is reported exactly like a missing one.

Writes validate everything first and then change the database in one transaction, together with
the `session_generation` job that does the work (studio/generation_job.py). Each form carries an
idempotency key: submitting it again returns what the first submission made.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import ImageAsset, ImageGeneration, ImageSession, Job, UsageLedger
from db.types import utcnow
from studio import assets, imaging
from studio.errors import Conflict, Invalid, LimitExceeded, NotFound
from studio.providers.base import ImageRequest, ModelInfo, Provider
from studio.services import Services

JOB_KIND = "session_generation"
SESSION_NOT_FOUND = "That session does not exist or is not yours."
STEP_NOT_FOUND = "That step does not exist or is not yours."

MIN_SIDE, MAX_SIDE, SIDE_MULTIPLE = 64, 4096, 8
MAX_IMAGES = 4
MAX_SEED = 2**31 - 1
MAX_STEPS = 150
MAX_GUIDANCE = 30.0
TITLE_CHARS = 60
MAX_TITLE_CHARS = 200
ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "canceled")
# A job's status as the generation it works on would show it.
_JOB_TO_GENERATION = {
    "pending": "queued",
    "running": "running",
    "failed": "failed",
    "canceled": "canceled",
}
_MODE_LABELS = {
    "text_to_image": "text-to-image",
    "image_to_image": "image-to-image",
    "inpaint": "inpainting",
}


# ---------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerationParams:
    """What the parameter form submits. `seed=None` means "pick one" (the pick is recorded)."""

    prompt: str
    negative_prompt: str | None = None
    provider: str = "local"
    model: str = "sketch"
    width: int = 1024
    height: int = 1024
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None
    strength: float = 0.6
    n: int = 1
    quality: str | None = None
    aspect_ratio: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The `params` column: every set value except prompt, provider and model."""
        skip = {"prompt", "negative_prompt", "provider", "model"}
        return {
            k: v for k, v in dataclasses.asdict(self).items() if k not in skip and v is not None
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], **overrides: Any) -> GenerationParams:
        """Build from a dict (a generation's params, or parameters embedded in a PNG); unknown
        keys are ignored and sizes are snapped into the range the form accepts."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names and v is not None}
        values.update(overrides)
        for side in ("width", "height"):
            if isinstance(values.get(side), int | float):
                values[side] = snap_side(int(values[side]))
        values.setdefault("prompt", "")
        return cls(**values)


def snap_side(value: int) -> int:
    """The nearest side the form accepts (64..4096, a multiple of 8)."""
    clamped = min(MAX_SIDE, max(MIN_SIDE, value))
    return min(MAX_SIDE, max(MIN_SIDE, round(clamped / SIDE_MULTIPLE) * SIDE_MULTIPLE))


def random_seed() -> int:
    return secrets.randbelow(MAX_SEED + 1)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_text(params: GenerationParams, limit: int) -> tuple[str, str | None]:
    prompt = (params.prompt or "").strip()
    if not prompt:
        raise Invalid("Write a prompt first.")
    if len(prompt) > limit:
        raise Invalid(f"The prompt is {len(prompt):,} characters; the limit is {limit:,}.")
    negative = (params.negative_prompt or "").strip() or None
    if negative and len(negative) > limit:
        raise Invalid(
            f"The negative prompt is {len(negative):,} characters; the limit is {limit:,}."
        )
    return prompt, negative


def _check_numbers(p: GenerationParams) -> None:
    for name, value in (("Width", p.width), ("Height", p.height)):
        if not _is_int(value) or not MIN_SIDE <= value <= MAX_SIDE:
            raise Invalid(f"{name} must be {MIN_SIDE} to {MAX_SIDE} pixels (got {value}).")
        if value % SIDE_MULTIPLE:
            raise Invalid(f"{name} must be a multiple of {SIDE_MULTIPLE} pixels (got {value}).")
    if p.seed is not None and (not _is_int(p.seed) or not 0 <= p.seed <= MAX_SEED):
        raise Invalid(f"The seed must be a whole number from 0 to {MAX_SEED:,} (got {p.seed}).")
    if p.steps is not None and (not _is_int(p.steps) or not 1 <= p.steps <= MAX_STEPS):
        raise Invalid(f"Steps must be 1 to {MAX_STEPS} (got {p.steps}).")
    if p.guidance is not None and (
        not _is_number(p.guidance) or not 0 <= p.guidance <= MAX_GUIDANCE
    ):
        raise Invalid(f"Guidance must be between 0 and {MAX_GUIDANCE:g} (got {p.guidance}).")
    if not _is_number(p.strength) or not 0 <= p.strength <= 1:
        raise Invalid(f"Strength must be between 0 and 1 (got {p.strength}).")
    if not _is_int(p.n) or not 1 <= p.n <= MAX_IMAGES:
        raise Invalid(f"Make 1 to {MAX_IMAGES} images at a time (got {p.n}).")
    for name, value in (("Quality", p.quality), ("Aspect ratio", p.aspect_ratio)):
        if value is not None and (not isinstance(value, str) or len(value) > 40):
            raise Invalid(f"{name} must be a short text (got {value!r}).")


def _resolve_model(
    services: Services, name: str, model: str, mode: str
) -> tuple[Provider, ModelInfo]:
    """The provider and model, when they exist, are switched on and can do `mode`."""
    try:
        provider = services.provider(name)
    except NotFound as exc:
        raise Invalid(exc.user_message) from None
    info = next((m for m in provider.models() if m.id == model), None)
    if info is None:
        choices = ", ".join(m.id for m in provider.models() if m.kind == "image")
        raise Invalid(f"{provider.label} has no model {model!r}; choose one of: {choices}.")
    if info.kind != "image":
        raise Invalid(f"{info.label} makes videos, not images; choose an image model.")
    if mode not in info.modes:
        raise Invalid(
            f"{info.label} cannot do {_MODE_LABELS.get(mode, mode)}; choose another model."
        )
    return provider, info


@dataclass(frozen=True)
class CheckedParams:
    params: GenerationParams  # prompt trimmed, seed chosen
    provider: Provider
    model: ModelInfo
    mode: str


def check_params(
    services: Services, params: GenerationParams, mode: str = "text_to_image"
) -> CheckedParams:
    """Validate the form for `mode`; raises Invalid with a message for the person."""
    prompt, negative = _check_text(params, services.settings.max_prompt_chars)
    _check_numbers(params)
    provider, info = _resolve_model(services, params.provider, params.model, mode)
    seed = params.seed if params.seed is not None else random_seed()
    clean = dataclasses.replace(params, prompt=prompt, negative_prompt=negative, seed=seed)
    return CheckedParams(clean, provider, info, mode)


def _estimate(checked: CheckedParams) -> float | None:
    p = checked.params
    request = ImageRequest(
        mode=checked.mode,  # type: ignore[arg-type]
        prompt=p.prompt,
        negative_prompt=p.negative_prompt,
        width=p.width,
        height=p.height,
        seed=p.seed,
        strength=p.strength,
        guidance=p.guidance,
        steps=p.steps,
        n=p.n,
        quality=p.quality,
        aspect_ratio=p.aspect_ratio,
    )
    return checked.provider.estimate_cost(p.model, request)


def title_from_prompt(prompt: str, limit: int = TITLE_CHARS) -> str:
    """A one-line title: the prompt's first ~60 characters, cut at a word, with an ellipsis."""
    text = " ".join((prompt or "").split())
    if not text:
        return "Untitled"
    if len(text) <= limit:
        return text
    cut = text[: limit + 1]
    space = cut.rfind(" ")
    head = cut[:space] if space >= limit // 2 else text[:limit]
    return head.rstrip(" ,.;:-–—") + "…"


# ---------------------------------------------------------------------------------------------
# Read models
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionCard:
    """One card on Home: enough to draw it without another query."""

    id: str
    title: str
    updated_at: datetime
    created_at: datetime
    provider: str | None
    model: str | None
    thumbnail: ImageAsset | None
    generation_count: int
    active_count: int


@dataclass
class GenerationView:
    """A step with its assets by role and, while it is in flight, its job's stage."""

    generation: Any  # an image_generations row (read-only; same attribute names as the model)
    inputs: list[Any] = field(default_factory=list)
    masks: list[Any] = field(default_factory=list)  # image_assets rows, like inputs
    outputs: list[Any] = field(default_factory=list)
    status: str = "queued"  # the generation's status, corrected by its job's (see _effective)
    error: str | None = None
    error_class: str | None = None
    stage: str | None = None
    cancel_requested: bool = False

    @property
    def id(self) -> str:
        return self.generation.id

    @property
    def step(self) -> int:
        return self.generation.step

    @property
    def parent_id(self) -> str | None:
        return self.generation.parent_generation_id

    @property
    def params(self) -> dict[str, Any]:
        return self.generation.params or {}

    @property
    def output(self) -> ImageAsset | None:
        return self.outputs[0] if self.outputs else None

    @property
    def input(self) -> ImageAsset | None:
        return self.inputs[0] if self.inputs else None

    @property
    def mask(self) -> ImageAsset | None:
        return self.masks[0] if self.masks else None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


@dataclass
class SessionView:
    """A whole session: every step (by step number), the tree, and the latest image."""

    session: ImageSession
    generations: list[GenerationView]
    by_id: dict[str, GenerationView]
    children: dict[str, list[str]]
    roots: list[str]
    latest: GenerationView | None
    thumbnail: ImageAsset | None

    @property
    def id(self) -> str:
        return self.session.id

    @property
    def title(self) -> str:
        return self.session.title

    @property
    def active(self) -> bool:
        return any(g.active for g in self.generations)

    @property
    def latest_output(self) -> ImageAsset | None:
        return self.latest.output if self.latest else None

    def outputs(self) -> list[GenerationView]:
        """Succeeded steps with an image, newest first (the "iterate from" choices)."""
        return [g for g in reversed(self.generations) if g.status == "succeeded" and g.outputs]

    def output_choices(self, *keep: str | None, limit: int = 50) -> list[GenerationView]:
        """The newest `limit` finished images plus the steps in `keep` (e.g. the selected one):
        what a picker lists. Older ones stay reachable through the history tree."""
        outputs = self.outputs()
        chosen = outputs[:limit]
        have = {g.id for g in chosen}
        chosen += [g for g in outputs[limit:] if g.id in keep and g.id not in have]
        return chosen

    def pick(self, generation_id: str | None) -> GenerationView | None:
        """The step to show: `generation_id` if it is in this session, else the latest image,
        else the newest step (None for a session without steps)."""
        if generation_id and generation_id in self.by_id:
            return self.by_id[generation_id]
        if self.latest is not None:
            return self.latest
        return self.generations[-1] if self.generations else None

    def by_step(self, step: int | str | None) -> GenerationView | None:
        """The step with this number (e.g. from a `?step=` link), if any."""
        try:
            number = int(step)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return None
        return next((g for g in self.generations if g.step == number), None)

    def walk(self) -> Iterator[tuple[int, GenerationView]]:
        """(depth, step) in tree order: each step followed by its branches."""
        stack = [(0, gid) for gid in reversed(self.roots)]
        while stack:
            depth, gid = stack.pop()
            yield depth, self.by_id[gid]
            stack.extend((depth + 1, child) for child in reversed(self.children.get(gid, [])))


def list_sessions(
    services: Services, owner_id: str, *, page: int = 1, per_page: int = 12
) -> tuple[list[SessionCard], int]:
    """The owner's sessions, most recently updated first, and how many there are (2 queries)."""
    page, per_page = max(1, page), min(100, max(1, per_page))
    gens = ImageGeneration.__table__
    count = (
        sa.select(sa.func.count())
        .where(gens.c.session_id == ImageSession.id)
        .correlate(ImageSession)
        .scalar_subquery()
    )
    active = (
        sa.select(sa.func.count())
        .where(gens.c.session_id == ImageSession.id, gens.c.status.in_(ACTIVE))
        .correlate(ImageSession)
        .scalar_subquery()
    )
    stmt = (
        sa.select(ImageSession, ImageAsset, count, active)
        .outerjoin(
            ImageAsset,
            sa.and_(
                ImageAsset.id == ImageSession.thumbnail_asset_id,
                ImageAsset.owner_id == ImageSession.owner_id,
            ),
        )
        .where(ImageSession.owner_id == owner_id)
        .order_by(ImageSession.updated_at.desc(), ImageSession.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    with services.db() as db:
        total = db.scalar(
            sa.select(sa.func.count())
            .select_from(ImageSession)
            .where(ImageSession.owner_id == owner_id)
        )
        rows = db.execute(stmt).all()
    cards = [
        SessionCard(
            id=s.id,
            title=s.title,
            updated_at=s.updated_at,
            created_at=s.created_at,
            provider=s.provider,
            model=s.model,
            thumbnail=thumb,
            generation_count=int(n or 0),
            active_count=int(a or 0),
        )
        for s, thumb, n, a in rows
    ]
    return cards, int(total or 0)


def _effective(gen: ImageGeneration, job: Any | None) -> tuple[str, str | None, str | None]:
    """(status, error, error_class) as the person should see them.

    A generation in flight follows its job: a job cleared by an editor or reaped back to the
    queue never ran the generation's hook, so the job row is the truth for it."""
    if gen.status in ACTIVE and job is not None and job.status in _JOB_TO_GENERATION:
        status = _JOB_TO_GENERATION[job.status]
        if status in ("failed", "canceled"):
            return status, job.last_error or gen.error, job.error_class or gen.error_class
        return status, gen.error, gen.error_class
    return gen.status, gen.error, gen.error_class


def get_session(services: Services, owner_id: str, session_id: str) -> SessionView:
    """The session with all its steps, assets and tree, in four queries whatever its size."""
    jobs = Job.__table__
    gens = ImageGeneration.__table__
    with services.db() as db:
        session = _owned_session(db, owner_id, session_id)
        # Plain rows, not ORM instances: a page reads them and never changes them, and a
        # thousand-step tree loads several times faster without the identity map.
        assets_t = ImageAsset.__table__
        generations = db.execute(
            sa.select(gens).where(gens.c.session_id == session_id).order_by(gens.c.step)
        ).all()
        asset_rows = db.execute(
            sa.select(assets_t)
            .where(assets_t.c.session_id == session_id, assets_t.c.owner_id == owner_id)
            .order_by(assets_t.c.created_at, assets_t.c.id)
        ).all()
        in_flight = sa.select(gens.c.job_id).where(
            gens.c.session_id == session_id, gens.c.status.in_(ACTIVE), gens.c.job_id.isnot(None)
        )
        job_rows = db.execute(
            sa.select(
                jobs.c.id,
                jobs.c.status,
                jobs.c.stage,
                jobs.c.cancel_requested,
                jobs.c.last_error,
                jobs.c.error_class,
            ).where(jobs.c.id.in_(in_flight))
        ).all()
    return _build_view(session, list(generations), list(asset_rows), {j.id: j for j in job_rows})


@dataclass(frozen=True)
class StepProgress:
    """A step in flight, as the live status line shows it."""

    id: str
    step: int
    status: str
    stage: str | None
    cancel_requested: bool


def steps_in_flight(services: Services, owner_id: str, session_id: str) -> list[StepProgress]:
    """The session's queued and running steps with their jobs' stages (one query): what the
    page's live status polls every second while something is in flight."""
    gens, jobs, sessions_t = ImageGeneration.__table__, Job.__table__, ImageSession.__table__
    stmt = (
        sa.select(
            gens.c.id,
            gens.c.step,
            gens.c.status,
            gens.c.error,
            gens.c.error_class,
            jobs.c.status.label("job_status"),
            jobs.c.stage,
            jobs.c.cancel_requested,
            jobs.c.last_error,
            jobs.c.error_class,
        )
        .join(sessions_t, sessions_t.c.id == gens.c.session_id)
        .outerjoin(jobs, jobs.c.id == gens.c.job_id)
        .where(
            gens.c.session_id == session_id,
            sessions_t.c.owner_id == owner_id,
            gens.c.status.in_(ACTIVE),
        )
        .order_by(gens.c.step)
    )
    with services.engine.connect() as conn:
        rows = conn.execute(stmt).all()
    out = []
    for r in rows:
        job = None if r.job_status is None else _JobState(r.job_status, r.last_error, r.error_class)
        status, _, _ = _effective(r, job)  # type: ignore[arg-type]
        if status in ACTIVE:
            out.append(StepProgress(r.id, r.step, status, r.stage, bool(r.cancel_requested)))
    return out


@dataclass(frozen=True)
class _JobState:
    status: str
    last_error: str | None
    error_class: str | None


def _build_view(
    session: ImageSession,
    generations: list[Any],
    asset_rows: list[Any],
    job_rows: dict[str, Any],
) -> SessionView:
    views: dict[str, GenerationView] = {}
    for gen in generations:
        job = job_rows.get(gen.job_id) if gen.job_id else None
        status, error, error_class = _effective(gen, job)
        views[gen.id] = GenerationView(
            gen,
            status=status,
            error=error,
            error_class=error_class,
            stage=job.stage if job is not None and status in ACTIVE else None,
            cancel_requested=bool(job.cancel_requested) if job is not None else False,
        )
    thumbnail = None
    for asset in asset_rows:
        if asset.id == session.thumbnail_asset_id:
            thumbnail = asset
        view = views.get(asset.generation_id or "")
        if view is not None and asset.role in ("input", "mask", "output"):
            getattr(view, f"{asset.role}s").append(asset)
    children: dict[str, list[str]] = {}
    roots: list[str] = []
    for gen in generations:  # already in step order, so branches are too
        parent = gen.parent_generation_id
        if parent is not None and parent in views:
            children.setdefault(parent, []).append(gen.id)
        else:
            roots.append(gen.id)
    ordered = [views[g.id] for g in generations]
    latest = next((v for v in reversed(ordered) if v.status == "succeeded" and v.outputs), None)
    return SessionView(session, ordered, views, children, roots, latest, thumbnail)


# ---------------------------------------------------------------------------------------------
# Loading with ownership
# ---------------------------------------------------------------------------------------------


def _owned_session(
    db: Session, owner_id: str, session_id: str, *, lock: bool = False
) -> ImageSession:
    stmt = sa.select(ImageSession).where(
        ImageSession.id == session_id, ImageSession.owner_id == owner_id
    )
    if lock:
        stmt = stmt.with_for_update()
    session = db.scalar(stmt)
    if session is None:
        raise NotFound(SESSION_NOT_FOUND)
    return session


def _owned_generation(
    db: Session, owner_id: str, generation_id: str, *, lock: bool = False
) -> tuple[ImageGeneration, ImageSession]:
    stmt = (
        sa.select(ImageGeneration, ImageSession)
        .join(ImageSession, ImageSession.id == ImageGeneration.session_id)
        .where(ImageGeneration.id == generation_id, ImageSession.owner_id == owner_id)
    )
    if lock:  # the step only: the worker locks step then session, and so must we
        stmt = stmt.with_for_update(of=ImageGeneration)
    row = db.execute(stmt).first()
    if row is None:
        raise NotFound(STEP_NOT_FOUND)
    return row[0], row[1]


def _job_row(db: Session, job_id: str | None) -> Any | None:
    if job_id is None:
        return None
    jobs = Job.__table__
    return db.execute(
        sa.select(jobs.c.id, jobs.c.status, jobs.c.last_error, jobs.c.error_class).where(
            jobs.c.id == job_id
        )
    ).first()


def _assets_of(db: Session, generation_id: str, roles: tuple[str, ...]) -> list[ImageAsset]:
    return list(
        db.scalars(
            sa.select(ImageAsset)
            .where(ImageAsset.generation_id == generation_id, ImageAsset.role.in_(roles))
            .order_by(ImageAsset.created_at, ImageAsset.id)
        ).all()
    )


# ---------------------------------------------------------------------------------------------
# Idempotency and limits
# ---------------------------------------------------------------------------------------------


class _Replayed(Exception):
    """The idempotency key was taken by a concurrent submission: roll ours back."""


def _job_key(owner_id: str, idempotency_key: str) -> str:
    """The job's idempotency key: namespaced by owner, so keys never cross people."""
    if not idempotency_key or not str(idempotency_key).strip():
        raise ValueError("an idempotency key is required")
    digest = hashlib.sha256(f"{owner_id}\0{idempotency_key}".encode()).hexdigest()
    return f"{JOB_KIND}:{digest}"


def _replay(db: Session, owner_id: str, job_key: str) -> ImageGeneration | None:
    """The generation an earlier submission with this key made, if any."""
    return db.scalar(
        sa.select(ImageGeneration)
        .join(Job, Job.id == ImageGeneration.job_id)
        .join(ImageSession, ImageSession.id == ImageGeneration.session_id)
        .where(Job.idempotency_key == job_key, ImageSession.owner_id == owner_id)
    )


def _replayed_or_none(
    services: Services, owner_id: str, job_key: str
) -> tuple[ImageGeneration, ImageSession] | None:
    with services.db() as db:
        gen = _replay(db, owner_id, job_key)
        if gen is None:
            return None
        return gen, db.get_one(ImageSession, gen.session_id)


def _after_race(
    services: Services, owner_id: str, job_key: str
) -> tuple[ImageGeneration, ImageSession]:
    found = _replayed_or_none(services, owner_id, job_key)
    if found is None:
        raise Conflict(
            "This form was already submitted and its step no longer exists; submit it again."
        )
    return found


def _check_limits(db: Session, services: Services, owner_id: str, estimate: float | None) -> None:
    """Generations per hour and the daily budget (DESIGN §8)."""
    settings = services.settings
    now = utcnow()
    recent = db.scalar(
        sa.select(sa.func.count())
        .select_from(ImageGeneration)
        .join(ImageSession, ImageSession.id == ImageGeneration.session_id)
        .where(
            ImageSession.owner_id == owner_id,
            ImageGeneration.created_at >= now - timedelta(hours=1),
        )
    )
    if (recent or 0) >= settings.generations_per_hour:
        raise LimitExceeded(
            f"You have started {recent} generations in the last hour; the limit is "
            f"{settings.generations_per_hour}. Try again a little later."
        )
    if not estimate:
        return
    midnight = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    spent = (
        db.scalar(
            sa.select(
                sa.func.coalesce(
                    sa.func.sum(
                        sa.func.coalesce(UsageLedger.cost_actual, UsageLedger.cost_estimate)
                    ),
                    0.0,
                )
            ).where(UsageLedger.owner_id == owner_id, UsageLedger.created_at >= midnight)
        )
        or 0.0
    )
    pending = (
        db.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(ImageGeneration.cost_estimate), 0.0))
            .join(ImageSession, ImageSession.id == ImageGeneration.session_id)
            .where(ImageSession.owner_id == owner_id, ImageGeneration.status.in_(ACTIVE))
        )
        or 0.0
    )
    budget = settings.daily_budget_usd
    if spent + pending + estimate > budget:
        raise LimitExceeded(
            f"This step (about ${estimate:.2f}) would go over today's budget of ${budget:.2f} "
            f"(${spent + pending:.2f} spent or queued)."
        )


# ---------------------------------------------------------------------------------------------
# Creating generations
# ---------------------------------------------------------------------------------------------


def _next_step(db: Session, session_id: str) -> int:
    top = db.scalar(
        sa.select(sa.func.max(ImageGeneration.step)).where(ImageGeneration.session_id == session_id)
    )
    return int(top or 0) + 1


def _add_generation(
    db: Session,
    services: Services,
    session: ImageSession,
    checked: CheckedParams,
    *,
    job_key: str,
    parent_id: str | None,
    params: dict[str, Any],
) -> ImageGeneration:
    """Insert the generation and enqueue its job; raises _Replayed if the key was just taken."""
    estimate = _estimate(checked)
    _check_limits(db, services, session.owner_id, estimate)
    p = checked.params
    gen = ImageGeneration(
        session_id=session.id,
        parent_generation_id=parent_id,
        step=_next_step(db, session.id),
        status="queued",
        mode=checked.mode,
        provider=p.provider,
        model=p.model,
        prompt=p.prompt,
        negative_prompt=p.negative_prompt,
        params=params,
        cost_estimate=estimate,
    )
    db.add(gen)
    db.flush()
    job = services.queue.enqueue(
        JOB_KIND,
        {"generation_id": gen.id},
        db=db,
        idempotency_key=job_key,
        owner_id=session.owner_id,
        label=f"Step {gen.step} · {session.title}",
        cost_estimate=estimate,
    )
    if (job.payload or {}).get("generation_id") != gen.id:
        raise _Replayed()
    gen.job_id = job.id
    now = utcnow()
    session.updated_at = now
    session.provider = p.provider
    session.model = p.model
    db.flush()
    return gen


def create_session(
    services: Services, owner_id: str, params: GenerationParams, *, idempotency_key: str
) -> tuple[ImageSession, ImageGeneration]:
    """A new session titled from the prompt, with step 1 (text-to-image) queued."""
    job_key = _job_key(owner_id, idempotency_key)
    found = _replayed_or_none(services, owner_id, job_key)
    if found is not None:
        return found[1], found[0]
    checked = check_params(services, params, "text_to_image")
    try:
        with services.db() as db:
            session = ImageSession(
                owner_id=owner_id,
                title=title_from_prompt(checked.params.prompt),
                provider=checked.params.provider,
                model=checked.params.model,
            )
            db.add(session)
            db.flush()
            gen = _add_generation(
                db,
                services,
                session,
                checked,
                job_key=job_key,
                parent_id=None,
                params=checked.params.to_json(),
            )
    except _Replayed:
        gen, session = _after_race(services, owner_id, job_key)
    return session, gen


@dataclass
class _Source:
    """The picture a new step starts from: a parent's output, or an upload (prepared)."""

    width: int
    height: int
    parent: ImageGeneration | None = None
    parent_output: ImageAsset | None = None
    upload: assets.PreparedImage | None = None


def _parent_source(db: Session, session_id: str, parent_id: str) -> _Source:
    parent = db.scalar(
        sa.select(ImageGeneration).where(
            ImageGeneration.id == parent_id, ImageGeneration.session_id == session_id
        )
    )
    if parent is None:
        raise Invalid("That step is not part of this session.")
    if parent.status != "succeeded":
        raise Invalid(
            f"You can only iterate from a finished image; step {parent.step} {_status_words(parent.status)}."
        )
    outputs = _assets_of(db, parent.id, ("output",))
    if not outputs:
        raise Invalid(f"Step {parent.step} has no image to iterate from.")
    out = outputs[0]
    return _Source(out.width or 0, out.height or 0, parent=parent, parent_output=out)


def _status_words(status: str) -> str:
    return {"queued": "is still queued", "running": "is still running"}.get(status, status)


def _prepare_mask(
    services: Services, source: _Source, mask: bytes | None, mask_canvas: Any | None
) -> bytes | None:
    """The normalized mask (white = change) for the source's size, or None for no mask."""
    size = (source.width, source.height)
    if mask is not None:
        return imaging.load_mask(mask, size, imaging.ImageLimits.from_settings(services.settings))
    if mask_canvas is None:
        return None
    data = imaging.canvas_to_mask(mask_canvas, size)
    return None if imaging.mask_is_empty(data) else data


def _copy_asset(asset: ImageAsset, *, role: str, generation_id: str, session_id: str) -> ImageAsset:
    """A new row for another use of the same stored bytes."""
    return ImageAsset(
        owner_id=asset.owner_id,
        session_id=session_id,
        generation_id=generation_id,
        role=role,
        storage_provider=asset.storage_provider,
        bucket=asset.bucket,
        key=asset.key,
        mime_type=asset.mime_type,
        size_bytes=asset.size_bytes,
        width=asset.width,
        height=asset.height,
        sha256=asset.sha256,
        thumbnail_key=asset.thumbnail_key,
    )


def _attach_inputs(
    db: Session,
    services: Services,
    gen: ImageGeneration,
    owner_id: str,
    source: _Source,
    mask_png: bytes | None,
) -> None:
    """Record the step's input (and mask) as asset rows; files are written only now."""
    bucket = services.settings.sessions_bucket
    if source.parent_output is not None:
        db.add(
            _copy_asset(
                source.parent_output, role="input", generation_id=gen.id, session_id=gen.session_id
            )
        )
    elif source.upload is not None:
        key, thumb = assets.store_prepared(services.storage, source.upload, bucket)
        db.add(
            assets.asset_row(
                source.upload,
                key=key,
                thumbnail_key=thumb,
                owner_id=owner_id,
                role="input",
                bucket=bucket,
                storage_name=services.storage.name,
                session_id=gen.session_id,
                generation_id=gen.id,
            )
        )
    if mask_png is not None:
        assets.ingest_image(
            db,
            services.storage,
            mask_png,
            owner_id=owner_id,
            role="mask",
            bucket=bucket,
            limits=imaging.ImageLimits.from_settings(services.settings),
            session_id=gen.session_id,
            generation_id=gen.id,
        )
    db.flush()


def _sized(checked: CheckedParams, source: _Source) -> CheckedParams:
    """An image-to-image step takes the source's size (for the estimate and the record)."""
    sized = dataclasses.replace(checked.params, width=source.width, height=source.height)
    return dataclasses.replace(checked, params=sized)


def iterate(
    services: Services,
    owner_id: str,
    session_id: str,
    parent_generation_id: str | None,
    params: GenerationParams,
    *,
    idempotency_key: str,
    mask: bytes | None = None,
    mask_canvas: Any | None = None,
    input_image: bytes | None = None,
) -> ImageGeneration:
    """A new step from a finished image of this session (or from `input_image`, an upload,
    which then replaces the parent). With a mask (uploaded, or painted on the canvas; a blank
    canvas means none) it inpaints; otherwise image-to-image."""
    job_key = _job_key(owner_id, idempotency_key)
    found = _replayed_or_none(services, owner_id, job_key)
    if found is not None:
        return found[0]
    limits = imaging.ImageLimits.from_settings(services.settings)
    upload = assets.prepare_image(input_image, limits) if input_image is not None else None
    try:
        with services.db() as db:
            session = _owned_session(db, owner_id, session_id, lock=True)
            if upload is not None:
                source = _Source(upload.width, upload.height, upload=upload)
            elif parent_generation_id:
                source = _parent_source(db, session.id, parent_generation_id)
            else:
                raise Invalid("Choose an image to iterate from, or upload one.")
            mask_png = _prepare_mask(services, source, mask, mask_canvas)
            mode = "inpaint" if mask_png else "image_to_image"
            checked = _sized(check_params(services, params, mode), source)
            gen = _add_generation(
                db,
                services,
                session,
                checked,
                job_key=job_key,
                parent_id=source.parent.id if source.parent else None,
                params=checked.params.to_json(),
            )
            _attach_inputs(db, services, gen, owner_id, source, mask_png)
    except _Replayed:
        gen, _ = _after_race(services, owner_id, job_key)
    return gen


def regenerate(
    services: Services, owner_id: str, generation_id: str, *, idempotency_key: str
) -> ImageGeneration:
    """The same step again (same prompt, parameters, parent, input and mask) with a new seed."""
    job_key = _job_key(owner_id, idempotency_key)
    found = _replayed_or_none(services, owner_id, job_key)
    if found is not None:
        return found[0]
    try:
        with services.db() as db:
            original, session = _owned_generation(db, owner_id, generation_id)
            session = _owned_session(db, owner_id, session.id, lock=True)
            params = GenerationParams.from_mapping(
                original.params or {},
                prompt=original.prompt,
                negative_prompt=original.negative_prompt,
                provider=original.provider,
                model=original.model,
                seed=None,
            )
            checked = check_params(services, params, original.mode)
            stored = dict(original.params or {}) | {"seed": checked.params.seed}
            gen = _add_generation(
                db,
                services,
                session,
                checked,
                job_key=job_key,
                parent_id=original.parent_generation_id,
                params=stored,
            )
            for asset in _assets_of(db, original.id, ("input", "mask")):
                db.add(
                    _copy_asset(asset, role=asset.role, generation_id=gen.id, session_id=session.id)
                )
            db.flush()
    except _Replayed:
        gen, _ = _after_race(services, owner_id, job_key)
    return gen


# ---------------------------------------------------------------------------------------------
# Other actions on steps and sessions
# ---------------------------------------------------------------------------------------------


def duplicate_params(services: Services, owner_id: str, generation_id: str) -> GenerationParams:
    """A step's parameters (seed included) to fill the form with."""
    with services.db() as db:
        gen, _ = _owned_generation(db, owner_id, generation_id)
        return GenerationParams.from_mapping(
            gen.params or {},
            prompt=gen.prompt,
            negative_prompt=gen.negative_prompt,
            provider=gen.provider,
            model=gen.model,
        )


def cancel_generation(services: Services, owner_id: str, generation_id: str) -> str:
    """Cancel a step. Queued: canceled at once ('canceled'). Running: its worker is asked to
    stop at the next stage and discard the result ('cancel_requested')."""
    with services.db() as db:
        gen, _ = _owned_generation(db, owner_id, generation_id, lock=True)
        status, _, _ = _effective(gen, _job_row(db, gen.job_id))
        if status not in ACTIVE:
            raise Invalid(f"Step {gen.step} has already {status}; there is nothing to cancel.")
        outcome = "canceled"
        if gen.job_id is not None:
            try:
                outcome = services.queue.cancel(gen.job_id, db=db)
            except Conflict:  # the job finished a moment ago; its own hook settles the step
                raise Invalid(
                    f"Step {gen.step} has just finished; there is nothing to cancel."
                ) from None
        if outcome == "canceled":
            gen.status = "canceled"
            gen.completed_at = utcnow()
            return "canceled"
        return "cancel_requested"


def delete_generation(services: Services, owner_id: str, generation_id: str) -> None:
    """Delete a failed or canceled step and its asset rows (files stay: they may be shared)."""
    with services.db() as db:
        gen, session = _owned_generation(db, owner_id, generation_id, lock=True)
        status, _, _ = _effective(gen, _job_row(db, gen.job_id))
        if status not in ("failed", "canceled"):
            raise Invalid(
                f"Only failed or canceled steps can be deleted; step {gen.step} {_status_words(status)}."
            )
        asset_ids = sa.select(ImageAsset.id).where(ImageAsset.generation_id == gen.id)
        if session.thumbnail_asset_id is not None:
            if db.scalar(asset_ids.where(ImageAsset.id == session.thumbnail_asset_id)):
                session.thumbnail_asset_id = None
        db.execute(sa.delete(ImageAsset).where(ImageAsset.generation_id == gen.id))
        db.execute(
            sa.update(ImageGeneration)
            .where(ImageGeneration.parent_generation_id == gen.id)
            .values(parent_generation_id=gen.parent_generation_id)
        )
        db.delete(gen)


def rename_session(services: Services, owner_id: str, session_id: str, title: str) -> ImageSession:
    """Give the session a new title (one line, at most 200 characters)."""
    clean = " ".join((title or "").split())
    if not clean:
        raise Invalid("Give the session a title.")
    if len(clean) > MAX_TITLE_CHARS:
        raise Invalid(f"The title is {len(clean):,} characters; the limit is {MAX_TITLE_CHARS}.")
    with services.db() as db:
        session = _owned_session(db, owner_id, session_id)
        session.title = clean
        session.updated_at = utcnow()
        return session


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:40].rstrip("-") or "image"


def download_bytes(
    services: Services, owner_id: str, generation_id: str, *, index: int = 0
) -> tuple[str, bytes]:
    """(filename, PNG bytes) of a step's output with its parameters embedded."""
    with services.db() as db:
        gen, session = _owned_generation(db, owner_id, generation_id)
        outputs = _assets_of(db, gen.id, ("output",))
    if not outputs:
        raise Invalid(f"Step {gen.step} has no image to download yet.")
    if not 0 <= index < len(outputs):
        raise Invalid(
            f"Step {gen.step} has {len(outputs)} image(s); there is no image {index + 1}."
        )
    data = assets.read_bytes(services.storage, outputs[index])
    embedded = {
        "prompt": gen.prompt,
        "negative_prompt": gen.negative_prompt,
        "provider": gen.provider,
        "model": gen.model,
        "mode": gen.mode,
        "step": gen.step,
        **(gen.params or {}),
        "session": session.title,
    }
    suffix = f"-{index + 1}" if len(outputs) > 1 else ""
    return f"{_slug(session.title)}-step-{gen.step}{suffix}.png", imaging.embed_parameters(
        data, embedded
    )
