"""Storyboards: scenes and characters with images and videos (DESIGN §2, §7 "Storyboards").

Every function takes the Services container and the acting `owner_id`, and checks ownership in
the query itself: another owner's storyboard, entity or asset is reported exactly like a
missing one.

Four kinds of request, each one `StoryboardGeneration` row plus one queued job, written in one
transaction after everything was validated (a rejected request stores nothing):
- image: text-to-image (`storyboard_image` job);
- edit: image-to-image from the entity's current image, or a given source image;
- video: text-to-video (`storyboard_video` job), or image-to-video with a given source;
- animate: the entity's current image into a video.
Each request carries an idempotency key: the same key returns what the first request made.

"Generate images for the whole storyboard" is exclusive work per storyboard: one
`storyboard_image` job covering every entity; a second request while it is queued or running
answers `InProgress` (with an offer to clear it), a running one without a heartbeat for
STUDIO_STALE_JOB_SECONDS is cleared automatically (studio/queue.py `start_exclusive`).

The jobs themselves live in studio/storyboard_jobs.py.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import (
    ImageAsset,
    Job,
    Storyboard,
    StoryboardEntity,
    StoryboardGeneration,
    UsageLedger,
)
from db.types import utcnow
from studio import assets, imaging
from studio.errors import Conflict, InProgress, Invalid, LimitExceeded, NotFound
from studio.providers.base import ImageRequest, ModelInfo, Provider, VideoRequest
from studio.services import Services

IMAGE_JOB = "storyboard_image"
VIDEO_JOB = "storyboard_video"
KINDS = ("scene", "character")
ASPECT_RATIOS = ("16:9", "9:16")
DURATIONS = (4, 6, 8)
RESOLUTIONS = ("720p", "1080p")
MAX_TITLE_CHARS = 200
MAX_NAME_CHARS = 200
MAX_DESCRIPTION_CHARS = 4000
MAX_SEED = 2**31 - 1
DEFAULT_STRENGTH = 0.6
ACTIVE = ("queued", "running")
# Preferred models when Google is configured (the source system used these two).
GOOGLE_IMAGE_MODEL = "gemini-2.5-flash-image"
GOOGLE_VIDEO_MODEL = "veo-3.1-fast-generate-preview"
# Image size per entity kind (None: work enqueued without an entity).
IMAGE_SHAPES: dict[str | None, tuple[int, int, str]] = {
    "scene": (1024, 576, "16:9"),
    "character": (768, 1024, "3:4"),
    None: (1024, 1024, "1:1"),
}
MODE_LABELS = {
    "text_to_image": "image from text",
    "image_to_image": "edited image",
    "text_to_video": "video from text",
    "image_to_video": "animated image",
}
STORYBOARD_NOT_FOUND = "That storyboard does not exist or is not yours."
ENTITY_NOT_FOUND = "That scene or character does not exist or is not yours."
# A job's status as the generation it works on would show it.
_JOB_TO_GENERATION = {"pending": "queued", "failed": "failed", "canceled": "canceled"}
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def exclusive_key(storyboard_id: str) -> str:
    """The concurrency key of "generate images for the whole storyboard"."""
    return f"storyboard-images:{storyboard_id}"


# ---------------------------------------------------------------------------------------------
# Options and validation
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VideoOptions:
    """Aspect ratio, duration (seconds) and resolution of a video request."""

    aspect_ratio: str = "16:9"
    duration_s: int = 8
    resolution: str = "720p"

    @classmethod
    def parse(
        cls, aspect_ratio: Any = "16:9", duration_s: Any = 8, resolution: Any = "720p"
    ) -> VideoOptions:
        """Validate values from a form, the command line or a JSON file ("8", "8s" and 8 are
        the same duration); raises Invalid naming what is allowed."""
        aspect = str(aspect_ratio).strip() if aspect_ratio is not None else "16:9"
        if aspect not in ASPECT_RATIOS:
            raise Invalid(f"Aspect ratio must be 16:9 or 9:16 (got {aspect_ratio!r}).")
        duration = _parse_duration(duration_s)
        res = str(resolution).strip().lower() if resolution is not None else "720p"
        if res not in RESOLUTIONS:
            raise Invalid(f"Resolution must be 720p or 1080p (got {resolution!r}).")
        return cls(aspect, duration, res)

    def to_json(self) -> dict[str, Any]:
        return {
            "aspect_ratio": self.aspect_ratio,
            "duration_s": self.duration_s,
            "resolution": self.resolution,
        }


def _parse_duration(value: Any) -> int:
    allowed = ", ".join(str(d) for d in DURATIONS[:-1]) + f" or {DURATIONS[-1]}"
    message = f"Duration must be {allowed} seconds (got {value!r})."
    if value is None:
        return 8
    if isinstance(value, bool):
        raise Invalid(message)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        text = value.strip().lower().removesuffix("s").strip()
        if not text.isdigit():
            raise Invalid(message)
        value = int(text)
    if not isinstance(value, int) or value not in DURATIONS:
        raise Invalid(message)
    return value


def _check_prompt(services: Services, prompt: str | None) -> str:
    text = (prompt or "").strip()
    if not text:
        raise Invalid("Write a prompt first.")
    limit = services.settings.max_prompt_chars
    if len(text) > limit:
        raise Invalid(f"The prompt is {len(text):,} characters; the limit is {limit:,}.")
    return text


def _check_title(title: str | None) -> str:
    text = " ".join((title or "").split())
    if not text:
        raise Invalid("Give the storyboard a title.")
    if len(text) > MAX_TITLE_CHARS:
        raise Invalid(f"The title is {len(text)} characters; the limit is {MAX_TITLE_CHARS}.")
    return text


def _check_entity_text(kind: str, name: str | None, description: str | None) -> tuple[str, str]:
    what = "scene" if kind == "scene" else "character"
    clean = " ".join((name or "").split())
    if not clean:
        raise Invalid(f"Give the {what} a name.")
    if len(clean) > MAX_NAME_CHARS:
        raise Invalid(f"The name is {len(clean)} characters; the limit is {MAX_NAME_CHARS}.")
    text = (description or "").strip()
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise Invalid(
            f"The description is {len(text):,} characters; the limit is {MAX_DESCRIPTION_CHARS:,}."
        )
    return clean, text


def _check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise Invalid(f"An entity is a scene or a character (got {kind!r}).")
    return kind


# ---------------------------------------------------------------------------------------------
# Providers and models
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelChoice:
    provider: str
    provider_label: str
    model: ModelInfo

    @property
    def label(self) -> str:
        return f"{self.model.label} ({self.provider_label})"

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.model.id}"


def model_choices(services: Services, media: str, mode: str) -> list[ModelChoice]:
    """Every switched-on model that makes `media` in `mode`, the default first."""
    found = [
        ModelChoice(status.name, status.label, info)
        for status in services.providers
        if status.available and status.provider is not None
        for info in status.models
        if info.kind == media and mode in info.modes
    ]
    preferred = GOOGLE_IMAGE_MODEL if media == "image" else GOOGLE_VIDEO_MODEL
    default_provider = services.settings.default_provider

    def rank(choice: ModelChoice) -> tuple[int, int]:
        if choice.provider == "google":
            return (0, 0 if choice.model.id == preferred else 1)
        if choice.provider == default_provider:
            return (1, 0)
        return (2 if choice.provider == "local" else 3, 0)

    return sorted(found, key=rank)


def _resolve_model(
    services: Services, media: str, mode: str, provider: str | None, model: str | None
) -> tuple[Provider, ModelInfo]:
    """The provider and model to use: the given ones (checked), or the default for the mode."""
    if provider is None and model is None:
        choices = model_choices(services, media, mode)
        if not choices:
            raise Invalid(f"No switched-on provider can make a {MODE_LABELS[mode]}.")
        provider, model = choices[0].provider, choices[0].model.id
    if provider is None:
        # A model alone: the provider that offers it.
        owners = [c for c in model_choices(services, media, mode) if c.model.id == model]
        if not owners:
            raise Invalid(f"No switched-on provider offers the model {model!r} for this.")
        provider = owners[0].provider
    try:
        impl = services.provider(provider)
    except NotFound as exc:
        raise Invalid(exc.user_message) from None
    offered = [m for m in impl.models() if m.kind == media]
    if model is None:
        usable = [m for m in offered if mode in m.modes]
        if not usable:
            raise Invalid(f"{impl.label} cannot make a {MODE_LABELS[mode]}.")
        preferred = GOOGLE_IMAGE_MODEL if media == "image" else GOOGLE_VIDEO_MODEL
        info = next((m for m in usable if m.id == preferred), usable[0])
        return impl, info
    info = next((m for m in impl.models() if m.id == model), None)
    if info is None:
        choices = ", ".join(m.id for m in offered) or "none"
        raise Invalid(f"{impl.label} has no model {model!r}; {media} models: {choices}.")
    if info.kind != media:
        raise Invalid(f"{info.label} makes {info.kind}s, not {media}s; choose another model.")
    if mode not in info.modes:
        raise Invalid(f"{info.label} cannot make a {MODE_LABELS[mode]}; choose another model.")
    return impl, info


# ---------------------------------------------------------------------------------------------
# Read models
# ---------------------------------------------------------------------------------------------


@dataclass
class GenerationView:
    """One request with its status as the person should see it, and its output once done."""

    generation: StoryboardGeneration
    asset: ImageAsset | None = None
    status: str = "queued"
    error: str | None = None
    stage: str | None = None

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
        return MODE_LABELS.get(self.generation.mode, self.generation.mode)

    @property
    def prompt(self) -> str:
        return self.generation.prompt

    @property
    def params(self) -> dict[str, Any]:
        return self.generation.params or {}

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

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


def _effective(gen: StoryboardGeneration, job: Any | None) -> tuple[str, str | None, str | None]:
    """(status, error, stage). A generation in flight follows its job: a job cleared by an
    editor, or reaped back to the queue, never ran the generation's hook."""
    if gen.status in ACTIVE and job is not None:
        if job.status in ("failed", "canceled"):
            return _JOB_TO_GENERATION[job.status], job.last_error or gen.error, None
        if job.status == "pending":
            return "queued", gen.error, None
        if job.status == "running":
            return gen.status, gen.error, job.stage if gen.status == "running" else None
    return gen.status, gen.error, None


def _views(
    db: Session, generations: Iterable[StoryboardGeneration], extra_assets: Iterable[str] = ()
) -> tuple[list[GenerationView], dict[str, ImageAsset]]:
    """Views of `generations` (jobs and assets in two queries) and every asset by id."""
    gens = list(generations)
    asset_ids = {g.asset_id for g in gens if g.asset_id} | {a for a in extra_assets if a}
    found = (
        db.scalars(sa.select(ImageAsset).where(ImageAsset.id.in_(asset_ids))).all()
        if asset_ids
        else []
    )
    by_id = {a.id: a for a in found}
    job_ids = {g.job_id for g in gens if g.job_id and g.status in ACTIVE}
    jobs = Job.__table__
    job_rows = (
        {
            r.id: r
            for r in db.execute(
                sa.select(
                    jobs.c.id, jobs.c.status, jobs.c.stage, jobs.c.last_error
                ).where(jobs.c.id.in_(job_ids))
            ).all()
        }
        if job_ids
        else {}
    )
    views = []
    for gen in gens:
        status, error, stage = _effective(gen, job_rows.get(gen.job_id or ""))
        views.append(GenerationView(gen, by_id.get(gen.asset_id or ""), status, error, stage))
    return views, by_id


def list_storyboards(services: Services, owner_id: str) -> list[StoryboardCard]:
    """The owner's storyboards, most recently updated first, with entity counts."""
    ents = StoryboardEntity.__table__

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
            .where(Storyboard.owner_id == owner_id)
            .order_by(Storyboard.updated_at.desc(), Storyboard.id)
        ).all()
    return [
        StoryboardCard(s.id, s.title, int(n_s or 0), int(n_c or 0), s.updated_at)
        for s, n_s, n_c in rows
    ]


def get_storyboard(services: Services, owner_id: str, storyboard_id: str) -> StoryboardView:
    """A storyboard with its entities, their current media, history and work in flight."""
    with services.db() as db:
        board = _owned_storyboard(db, owner_id, storyboard_id)
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
        exclusive = _exclusive_job(db, board.id)
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


def _exclusive_job(db: Session, storyboard_id: str) -> ExclusiveJob | None:
    jobs = Job.__table__
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
        board = _owned_storyboard(db, owner_id, storyboard_id)
        return _exclusive_job(db, board.id)


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


# ---------------------------------------------------------------------------------------------
# Loading with ownership
# ---------------------------------------------------------------------------------------------


def _owned_storyboard(
    db: Session, owner_id: str, storyboard_id: str, *, lock: bool = False
) -> Storyboard:
    stmt = sa.select(Storyboard).where(
        Storyboard.id == str(storyboard_id), Storyboard.owner_id == owner_id
    )
    if lock:
        stmt = stmt.with_for_update()
    board = db.scalar(stmt)
    if board is None:
        raise NotFound(STORYBOARD_NOT_FOUND)
    return board


def _owned_entity(
    db: Session, owner_id: str, entity_id: str, *, lock: bool = False
) -> tuple[StoryboardEntity, Storyboard]:
    stmt = (
        sa.select(StoryboardEntity, Storyboard)
        .join(Storyboard, Storyboard.id == StoryboardEntity.storyboard_id)
        .where(StoryboardEntity.id == str(entity_id), Storyboard.owner_id == owner_id)
    )
    if lock:
        stmt = stmt.with_for_update(of=StoryboardEntity)
    row = db.execute(stmt).first()
    if row is None:
        raise NotFound(ENTITY_NOT_FOUND)
    return row[0], row[1]


def _owned_asset(db: Session, owner_id: str, asset_id: str) -> ImageAsset:
    asset = db.scalar(
        sa.select(ImageAsset).where(ImageAsset.id == str(asset_id), ImageAsset.owner_id == owner_id)
    )
    if asset is None:
        raise NotFound(f"There is no asset {asset_id} of yours.")
    return asset


# ---------------------------------------------------------------------------------------------
# Storyboards and entities
# ---------------------------------------------------------------------------------------------


def create_storyboard(services: Services, owner_id: str, title: str) -> Storyboard:
    """A new, empty storyboard."""
    clean = _check_title(title)
    with services.db() as db:
        board = Storyboard(owner_id=owner_id, title=clean)
        db.add(board)
        db.flush()
        db.expunge(board)
    return board


def rename_storyboard(services: Services, owner_id: str, storyboard_id: str, title: str) -> None:
    clean = _check_title(title)
    with services.db() as db:
        board = _owned_storyboard(db, owner_id, storyboard_id, lock=True)
        board.title = clean


def add_entity(
    services: Services,
    owner_id: str,
    storyboard_id: str,
    *,
    kind: str,
    name: str,
    description: str = "",
) -> StoryboardEntity:
    """Add a scene or a character (name required, description optional)."""
    _check_kind(kind)
    clean_name, text = _check_entity_text(kind, name, description)
    with services.db() as db:
        board = _owned_storyboard(db, owner_id, storyboard_id, lock=True)
        entity = StoryboardEntity(
            storyboard_id=board.id, kind=kind, name=clean_name, description=text
        )
        db.add(entity)
        board.updated_at = utcnow()
        db.flush()
        db.expunge(entity)
    return entity


def update_entity(
    services: Services,
    owner_id: str,
    entity_id: str,
    *,
    name: str | None = None,
    description: str | None = None,
) -> StoryboardEntity:
    """Change the name and/or description of a scene or character."""
    with services.db() as db:
        entity, board = _owned_entity(db, owner_id, entity_id, lock=True)
        clean_name, text = _check_entity_text(
            entity.kind,
            entity.name if name is None else name,
            entity.description if description is None else description,
        )
        entity.name, entity.description = clean_name, text
        board.updated_at = utcnow()
        db.flush()
        db.expunge(entity)
    return entity


def delete_entity(services: Services, owner_id: str, entity_id: str) -> None:
    """Remove a scene or character and its history (work still queued for it is canceled)."""
    with services.db() as db:
        entity, board = _owned_entity(db, owner_id, entity_id, lock=True)
        waiting = db.scalars(
            sa.select(StoryboardGeneration.job_id).where(
                StoryboardGeneration.entity_id == entity.id,
                StoryboardGeneration.status.in_(ACTIVE),
                StoryboardGeneration.job_id.isnot(None),
            )
        ).all()
        db.delete(entity)
        board.updated_at = utcnow()
        db.flush()
        for job_id in set(waiting):
            job = db.get(Job, job_id)
            # A single-entity job has nothing left to do; a whole-storyboard job skips it.
            if job is not None and job.status == "pending" and "generation_id" in job.payload:
                services.queue.cancel(job_id, db=db)


# ---------------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A source image: an asset of the owner, or new bytes (an upload or a file)."""

    asset_id: str | None = None
    data: bytes | None = None
    name: str | None = None  # how to refer to it in messages

    @classmethod
    def from_argument(cls, value: str) -> Source:
        """PATH_OR_ASSET from the command line: an existing file, else an asset id."""
        from pathlib import Path

        if value.strip().lower().startswith(("http://", "https://")):
            raise Invalid("A source must be an image file or an asset id, not a URL: download "
                          "the image and give its path.")  # fmt: skip
        path = Path(value).expanduser()
        if path.is_file():
            try:
                return cls(data=path.read_bytes(), name=str(path))
            except OSError as exc:
                raise Invalid(f"Cannot read {value}: {exc.strerror or exc}.") from None
        if path.exists():
            raise Invalid(f"{value} is not a file.")
        if _UUID.match(value.strip()):
            return cls(asset_id=value.strip(), name=f"asset {value.strip()}")
        raise NotFound(f"No file or asset {value!r}: give an image file's path or an asset id.")


@dataclass
class _Target:
    storyboard: Storyboard | None
    entity: StoryboardEntity | None


def _job_key(kind: str, owner_id: str, idempotency_key: str) -> str:
    """The job's idempotency key: namespaced by owner, so keys never cross people."""
    if not idempotency_key or not str(idempotency_key).strip():
        raise ValueError("an idempotency key is required")
    digest = hashlib.sha256(f"{owner_id}\0{idempotency_key}".encode()).hexdigest()
    return f"{kind}:{digest}"


def new_idempotency_key() -> str:
    return secrets.token_hex(16)


def _replay(services: Services, owner_id: str, job_key: str) -> StoryboardGeneration | None:
    with services.db() as db:
        gen = db.scalar(
            sa.select(StoryboardGeneration)
            .join(Job, Job.id == StoryboardGeneration.job_id)
            .where(Job.idempotency_key == job_key, StoryboardGeneration.owner_id == owner_id)
            .order_by(StoryboardGeneration.created_at)
            .limit(1)
        )
        if gen is not None:
            db.expunge(gen)
        return gen


class _Replayed(Exception):
    """The idempotency key was taken by a concurrent request: roll ours back."""


def _target(
    db: Session,
    owner_id: str,
    storyboard_id: str | None,
    entity_id: str | None,
    entity_kind: str | None,
) -> _Target:
    if entity_id:
        entity, board = _owned_entity(db, owner_id, entity_id)
        if entity_kind and entity.kind != entity_kind:
            raise Invalid(
                f"{entity_id} is a {entity.kind}, not a {entity_kind} "
                f"(use --{entity.kind} for it)."
            )
        if storyboard_id and board.id != storyboard_id:
            raise Invalid(f"That {entity.kind} belongs to another storyboard ({board.title}).")
        return _Target(board, entity)
    if storyboard_id:
        return _Target(_owned_storyboard(db, owner_id, storyboard_id), None)
    return _Target(None, None)


def _check_limits(db: Session, services: Services, owner_id: str, estimate: float | None) -> None:
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


def _prepare_upload(services: Services, source: Source) -> assets.PreparedImage:
    """Validate new source bytes as an image; nothing is written when they are not one."""
    limits = imaging.ImageLimits.from_settings(services.settings)
    try:
        return assets.prepare_image(source.data or b"", limits)
    except Invalid as exc:
        what = source.name or "The source"
        raise Invalid(f"{what} is not a usable image: {exc.user_message}") from None


def _source_asset(db: Session, owner_id: str, asset_id: str) -> ImageAsset:
    asset = _owned_asset(db, owner_id, asset_id)
    if not asset.mime_type.startswith("image/") or asset.role == "mask":
        raise Invalid(
            f"Asset {asset_id} is a {asset.mime_type} {asset.role}, not an image: "
            "give an image as the source."
        )
    return asset


def _label(media: str, mode: str, target: _Target, prompt: str) -> str:
    what = {"text_to_image": "Image", "image_to_image": "Edit", "text_to_video": "Video",
            "image_to_video": "Animate"}[mode]  # fmt: skip
    if target.entity is not None and target.storyboard is not None:
        return f"{what} · {target.entity.name} · {target.storyboard.title}"[:300]
    if target.storyboard is not None:
        return f"{what} · {target.storyboard.title}"[:300]
    short = " ".join(prompt.split())
    return f"{what} · {short[:60]}{'…' if len(short) > 60 else ''}"


def _request(
    services: Services,
    owner_id: str,
    *,
    media: str,
    mode: str,
    prompt: str,
    storyboard_id: str | None,
    entity_id: str | None,
    entity_kind: str | None,
    source: Source | None,
    use_current_image: bool,
    options: VideoOptions | None,
    provider: str | None,
    model: str | None,
    strength: float,
    seed: int | None,
    idempotency_key: str,
) -> StoryboardGeneration:
    """Validate everything, then write the source asset, the generation and its job together."""
    kind = IMAGE_JOB if media == "image" else VIDEO_JOB
    job_key = _job_key(kind, owner_id, idempotency_key)
    found = _replay(services, owner_id, job_key)
    if found is not None:
        return found
    text = _check_prompt(services, prompt)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)
                             or not 0 <= seed <= MAX_SEED):  # fmt: skip
        raise Invalid(f"The seed must be a whole number from 0 to {MAX_SEED:,} (got {seed}).")
    if not isinstance(strength, int | float) or not 0 <= strength <= 1:
        raise Invalid(f"Strength must be between 0 and 1 (got {strength}).")
    impl, info = _resolve_model(services, media, mode, provider, model)
    upload = _prepare_upload(services, source) if source and source.data is not None else None
    with services.db() as db:  # a read: who is the target, what is the source
        target = _target(db, owner_id, storyboard_id, entity_id, entity_kind)
        source_asset: ImageAsset | None = None
        if source is not None and source.asset_id:
            source_asset = _source_asset(db, owner_id, source.asset_id)
        elif use_current_image:
            entity = target.entity
            if entity is None:
                raise Invalid("Name a scene or character whose current image to use.")
            if entity.image_asset_id is None:
                raise Invalid(
                    f"{entity.name} has no image yet: generate one first, then "
                    f"{'edit' if media == 'image' else 'animate'} it."
                )
            source_asset = db.get(ImageAsset, entity.image_asset_id)
            if source_asset is None:
                raise Invalid(f"The current image of {entity.name} is gone; generate a new one.")
        if source_asset is not None:
            db.expunge(source_asset)
    seed = seed if seed is not None else secrets.randbelow(MAX_SEED + 1)
    params: dict[str, Any] = {"seed": seed}
    entity_kind_now = target.entity.kind if target.entity is not None else None
    if media == "image":
        width, height, aspect = IMAGE_SHAPES[entity_kind_now]
        if mode == "image_to_image":
            w = upload.width if upload else (source_asset.width if source_asset else None)
            h = upload.height if upload else (source_asset.height if source_asset else None)
            width, height, aspect = w or width, h or height, None
            params["strength"] = float(strength)
        params.update(width=width, height=height)
        if aspect:
            params["aspect_ratio"] = aspect
        estimate = impl.estimate_cost(
            info.id,
            ImageRequest(
                mode=mode,  # type: ignore[arg-type]
                prompt=text,
                width=width,
                height=height,
                aspect_ratio=aspect,
                source=b"source" if mode == "image_to_image" else None,
            ),
        )
    else:
        opts = options or VideoOptions()
        params.update(opts.to_json())
        estimate = impl.estimate_cost(
            info.id,
            VideoRequest(
                prompt=text,
                aspect_ratio=opts.aspect_ratio,  # type: ignore[arg-type]
                duration_s=opts.duration_s,
                resolution=opts.resolution,  # type: ignore[arg-type]
            ),
        )
    stored: tuple[str, str] | None = None
    if upload is not None:
        # Content-addressed bytes first; an orphan from a rollback is reused or collected.
        stored = assets.store_prepared(
            services.storage, upload, services.settings.storyboard_images_bucket
        )
    try:
        with services.db() as db:
            target = _target(db, owner_id, storyboard_id, entity_id, entity_kind)
            _check_limits(db, services, owner_id, estimate)
            source_id = source_asset.id if source_asset is not None else None
            if upload is not None and stored is not None:
                row = assets.asset_row(
                    upload,
                    key=stored[0],
                    thumbnail_key=stored[1],
                    owner_id=owner_id,
                    role="input",
                    bucket=services.settings.storyboard_images_bucket,
                    storage_name=services.storage.name,
                )
                db.add(row)
                db.flush()
                source_id = row.id
            gen = StoryboardGeneration(
                owner_id=owner_id,
                storyboard_id=target.storyboard.id if target.storyboard else None,
                entity_id=target.entity.id if target.entity else None,
                media=media,
                mode=mode,
                status="queued",
                provider=impl.name,
                model=info.id,
                prompt=text,
                params=params,
                source_asset_id=source_id,
                cost_estimate=estimate,
            )
            db.add(gen)
            db.flush()
            job = services.queue.enqueue(
                kind,
                {"generation_id": gen.id},
                db=db,
                idempotency_key=job_key,
                owner_id=owner_id,
                label=_label(media, mode, target, text),
                cost_estimate=estimate,
            )
            if (job.payload or {}).get("generation_id") != gen.id:
                raise _Replayed()
            gen.job_id = job.id
            if target.storyboard is not None:
                target.storyboard.updated_at = utcnow()
            db.flush()
            db.expunge(gen)
    except _Replayed:
        found = _replay(services, owner_id, job_key)
        if found is None:
            raise Conflict(
                "This request was already made and no longer exists; make it again."
            ) from None
        return found
    return gen


def request_image(
    services: Services,
    owner_id: str,
    *,
    prompt: str,
    idempotency_key: str,
    storyboard_id: str | None = None,
    entity_id: str | None = None,
    entity_kind: str | None = None,
    provider: str | None = None,
    model: str | None = None,
    seed: int | None = None,
) -> StoryboardGeneration:
    """Queue a text-to-image for an entity (or a storyboard, or nothing: a loose image)."""
    return _request(
        services, owner_id, media="image", mode="text_to_image", prompt=prompt,
        storyboard_id=storyboard_id, entity_id=entity_id, entity_kind=entity_kind, source=None,
        use_current_image=False, options=None, provider=provider, model=model,
        strength=DEFAULT_STRENGTH, seed=seed, idempotency_key=idempotency_key,
    )  # fmt: skip


def request_edit(
    services: Services,
    owner_id: str,
    *,
    prompt: str,
    idempotency_key: str,
    storyboard_id: str | None = None,
    entity_id: str | None = None,
    entity_kind: str | None = None,
    source: Source | None = None,
    strength: float = DEFAULT_STRENGTH,
    provider: str | None = None,
    model: str | None = None,
    seed: int | None = None,
) -> StoryboardGeneration:
    """Queue an image-to-image: from `source`, else from the entity's current image."""
    if source is None and not entity_id:
        raise Invalid("An edit needs a source image (--source) or a scene or character.")
    return _request(
        services, owner_id, media="image", mode="image_to_image", prompt=prompt,
        storyboard_id=storyboard_id, entity_id=entity_id, entity_kind=entity_kind,
        source=source, use_current_image=source is None, options=None, provider=provider,
        model=model, strength=strength, seed=seed, idempotency_key=idempotency_key,
    )  # fmt: skip


def request_video(
    services: Services,
    owner_id: str,
    *,
    prompt: str,
    idempotency_key: str,
    options: VideoOptions | None = None,
    storyboard_id: str | None = None,
    entity_id: str | None = None,
    entity_kind: str | None = None,
    source: Source | None = None,
    provider: str | None = None,
    model: str | None = None,
    seed: int | None = None,
) -> StoryboardGeneration:
    """Queue a text-to-video, or an image-to-video when `source` is given."""
    mode = "image_to_video" if source is not None else "text_to_video"
    return _request(
        services, owner_id, media="video", mode=mode, prompt=prompt,
        storyboard_id=storyboard_id, entity_id=entity_id, entity_kind=entity_kind,
        source=source, use_current_image=False, options=options, provider=provider,
        model=model, strength=DEFAULT_STRENGTH, seed=seed, idempotency_key=idempotency_key,
    )  # fmt: skip


def request_animate(
    services: Services,
    owner_id: str,
    *,
    entity_id: str,
    prompt: str,
    idempotency_key: str,
    options: VideoOptions | None = None,
    provider: str | None = None,
    model: str | None = None,
    seed: int | None = None,
) -> StoryboardGeneration:
    """Queue an image-to-video from the entity's current image."""
    return _request(
        services, owner_id, media="video", mode="image_to_video", prompt=prompt,
        storyboard_id=None, entity_id=entity_id, entity_kind=None, source=None,
        use_current_image=True, options=options, provider=provider, model=model,
        strength=DEFAULT_STRENGTH, seed=seed, idempotency_key=idempotency_key,
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The whole storyboard at once (exclusive)
# ---------------------------------------------------------------------------------------------


def entity_prompt(entity: StoryboardEntity, style: str = "") -> str:
    """The prompt for an entity's image when the whole storyboard is generated."""
    head = f"Character portrait: {entity.name}" if entity.kind == "character" else entity.name
    text = f"{head}. {entity.description}".strip() if entity.description else head
    style = style.strip()
    return f"{text} Style: {style}" if style else text


def generate_storyboard_images(
    services: Services,
    owner_id: str,
    storyboard_id: str,
    *,
    idempotency_key: str,
    style: str = "",
    only_missing: bool = False,
    provider: str | None = None,
    model: str | None = None,
) -> Job:
    """One job making an image for every scene and character (or those without one).

    Raises InProgress while another such job of this storyboard is queued or running; a
    running one silent for STUDIO_STALE_JOB_SECONDS is cleared automatically first."""
    job_key = _job_key(IMAGE_JOB, owner_id, f"storyboard:{storyboard_id}:{idempotency_key}")
    previous = _job_by_key(services, owner_id, job_key)
    if previous is not None:
        return previous
    if len(style) > services.settings.max_prompt_chars:
        raise Invalid("The style is too long.")
    impl, info = _resolve_model(services, "image", "text_to_image", provider, model)
    try:
        with services.db() as db:
            board = _owned_storyboard(db, owner_id, storyboard_id, lock=True)
            entities = db.scalars(
                sa.select(StoryboardEntity)
                .where(StoryboardEntity.storyboard_id == board.id)
                .order_by(StoryboardEntity.created_at, StoryboardEntity.id)
            ).all()
            if only_missing:
                entities = [e for e in entities if e.image_asset_id is None]
                if not entities:
                    raise Invalid("Every scene and character already has an image.")
            if not entities:
                raise Invalid("Add a scene or character first.")
            estimates = []
            gens = []
            for entity in entities:
                width, height, aspect = IMAGE_SHAPES[entity.kind]
                text = entity_prompt(entity, style)[: services.settings.max_prompt_chars]
                request = ImageRequest(
                    mode="text_to_image", prompt=text, width=width, height=height,
                    aspect_ratio=aspect,
                )  # fmt: skip
                estimates.append(impl.estimate_cost(info.id, request))
                gens.append(
                    StoryboardGeneration(
                        owner_id=owner_id,
                        storyboard_id=board.id,
                        entity_id=entity.id,
                        media="image",
                        mode="text_to_image",
                        status="queued",
                        provider=impl.name,
                        model=info.id,
                        prompt=text,
                        params={
                            "seed": secrets.randbelow(MAX_SEED + 1),
                            "width": width,
                            "height": height,
                            "aspect_ratio": aspect,
                        },
                        cost_estimate=estimates[-1],
                    )
                )
            total = round(sum(estimates), 6)
            _check_limits(db, services, owner_id, total)
            db.add_all(gens)
            db.flush()
            job = services.queue.start_exclusive(
                IMAGE_JOB,
                {"storyboard_id": board.id, "generation_ids": [g.id for g in gens]},
                concurrency_key=exclusive_key(board.id),
                db=db,
                idempotency_key=job_key,
                owner_id=owner_id,
                label=f"Images for {board.title} ({len(gens)})"[:300],
                cost_estimate=total,
            )
            if (job.payload or {}).get("generation_ids") != [g.id for g in gens]:
                raise _Replayed()
            for gen in gens:
                gen.job_id = job.id
            board.updated_at = utcnow()
            db.flush()
    except (_Replayed, InProgress):
        previous = _job_by_key(services, owner_id, job_key)
        if previous is None:
            raise
        return previous
    return job


def _job_by_key(services: Services, owner_id: str, job_key: str) -> Job | None:
    with services.db() as db:
        job = db.scalar(
            sa.select(Job).where(Job.idempotency_key == job_key, Job.owner_id == owner_id)
        )
        if job is not None:
            db.expunge(job)
        return job


def clear_storyboard_job(
    services: Services, owner_id: str, storyboard_id: str, job_id: str
) -> str:
    """The "clear stuck job" offer: fail a running whole-storyboard job (revoking its lease),
    or cancel a queued one. Returns what happened: 'cleared' or 'canceled'."""
    with services.db() as db:
        board = _owned_storyboard(db, owner_id, storyboard_id)
        job = db.get(Job, job_id)
        if job is None or job.concurrency_key != exclusive_key(board.id):
            raise NotFound("That job is not this storyboard's.")
        status = job.status
    if status == "running":
        services.queue.clear(job_id, reason="Cleared by its owner: the job was stuck.")
        return "cleared"
    if status == "pending":
        services.queue.cancel(job_id)
        return "canceled"
    raise Conflict(f"That job is already {status}; there is nothing to clear.")


def read_asset(services: Services, owner_id: str, asset_id: str, *, thumbnail: bool = False) -> bytes:
    """The bytes of one of the owner's assets (its thumbnail or poster when asked)."""
    with services.db() as db:
        asset = _owned_asset(db, owner_id, asset_id)
        db.expunge(asset)
    if thumbnail:
        return assets.read_thumbnail(services.storage, asset)
    return assets.read_bytes(services.storage, asset)
