"""Reading sessions: Home's cards, the whole tree of one session, the steps in flight."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from db.schema import ImageAsset, ImageGeneration, ImageSession, Job
from studio.jobs.reads import follow_job
from studio.sessions.ownership import owned_session

if TYPE_CHECKING:
    from studio.services import Services

ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "canceled")


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
    status: str = "queued"  # the generation's status, corrected by its job's (see effective_status)
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


def effective_status(gen: ImageGeneration, job: Any | None) -> tuple[str, str | None, str | None]:
    """(status, error, error_class) as the person should see them.

    A generation in flight follows its job: a job cleared by an editor or reaped back to the
    queue never ran the generation's hook, so the job row is the truth for it."""
    status, error = follow_job(gen.status, gen.error, job)
    if status != gen.status and status in ("failed", "canceled"):
        return status, error, (job.error_class if job is not None else None) or gen.error_class
    return status, error, gen.error_class


def get_session(services: Services, owner_id: str, session_id: str) -> SessionView:
    """The session with all its steps, assets and tree, in four queries whatever its size."""
    jobs = Job.__table__
    gens = ImageGeneration.__table__
    with services.db() as db:
        session = owned_session(db, owner_id, session_id)
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
        status, _, _ = effective_status(r, job)  # type: ignore[arg-type]
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
        status, error, error_class = effective_status(gen, job)
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


def status_words(status: str) -> str:
    """How a step that is not finished is described: 'is still queued'."""
    return {"queued": "is still queued", "running": "is still running"}.get(status, status)
