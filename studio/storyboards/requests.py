"""Requests for one image or video: image, edit, video and animate. Each is one
`StoryboardGeneration` row plus one queued job, written in one transaction after everything was
validated; the same idempotency key returns what the first request made."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import ImageAsset, Job, Storyboard, StoryboardEntity, StoryboardGeneration
from db.types import utcnow
from studio import assets, imaging, limits, search, submissions
from studio.errors import Invalid
from studio.providers.base import ImageRequest, VideoRequest
from studio.storyboards.ownership import owned_asset, owned_entity, owned_storyboard
from studio.storyboards.params import (
    DEFAULT_STRENGTH,
    IMAGE_JOB,
    IMAGE_SHAPES,
    MAX_SEED,
    VIDEO_JOB,
    VideoOptions,
    check_prompt,
    resolve_model,
)

if TYPE_CHECKING:
    from studio.services import Services


@dataclass(frozen=True)
class Source:
    """A source image: an asset of the owner, or new bytes (an upload or a file)."""

    asset_id: str | None = None
    data: bytes | None = None
    name: str | None = None  # how to refer to it in messages


@dataclass
class _Target:
    storyboard: Storyboard | None
    entity: StoryboardEntity | None


@dataclass(frozen=True)
class MediaRequest:
    """One storyboard request: an image or a video, from text or from an image, for an entity,
    a storyboard, or nothing (a loose request from the command line). An image-to-something
    request without a `source` starts from the entity's current image."""

    mode: str  # text_to_image | image_to_image | text_to_video | image_to_video
    prompt: str
    storyboard_id: str | None = None
    entity_id: str | None = None
    entity_kind: str | None = None
    source: Source | None = None
    options: VideoOptions | None = None
    provider: str | None = None
    model: str | None = None
    strength: float = DEFAULT_STRENGTH
    seed: int | None = None

    @property
    def media(self) -> str:
        return "video" if self.mode.endswith("_video") else "image"

    @property
    def job_kind(self) -> str:
        return VIDEO_JOB if self.media == "video" else IMAGE_JOB

    @property
    def uses_current_image(self) -> bool:
        return self.mode.startswith("image_to_") and self.source is None

    def check(self) -> None:
        """What is wrong before anything is looked up: the seed, the strength, the source."""
        if self.seed is not None and (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, int)
            or not 0 <= self.seed <= MAX_SEED
        ):
            raise Invalid(
                f"The seed must be a whole number from 0 to {MAX_SEED:,} (got {self.seed})."
            )
        if not isinstance(self.strength, int | float) or not 0 <= self.strength <= 1:
            raise Invalid(f"Strength must be between 0 and 1 (got {self.strength}).")
        if self.uses_current_image and not self.entity_id:
            raise Invalid(
                "An edit needs a source image (--source) or a scene or character."
                if self.media == "image"
                else "Name a scene or character whose current image to animate."
            )


def _target(
    db: Session,
    owner_id: str,
    storyboard_id: str | None,
    entity_id: str | None,
    entity_kind: str | None,
) -> _Target:
    if entity_id:
        entity, board = owned_entity(db, owner_id, entity_id)
        if entity_kind and entity.kind != entity_kind:
            raise Invalid(
                f"{entity_id} is a {entity.kind}, not a {entity_kind} (use --{entity.kind} for it)."
            )
        if storyboard_id and board.id != storyboard_id:
            raise Invalid(f"That {entity.kind} belongs to another storyboard ({board.title}).")
        return _Target(board, entity)
    if storyboard_id:
        return _Target(owned_storyboard(db, owner_id, storyboard_id), None)
    return _Target(None, None)


def _prepare_upload(services: Services, source: Source) -> assets.PreparedImage:
    """Validate new source bytes as an image; nothing is written when they are not one."""
    image_limits = imaging.ImageLimits.from_settings(services.settings)
    try:
        return assets.prepare_image(source.data or b"", image_limits)
    except Invalid as exc:
        what = source.name or "The source"
        raise Invalid(f"{what} is not a usable image: {exc.user_message}") from None


def _source_asset(db: Session, owner_id: str, asset_id: str) -> ImageAsset:
    asset = owned_asset(db, owner_id, asset_id)
    if not asset.mime_type.startswith("image/") or asset.role == "mask":
        raise Invalid(
            f"Asset {asset_id} is a {asset.mime_type} {asset.role}, not an image: "
            "give an image as the source."
        )
    return asset


def _label(mode: str, target: _Target, prompt: str) -> str:
    what = {
        "text_to_image": "Image",
        "image_to_image": "Edit",
        "text_to_video": "Video",
        "image_to_video": "Animate",
    }[mode]
    if target.entity is not None and target.storyboard is not None:
        return f"{what} · {target.entity.name} · {target.storyboard.title}"[:300]
    if target.storyboard is not None:
        return f"{what} · {target.storyboard.title}"[:300]
    short = " ".join(prompt.split())
    return f"{what} · {short[:60]}{'…' if len(short) > 60 else ''}"


def _replay(owner_id: str, job_key: str) -> Callable[[Session], StoryboardGeneration | None]:
    """Finds the request an earlier submission with this key made."""

    def find(db: Session) -> StoryboardGeneration | None:
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

    return find


def _current_image(db: Session, target: _Target, media: str) -> ImageAsset:
    entity = target.entity
    if entity is None:
        raise Invalid("Name a scene or character whose current image to use.")
    if entity.image_asset_id is None:
        raise Invalid(
            f"{entity.name} has no image yet: generate one first, then "
            f"{'edit' if media == 'image' else 'animate'} it."
        )
    asset = db.get(ImageAsset, entity.image_asset_id)
    if asset is None:
        raise Invalid(f"The current image of {entity.name} is gone; generate a new one.")
    return asset


@dataclass(frozen=True)
class _Plan:
    """A checked request: what will be stored and sent, and what it is expected to cost."""

    text: str
    provider: str
    model: str
    params: dict[str, Any]
    estimate: float | None
    upload: assets.PreparedImage | None
    source_asset_id: str | None


def _plan(services: Services, owner_id: str, request: MediaRequest) -> _Plan:
    """Validate everything (reading only): the text, the model, the target and the source."""
    text = check_prompt(services, request.prompt)
    request.check()
    impl, info = resolve_model(
        services, request.media, request.mode, request.provider, request.model
    )
    source = request.source
    upload = _prepare_upload(services, source) if source and source.data is not None else None
    with services.db() as db:
        target = _target(
            db, owner_id, request.storyboard_id, request.entity_id, request.entity_kind
        )
        source_asset: ImageAsset | None = None
        if source is not None and source.asset_id:
            source_asset = _source_asset(db, owner_id, source.asset_id)
        elif request.uses_current_image:
            source_asset = _current_image(db, target, request.media)
    params: dict[str, Any] = {
        "seed": request.seed if request.seed is not None else secrets.randbelow(MAX_SEED + 1)
    }
    quote: ImageRequest | VideoRequest
    if request.media == "image":
        width, height, shape_aspect = IMAGE_SHAPES[target.entity.kind if target.entity else None]
        aspect: str | None = shape_aspect
        if request.mode == "image_to_image":
            picture = upload or source_asset
            if picture is not None:
                width, height = (picture.width or width), (picture.height or height)
            aspect = None
            params["strength"] = float(request.strength)
        params.update(width=width, height=height)
        if aspect:
            params["aspect_ratio"] = aspect
        needs_source = b"source" if request.mode == "image_to_image" else None
        quote = ImageRequest.from_params(request.mode, text, params, source=needs_source)
    else:
        params.update((request.options or VideoOptions()).to_json())
        quote = VideoRequest.from_params(text, params)
    return _Plan(
        text=text,
        provider=impl.name,
        model=info.id,
        params=params,
        estimate=impl.estimate_cost(info.id, quote),
        upload=upload,
        source_asset_id=source_asset.id if source_asset is not None else None,
    )


def submit(
    services: Services, owner_id: str, request: MediaRequest, *, idempotency_key: str
) -> StoryboardGeneration:
    """Validate the request, then write its source upload, its row and its job together. The
    same idempotency key returns what the first submission made."""
    job_key = submissions.job_key(request.job_kind, owner_id, idempotency_key)

    def create() -> StoryboardGeneration:
        plan = _plan(services, owner_id, request)
        bucket = services.settings.storyboard_images_bucket
        # Bytes first (content-addressed: a rollback leaves a file the next upload of the same
        # bytes reuses), then the rows.
        stored = (
            assets.store_prepared(services.storage, plan.upload, bucket) if plan.upload else None
        )
        with services.db() as db:
            target = _target(
                db, owner_id, request.storyboard_id, request.entity_id, request.entity_kind
            )
            limits.check(db, services.settings, owner_id, plan.estimate)
            source_id = plan.source_asset_id
            if plan.upload is not None and stored is not None:
                row = assets.asset_row(
                    plan.upload,
                    key=stored[0],
                    thumbnail_key=stored[1],
                    owner_id=owner_id,
                    role="input",
                    bucket=bucket,
                    storage_name=services.storage.name,
                )
                db.add(row)
                db.flush()
                source_id = row.id
            gen = StoryboardGeneration(
                owner_id=owner_id,
                storyboard_id=target.storyboard.id if target.storyboard else None,
                entity_id=target.entity.id if target.entity else None,
                media=request.media,
                mode=request.mode,
                provider=plan.provider,
                model=plan.model,
                prompt=plan.text,
                params=plan.params,
                source_asset_id=source_id,
                cost_estimate=plan.estimate,
            )
            db.add(gen)
            db.flush()
            job = services.queue.enqueue(
                request.job_kind,
                {"generation_id": gen.id},
                db=db,
                idempotency_key=job_key,
                owner_id=owner_id,
                label=_label(request.mode, target, plan.text),
                cost_estimate=plan.estimate,
                provider=plan.provider,
                new_only=True,
            )
            gen.job_id = job.id
            search.index_request(db, gen)
            if target.storyboard is not None:
                target.storyboard.updated_at = utcnow()
            db.flush()
            db.expunge(gen)
        return gen

    return submissions.submit_once(
        services,
        replay=_replay(owner_id, job_key),
        create=create,
        gone="This request was already made and no longer exists; make it again.",
    )


def request_image(
    services: Services, owner_id: str, *, idempotency_key: str, **fields: Any
) -> StoryboardGeneration:
    """Queue a text-to-image for an entity (or a storyboard, or nothing: a loose image).
    `fields`: those of MediaRequest."""
    request = MediaRequest("text_to_image", **fields)
    return submit(services, owner_id, request, idempotency_key=idempotency_key)


def request_edit(
    services: Services, owner_id: str, *, idempotency_key: str, **fields: Any
) -> StoryboardGeneration:
    """Queue an image-to-image: from `source`, else from the entity's current image."""
    request = MediaRequest("image_to_image", **fields)
    return submit(services, owner_id, request, idempotency_key=idempotency_key)


def request_video(
    services: Services, owner_id: str, *, idempotency_key: str, **fields: Any
) -> StoryboardGeneration:
    """Queue a text-to-video, or an image-to-video when `source` is given."""
    mode = "image_to_video" if fields.get("source") is not None else "text_to_video"
    request = MediaRequest(mode, **fields)
    return submit(services, owner_id, request, idempotency_key=idempotency_key)


def request_animate(
    services: Services, owner_id: str, *, idempotency_key: str, **fields: Any
) -> StoryboardGeneration:
    """Queue an image-to-video from the entity's current image."""
    request = MediaRequest("image_to_video", **fields)
    return submit(services, owner_id, request, idempotency_key=idempotency_key)
