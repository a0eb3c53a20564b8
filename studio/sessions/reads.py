"""Reading sessions: Home's cards, the whole tree of one session, the steps in flight (the
Session page's own view of a session is page.py)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import ImageAsset, ImageGeneration, ImageSession, table
from studio.errors import NotFound
from studio.jobs import work
from studio.sessions.ownership import SESSION_NOT_FOUND, owned_session

if TYPE_CHECKING:
    from studio.services import Services

ACTIVE = work.ACTIVE
FINISHED = work.FINISHED


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
class GenerationView(work.ShowsWorkState):
    """A step with its assets by role and its state (its job's, see studio/jobs/work.py)."""

    generation: Any  # an image_generations row (read-only; same attribute names as the model)
    state: work.WorkState
    inputs: list[Any] = field(default_factory=list)
    masks: list[Any] = field(default_factory=list)  # image_assets rows, like inputs
    outputs: list[Any] = field(default_factory=list)

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
    gens = table(ImageGeneration)
    count = (
        sa.select(sa.func.count())
        .where(gens.c.session_id == ImageSession.id, gens.c.deleted_at.is_(None))
        .correlate(ImageSession)
        .scalar_subquery()
    )
    active = (
        sa.select(sa.func.count())
        .where(
            gens.c.session_id == ImageSession.id,
            gens.c.completed_at.is_(None),  # the partial index of unproduced steps
            gens.c.deleted_at.is_(None),
            work.in_flight(gens.c.job_id),
        )
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
        .where(ImageSession.owner_id == owner_id, ImageSession.deleted_at.is_(None))
        .order_by(ImageSession.updated_at.desc(), ImageSession.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    with services.db() as db:
        total = db.scalar(
            sa.select(sa.func.count())
            .select_from(ImageSession)
            .where(ImageSession.owner_id == owner_id, ImageSession.deleted_at.is_(None))
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


def step_state(gen: Any) -> work.WorkState:
    """A step's state from a row with its columns and its job's (`work.JOB_COLUMNS`)."""
    return work.work_state(gen, produced=gen.completed_at is not None)


def current_state(db: Session, gen: ImageGeneration) -> work.WorkState:
    """A loaded step's state, reading its job."""
    job = work.job_fields(db, gen.job_id)
    return work.work_state(job, produced=gen.completed_at is not None)


def get_session(services: Services, owner_id: str, session_id: str) -> SessionView:
    """The whole session: every step, asset and the tree, in three queries (for tools, exports
    and tests). Pages read `open_session` (page.py), which never loads every step."""
    gens = table(ImageGeneration)
    with services.db() as db:
        session = owned_session(db, owner_id, session_id)
        # Plain rows, not ORM instances: a page reads them and never changes them, and a
        # thousand-step tree loads several times faster without the identity map.
        assets_t = table(ImageAsset)
        generations = db.execute(
            work.join_job(sa.select(gens), gens.c.job_id)
            .where(gens.c.session_id == session_id, gens.c.deleted_at.is_(None))
            .order_by(gens.c.step)
        ).all()
        asset_rows = db.execute(
            sa.select(assets_t)
            .where(assets_t.c.session_id == session_id, assets_t.c.owner_id == owner_id)
            .order_by(assets_t.c.created_at, assets_t.c.id)
        ).all()
    return _build_view(session, list(generations), list(asset_rows))


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
    page's live status polls every second while something is in flight. NotFound for a session
    that is missing or another owner's (checked by a second query only when nothing is in
    flight)."""
    gens, sessions_t = table(ImageGeneration), table(ImageSession)
    stmt = (
        work.join_job(sa.select(gens.c.id, gens.c.step, gens.c.completed_at), gens.c.job_id)
        .join(sessions_t, sessions_t.c.id == gens.c.session_id)
        .where(
            gens.c.session_id == session_id,
            sessions_t.c.owner_id == owner_id,
            sessions_t.c.deleted_at.is_(None),
            gens.c.deleted_at.is_(None),
            gens.c.completed_at.is_(None),  # the partial index of unproduced steps
            work.jobs.c.status.in_(work.ACTIVE_JOB_STATUSES),
        )
        .order_by(gens.c.step)
    )
    with services.engine.connect() as conn:
        rows = conn.execute(stmt).all()
        if not rows:
            owned = sa.select(sessions_t.c.id).where(
                sessions_t.c.id == session_id, sessions_t.c.owner_id == owner_id
            )
            if conn.execute(owned).first() is None:
                raise NotFound(SESSION_NOT_FOUND)
    out = []
    for r in rows:
        state = step_state(r)
        if state.active:
            out.append(
                StepProgress(r.id, r.step, state.status, state.stage, state.cancel_requested)
            )
    return out


def _build_view(
    session: ImageSession, generations: list[Any], asset_rows: list[Any]
) -> SessionView:
    views = {gen.id: GenerationView(gen, step_state(gen)) for gen in generations}
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
