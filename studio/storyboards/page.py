"""What the Storyboards page shows, read for what is on screen only: the storyboard with its
counts, one page of the open tab's scenes or characters (each with its current image and video,
what made them, its work in flight, its last failure and how many earlier versions it has), the
storyboard's work in flight, and its whole-storyboard job. Earlier versions (a closed History
expander), the work without a scene or character (a tab not open) and the work outside any
storyboard are read by their own functions, when shown. A storyboard of fifty scenes with long
histories reads about as much as one of five.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from db.schema import ImageAsset, Storyboard, StoryboardEntity, StoryboardGeneration, table
from studio.errors import NotFound
from studio.jobs import work
from studio.storyboards.ownership import STORYBOARD_NOT_FOUND, owned_entity, owned_storyboard
from studio.storyboards.reads import ExclusiveJob, GenerationView, exclusive_job_of, request_state

if TYPE_CHECKING:
    from studio.services import Services

PER_PAGE = 5  # scenes or characters per page of a tab
LOOSE_PER_PAGE = 12

gens = table(StoryboardGeneration)
ents = table(StoryboardEntity)
assets_t = table(ImageAsset)


@dataclass
class EntityCard:
    """A scene or character as its card shows it."""

    entity: Any  # a storyboard_entities row
    image: Any | None = None  # image_assets rows
    video: Any | None = None
    image_generation: GenerationView | None = None  # what made the current image
    video_generation: GenerationView | None = None
    active: list[GenerationView] = field(default_factory=list)  # oldest first
    failures: dict[str, GenerationView] = field(default_factory=dict)  # media -> newest, failed
    earlier: dict[str, int] = field(default_factory=dict)  # media -> earlier versions

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
    def history_count(self) -> int:
        return sum(self.earlier.values())


@dataclass
class InFlight:
    """A request queued or running somewhere in the storyboard (the live status)."""

    request: GenerationView
    entity_name: str | None


@dataclass
class StoryboardPage:
    storyboard: Storyboard
    scenes: int
    characters: int
    loose: int  # requests without a scene or character
    kind: str | None  # the tab whose entities were read
    cards: list[EntityCard]
    page: int
    pages: int
    in_flight: list[InFlight]
    exclusive: ExclusiveJob | None
    total_cost: float = 0.0  # what its finished images and videos cost

    @property
    def id(self) -> str:
        return self.storyboard.id

    @property
    def title(self) -> str:
        return self.storyboard.title

    @property
    def entity_count(self) -> int:
        return self.scenes + self.characters


def _count(*where: sa.ColumnElement[bool], source: sa.Table = ents) -> sa.ScalarSelect[Any]:
    return sa.select(sa.func.count()).select_from(source).where(*where).scalar_subquery()


def open_storyboard(
    services: Services,
    owner_id: str,
    storyboard_id: str,
    *,
    kind: str | None = "scene",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> StoryboardPage:
    """The storyboard with one page of its scenes (`kind="scene"`) or characters (None: no
    cards, when neither tab is open)."""
    with services.db() as db:
        head = db.execute(
            sa.select(
                Storyboard,
                _count(ents.c.storyboard_id == Storyboard.id, ents.c.kind == "scene"),
                _count(ents.c.storyboard_id == Storyboard.id, ents.c.kind == "character"),
                _count(
                    gens.c.storyboard_id == Storyboard.id,
                    gens.c.entity_id.is_(None),
                    gens.c.owner_id == owner_id,
                    source=gens,
                ),
                sa.select(sa.func.sum(sa.func.coalesce(gens.c.cost_actual, gens.c.cost_estimate)))
                .where(
                    gens.c.storyboard_id == Storyboard.id,
                    gens.c.owner_id == owner_id,
                    gens.c.asset_id.isnot(None),
                )
                .scalar_subquery(),
            ).where(
                Storyboard.id == storyboard_id,
                Storyboard.owner_id == owner_id,
                Storyboard.deleted_at.is_(None),
            )
        ).first()
        if head is None:
            raise NotFound(STORYBOARD_NOT_FOUND)
        board, n_scenes, n_chars, n_loose, spent = head
        total = {"scene": n_scenes, "character": n_chars}.get(kind or "", 0)
        pages = max(1, math.ceil(int(total or 0) / per_page))
        page = min(pages, max(1, page))
        entity_rows = (
            db.execute(
                sa.select(ents)
                .where(ents.c.storyboard_id == board.id, ents.c.kind == kind)
                .order_by(ents.c.created_at, ents.c.id)
                .limit(per_page)
                .offset((page - 1) * per_page)
            ).all()
            if total
            else []
        )
        cards = _cards(db, owner_id, entity_rows)
        flying = db.execute(
            work.join_job(sa.select(gens, ents.c.name.label("entity_name")), gens.c.job_id)
            .outerjoin(ents, ents.c.id == gens.c.entity_id)
            .where(
                gens.c.storyboard_id == board.id,
                gens.c.owner_id == owner_id,
                gens.c.asset_id.is_(None),  # the partial index of unproduced requests
                gens.c.refusal.is_(None),
                work.jobs.c.status.in_(work.ACTIVE_JOB_STATUSES),
            )
            .order_by(gens.c.created_at, gens.c.id)
        ).all()
        exclusive = exclusive_job_of(db, board.id)
    return StoryboardPage(
        storyboard=board,
        scenes=int(n_scenes or 0),
        characters=int(n_chars or 0),
        loose=int(n_loose or 0),
        kind=kind,
        cards=cards,
        page=page,
        pages=pages,
        in_flight=[InFlight(GenerationView(r, request_state(r, r)), r.entity_name) for r in flying],
        exclusive=exclusive,
        total_cost=float(spent or 0.0),
    )


def _cards(db: Any, owner_id: str, entity_rows: Sequence[Any]) -> list[EntityCard]:
    """Each entity's current media, what made them, work in flight, last failure and count of
    earlier versions: the requests that matter, picked by the database from their history."""
    if not entity_rows:
        return []
    ids = [e.id for e in entity_rows]
    current = [a for e in entity_rows for a in (e.image_asset_id, e.video_asset_id) if a]
    ranked = (
        sa.select(
            gens,
            sa.func.row_number()
            .over(
                partition_by=(gens.c.entity_id, gens.c.media),
                order_by=(gens.c.created_at.desc(), gens.c.id.desc()),
            )
            .label("newest"),
            sa.func.count(gens.c.asset_id)
            .over(partition_by=(gens.c.entity_id, gens.c.media))
            .label("produced"),
        )
        .where(gens.c.entity_id.in_(ids), gens.c.owner_id == owner_id)
        .subquery()
    )
    picked = (
        work.join_job(sa.select(ranked), ranked.c.job_id)
        .where(
            sa.or_(
                ranked.c.newest == 1,
                ranked.c.asset_id.in_(current or [""]),
                sa.and_(
                    ranked.c.asset_id.is_(None),
                    work.jobs.c.status.in_(work.ACTIVE_JOB_STATUSES),
                ),
            )
        )
        .order_by(ranked.c.created_at, ranked.c.id)
    )
    rows = db.execute(picked).all()
    wanted = set(current) | {r.asset_id for r in rows if r.asset_id}
    by_asset = {
        a.id: a
        for a in (
            db.execute(sa.select(assets_t).where(assets_t.c.id.in_(wanted))).all() if wanted else []
        )
    }
    cards = {
        e.id: EntityCard(e, by_asset.get(e.image_asset_id), by_asset.get(e.video_asset_id))
        for e in entity_rows
    }
    for r in rows:
        card = cards[r.entity_id]
        view = GenerationView(r, request_state(r, r), by_asset.get(r.asset_id or ""))
        made = r.asset_id is not None
        if made and r.asset_id == card.entity.image_asset_id:
            card.image_generation = view
        if made and r.asset_id == card.entity.video_asset_id:
            card.video_generation = view
        if view.active:
            card.active.append(view)
        if r.newest == 1 and view.status == "failed":
            card.failures[r.media] = view
        if r.newest == 1:
            now = card.image if r.media == "image" else card.video
            card.earlier[r.media] = int(r.produced) - (1 if now is not None else 0)
    return [cards[e.id] for e in entity_rows]


def entity_history(
    services: Services, owner_id: str, entity_id: str
) -> tuple[list[GenerationView], list[GenerationView]]:
    """A scene's or character's earlier images and videos (not the current ones), newest
    first: what its History expander shows once opened."""
    with services.db() as db:
        entity, _ = owned_entity(db, owner_id, entity_id)
        current = {entity.image_asset_id, entity.video_asset_id} - {None}
        rows = db.execute(
            sa.select(gens, assets_t.c.id.label("a_id"))
            .join(assets_t, assets_t.c.id == gens.c.asset_id)
            .where(gens.c.entity_id == entity.id, gens.c.owner_id == owner_id)
            .order_by(gens.c.created_at.desc(), gens.c.id.desc())
        ).all()
        by_asset = {
            a.id: a
            for a in db.execute(
                sa.select(assets_t).where(assets_t.c.id.in_([r.a_id for r in rows] or [""]))
            ).all()
        }
    views = [
        GenerationView(r, work.WorkState("succeeded"), by_asset.get(r.asset_id))
        for r in rows
        if r.asset_id not in current
    ]
    return [v for v in views if v.media == "image"], [v for v in views if v.media == "video"]


def loose_requests(
    services: Services, owner_id: str, storyboard_id: str, *, page: int = 1
) -> list[GenerationView]:
    """One page of the storyboard's work without a scene or character, newest first."""
    with services.db() as db:
        board = owned_storyboard(db, owner_id, storyboard_id)
        rows = db.execute(
            work.join_job(sa.select(gens), gens.c.job_id)
            .where(
                gens.c.storyboard_id == board.id,
                gens.c.entity_id.is_(None),
                gens.c.owner_id == owner_id,
            )
            .order_by(gens.c.created_at.desc(), gens.c.id.desc())
            .limit(LOOSE_PER_PAGE)
            .offset((max(1, page) - 1) * LOOSE_PER_PAGE)
        ).all()
        asset_ids = [r.asset_id for r in rows if r.asset_id]
        by_asset = {
            a.id: a
            for a in (
                db.execute(sa.select(assets_t).where(assets_t.c.id.in_(asset_ids))).all()
                if asset_ids
                else []
            )
        }
    return [GenerationView(r, request_state(r, r), by_asset.get(r.asset_id or "")) for r in rows]


def entity_place(
    services: Services, owner_id: str, entity_id: str, *, per_page: int = PER_PAGE
) -> tuple[str, str, int] | None:
    """Where a scene or character is shown (a search result's link): its storyboard, its kind
    (the tab) and the page of that tab holding it; None if it is gone or not the owner's."""
    with services.db() as db:
        row = db.execute(
            sa.select(ents.c.storyboard_id, ents.c.kind, ents.c.created_at, ents.c.id)
            .join(Storyboard, Storyboard.id == ents.c.storyboard_id)
            .where(
                ents.c.id == entity_id,
                Storyboard.owner_id == owner_id,
                Storyboard.deleted_at.is_(None),
            )
        ).first()
        if row is None:
            return None
        other = ents.alias("other")
        before = db.scalar(
            sa.select(sa.func.count())
            .select_from(other)
            .where(
                other.c.storyboard_id == row.storyboard_id,
                other.c.kind == row.kind,
                sa.or_(
                    other.c.created_at < row.created_at,
                    sa.and_(other.c.created_at == row.created_at, other.c.id < row.id),
                ),
            )
        )
    return row.storyboard_id, row.kind, int(before or 0) // per_page + 1
