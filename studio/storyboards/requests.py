"""Requests for one image or video: image, edit, video and animate. Each is one
`StoryboardGeneration` row plus one queued job, written in one transaction after everything was
validated; the same idempotency key returns what the first request made."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import ImageAsset, Job, Storyboard, StoryboardEntity, StoryboardGeneration
from db.types import utcnow
from studio import assets, imaging, limits
from studio.errors import Conflict, Invalid, NotFound
from studio.jobs.queue import DuplicateKey
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

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


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
            raise Invalid(
                "A source must be an image file or an asset id, not a URL: download "
                "the image and give its path."
            )
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


def owner_job_key(kind: str, owner_id: str, idempotency_key: str) -> str:
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


def _label(media: str, mode: str, target: _Target, prompt: str) -> str:
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
    job_key = owner_job_key(kind, owner_id, idempotency_key)
    found = _replay(services, owner_id, job_key)
    if found is not None:
        return found
    text = check_prompt(services, prompt)
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED
    ):
        raise Invalid(f"The seed must be a whole number from 0 to {MAX_SEED:,} (got {seed}).")
    if not isinstance(strength, int | float) or not 0 <= strength <= 1:
        raise Invalid(f"Strength must be between 0 and 1 (got {strength}).")
    impl, info = resolve_model(services, media, mode, provider, model)
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
            limits.check(db, services.settings, owner_id, estimate)
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
                new_only=True,
            )
            gen.job_id = job.id
            if target.storyboard is not None:
                target.storyboard.updated_at = utcnow()
            db.flush()
            db.expunge(gen)
    except DuplicateKey:
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
        services,
        owner_id,
        media="image",
        mode="text_to_image",
        prompt=prompt,
        storyboard_id=storyboard_id,
        entity_id=entity_id,
        entity_kind=entity_kind,
        source=None,
        use_current_image=False,
        options=None,
        provider=provider,
        model=model,
        strength=DEFAULT_STRENGTH,
        seed=seed,
        idempotency_key=idempotency_key,
    )


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
        services,
        owner_id,
        media="image",
        mode="image_to_image",
        prompt=prompt,
        storyboard_id=storyboard_id,
        entity_id=entity_id,
        entity_kind=entity_kind,
        source=source,
        use_current_image=source is None,
        options=None,
        provider=provider,
        model=model,
        strength=strength,
        seed=seed,
        idempotency_key=idempotency_key,
    )


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
        services,
        owner_id,
        media="video",
        mode=mode,
        prompt=prompt,
        storyboard_id=storyboard_id,
        entity_id=entity_id,
        entity_kind=entity_kind,
        source=source,
        use_current_image=False,
        options=options,
        provider=provider,
        model=model,
        strength=DEFAULT_STRENGTH,
        seed=seed,
        idempotency_key=idempotency_key,
    )


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
        services,
        owner_id,
        media="video",
        mode="image_to_video",
        prompt=prompt,
        storyboard_id=None,
        entity_id=entity_id,
        entity_kind=None,
        source=None,
        use_current_image=True,
        options=options,
        provider=provider,
        model=model,
        strength=DEFAULT_STRENGTH,
        seed=seed,
        idempotency_key=idempotency_key,
    )
