"""Reading: storyboards with their scenes and characters, each request's status as the person
should see it, the whole-storyboard job, work not in a storyboard, and asset bytes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import ImageAsset, Job, Storyboard, StoryboardEntity, StoryboardGeneration, table
from studio.errors import NotFound
from studio.jobs import work
from studio.providers.base import mode_label as label_of_mode
from studio.storyboards.ownership import ENTITY_NOT_FOUND, owned_storyboard
from studio.storyboards.runs import exclusive_key

if TYPE_CHECKING:
    from studio.services import Services


@dataclass
class GenerationView(work.ShowsWorkState):
    """One request, its state (its job's, see studio/jobs/work.py) and its output once done."""

    generation: Any  # a storyboard_generations row: ORM or Core, the same attribute names
    state: work.WorkState
    asset: Any | None = None  # an image_assets row

    @property
    def id(self) -> str:
        return self.generation.id

    @property
    def media(self) -> str:
        return self.generation.media

    @property
    def mode(self) -> str:
        return self.generation.mode

    @property
    def mode_label(self) -> str:
        return label_of_mode(self.generation.mode)

    @property
    def prompt(self) -> str:
        return self.generation.prompt

    @property
    def params(self) -> dict[str, Any]:
        return self.generation.params or {}

    @property
    def finished_at(self) -> datetime | None:
        return self.generation.completed_at


@dataclass
class EntityView:
    """A scene or character: current image and video, work in flight, and earlier versions."""

    entity: StoryboardEntity
    image: ImageAsset | None = None
    video: ImageAsset | None = None
    image_generation: GenerationView | None = None  # what made the current image
    video_generation: GenerationView | None = None
    generations: list[GenerationView] = field(default_factory=list)  # newest first

    @property
    def id(self) -> str:
        return self.entity.id

    @property
    def kind(self) -> str:
        return self.entity.kind

    @property
    def name(self) -> str:
        return self.entity.name

    @property
    def description(self) -> str:
        return self.entity.description

    @property
    def active(self) -> list[GenerationView]:
        return [g for g in self.generations if g.active]

    def history(self, media: str) -> list[GenerationView]:
        """Earlier succeeded versions (not the current one), newest first."""
        current = self.image if media == "image" else self.video
        return [
            g
            for g in self.generations
            if g.media == media
            and g.status == "succeeded"
            and g.asset is not None
            and (current is None or g.asset.id != current.id)
        ]

    def last_failure(self, media: str) -> GenerationView | None:
        """The newest request of `media` when it failed (nothing newer succeeded or waits)."""
        newest = next((g for g in self.generations if g.media == media), None)
        return newest if newest is not None and newest.status == "failed" else None


@dataclass(frozen=True)
class ExclusiveJob:
    """The whole-storyboard image job, as the page shows it."""

    id: str
    status: str
    stage: str
    started_at: datetime | None
    heartbeat_at: datetime | None
    completed_at: datetime | None
    last_error: str | None
    total: int

    @property
    def active(self) -> bool:
        return self.status in ("pending", "running")


@dataclass
class StoryboardView:
    storyboard: Storyboard
    scenes: list[EntityView]
    characters: list[EntityView]
    loose: list[GenerationView]  # storyboard work not linked to a scene or character
    exclusive: ExclusiveJob | None  # the latest whole-storyboard image job

    @property
    def id(self) -> str:
        return self.storyboard.id

    @property
    def title(self) -> str:
        return self.storyboard.title

    @property
    def entities(self) -> list[EntityView]:
        return self.scenes + self.characters

    @property
    def active(self) -> list[GenerationView]:
        out = [g for e in self.entities for g in e.active]
        return out + [g for g in self.loose if g.active]

    def entity(self, entity_id: str) -> EntityView:
        for view in self.entities:
            if view.id == entity_id:
                return view
        raise NotFound(ENTITY_NOT_FOUND)


@dataclass(frozen=True)
class StoryboardCard:
    id: str
    title: str
    scenes: int
    characters: int
    updated_at: datetime


def request_state(gen: Any, job: Any | None) -> work.WorkState:
    """A request's state from its job (a row with `work.JOB_COLUMNS`) and what it produced."""
    return work.work_state(
        job,
        produced=gen.asset_id is not None,
        refusal=gen.refusal,
        refusal_class=gen.refusal_class,
    )


def _views(
    db: Session, generations: Iterable[StoryboardGeneration], extra_assets: Iterable[str] = ()
) -> tuple[list[GenerationView], dict[str, ImageAsset]]:
    """Views of `generations` (their jobs and assets in two queries) and every asset by id."""
    gens = list(generations)
    asset_ids = {g.asset_id for g in gens if g.asset_id} | {a for a in extra_assets if a}
    found = (
        db.scalars(sa.select(ImageAsset).where(ImageAsset.id.in_(asset_ids))).all()
        if asset_ids
        else []
    )
    by_id = {a.id: a for a in found}
    job_ids = {g.job_id for g in gens if g.job_id and g.asset_id is None}
    job_rows = (
        {
            r.id: r
            for r in db.execute(
                sa.select(work.jobs.c.id, *work.JOB_COLUMNS).where(work.jobs.c.id.in_(job_ids))
            ).all()
        }
        if job_ids
        else {}
    )
    views = [
        GenerationView(
            gen, request_state(gen, job_rows.get(gen.job_id or "")), by_id.get(gen.asset_id or "")
        )
        for gen in gens
    ]
    return views, by_id


def list_storyboards(services: Services, owner_id: str) -> list[StoryboardCard]:
    """The owner's storyboards, most recently updated first, with entity counts."""
    ents = table(StoryboardEntity)

    def count(kind: str) -> sa.ScalarSelect[Any]:
        return (
            sa.select(sa.func.count())
            .where(ents.c.storyboard_id == Storyboard.id, ents.c.kind == kind)
            .correlate(Storyboard)
            .scalar_subquery()
        )

    with services.db() as db:
        rows = db.execute(
            sa.select(Storyboard, count("scene"), count("character"))
            .where(Storyboard.owner_id == owner_id, Storyboard.deleted_at.is_(None))
            .order_by(Storyboard.updated_at.desc(), Storyboard.id)
        ).all()
    return [
        StoryboardCard(s.id, s.title, int(n_s or 0), int(n_c or 0), s.updated_at)
        for s, n_s, n_c in rows
    ]


def get_storyboard(services: Services, owner_id: str, storyboard_id: str) -> StoryboardView:
    """A storyboard with its entities, their current media, history and work in flight."""
    with services.db() as db:
        board = owned_storyboard(db, owner_id, storyboard_id)
        entities = db.scalars(
            sa.select(StoryboardEntity)
            .where(StoryboardEntity.storyboard_id == board.id)
            .order_by(StoryboardEntity.created_at, StoryboardEntity.id)
        ).all()
        gens = db.scalars(
            sa.select(StoryboardGeneration)
            .where(
                StoryboardGeneration.storyboard_id == board.id,
                StoryboardGeneration.owner_id == owner_id,
            )
            .order_by(StoryboardGeneration.created_at.desc(), StoryboardGeneration.id.desc())
        ).all()
        current = [e.image_asset_id for e in entities] + [e.video_asset_id for e in entities]
        views, by_id = _views(db, gens, [a for a in current if a])
        exclusive = exclusive_job_of(db, board.id)
    by_entity: dict[str | None, list[GenerationView]] = {}
    for view in views:
        by_entity.setdefault(view.generation.entity_id, []).append(view)
    entity_views = []
    for entity in entities:
        history = by_entity.get(entity.id, [])
        ev = EntityView(
            entity,
            image=by_id.get(entity.image_asset_id or ""),
            video=by_id.get(entity.video_asset_id or ""),
            generations=history,
        )
        ev.image_generation = next(
            (g for g in history if g.asset and g.asset.id == entity.image_asset_id), None
        )
        ev.video_generation = next(
            (g for g in history if g.asset and g.asset.id == entity.video_asset_id), None
        )
        entity_views.append(ev)
    return StoryboardView(
        board,
        [e for e in entity_views if e.kind == "scene"],
        [e for e in entity_views if e.kind == "character"],
        by_entity.get(None, []),
        exclusive,
    )


def exclusive_job_of(db: Session, storyboard_id: str) -> ExclusiveJob | None:
    """The latest whole-storyboard image job of a storyboard (ownership checked by the caller)."""
    jobs = table(Job)
    row = db.execute(
        sa.select(
            jobs.c.id,
            jobs.c.status,
            jobs.c.stage,
            jobs.c.started_at,
            jobs.c.heartbeat_at,
            jobs.c.completed_at,
            jobs.c.last_error,
            jobs.c.payload,
        )
        .where(jobs.c.concurrency_key == exclusive_key(storyboard_id))
        .order_by(jobs.c.created_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    total = len((row.payload or {}).get("generation_ids") or [])
    return ExclusiveJob(
        row.id,
        row.status,
        row.stage,
        row.started_at,
        row.heartbeat_at,
        row.completed_at,
        row.last_error,
        total,
    )


def exclusive_job(services: Services, owner_id: str, storyboard_id: str) -> ExclusiveJob | None:
    """The latest whole-storyboard image job of the owner's storyboard."""
    with services.db() as db:
        board = owned_storyboard(db, owner_id, storyboard_id)
        return exclusive_job_of(db, board.id)


def generation_statuses(
    services: Services, owner_id: str, generation_ids: list[str]
) -> list[GenerationView]:
    """Fresh views of a few generations (the page polls these while work is in flight)."""
    if not generation_ids:
        return []
    with services.db() as db:
        gens = db.scalars(
            sa.select(StoryboardGeneration).where(
                StoryboardGeneration.id.in_(generation_ids),
                StoryboardGeneration.owner_id == owner_id,
            )
        ).all()
        views, _ = _views(db, gens)
    return views


def has_unfiled(services: Services, owner_id: str) -> bool:
    """Whether the owner has work enqueued without a storyboard (from the command line)."""
    with services.db() as db:
        return (
            db.scalar(
                sa.select(StoryboardGeneration.id)
                .where(
                    StoryboardGeneration.owner_id == owner_id,
                    StoryboardGeneration.storyboard_id.is_(None),
                )
                .limit(1)
            )
            is not None
        )


def list_unfiled(services: Services, owner_id: str, *, limit: int = 20) -> list[GenerationView]:
    """Work enqueued without a storyboard (from the command line), newest first."""
    with services.db() as db:
        gens = db.scalars(
            sa.select(StoryboardGeneration)
            .where(
                StoryboardGeneration.owner_id == owner_id,
                StoryboardGeneration.storyboard_id.is_(None),
            )
            .order_by(StoryboardGeneration.created_at.desc(), StoryboardGeneration.id.desc())
            .limit(limit)
        ).all()
        views, _ = _views(db, gens)
    return views


def get_generation(services: Services, owner_id: str, generation_id: str) -> GenerationView:
    views = generation_statuses(services, owner_id, [generation_id])
    if not views:
        raise NotFound("That request does not exist or is not yours.")
    return views[0]
