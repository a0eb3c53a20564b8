"""Making steps: a new session, iterating from any image, regenerating; each submission is
idempotent and checked against the owner's limits before anything is stored."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import ImageAsset, ImageGeneration, ImageSession, Job
from db.types import utcnow
from studio import assets, imaging, limits, search, submissions
from studio.errors import Invalid, NotFound
from studio.sessions import tree
from studio.sessions.ownership import assets_of, owned_generation, owned_session
from studio.sessions.params import (
    JOB_KIND,
    CheckedParams,
    GenerationParams,
    check_params,
    estimate_cost,
    title_from_prompt,
)
from studio.sessions.reads import current_state, status_words

if TYPE_CHECKING:
    from studio.services import Services


_GONE = "This form was already submitted and its step no longer exists; submit it again."


def made_by_submission(
    owner_id: str, job_key: str
) -> Callable[[Session], tuple[ImageGeneration, ImageSession] | None]:
    """Finds the step (and its session) an earlier submission with this key made."""

    def find(db: Session) -> tuple[ImageGeneration, ImageSession] | None:
        row = db.execute(
            sa.select(ImageGeneration, ImageSession)
            .join(Job, Job.id == ImageGeneration.job_id)
            .join(ImageSession, ImageSession.id == ImageGeneration.session_id)
            .where(
                Job.idempotency_key == job_key,
                ImageSession.owner_id == owner_id,
                ImageSession.deleted_at.is_(None),  # a deleted step "no longer exists"
                ImageGeneration.deleted_at.is_(None),
            )
        ).first()
        return (row[0], row[1]) if row is not None else None

    return find


def _next_step(db: Session, session_id: str) -> int:
    top = db.scalar(
        sa.select(sa.func.max(ImageGeneration.step)).where(ImageGeneration.session_id == session_id)
    )
    return int(top or 0) + 1


def add_generation(
    db: Session,
    services: Services,
    session: ImageSession,
    checked: CheckedParams,
    *,
    job_key: str,
    parent_id: str | None,
    params: dict[str, Any],
    order: tuple[str, int] | None = None,
    label: str | None = None,
) -> ImageGeneration:
    """Insert the generation and enqueue its job; raises DuplicateKey if the key was just taken.
    `order`: (concurrency key, sequence) of a run of steps that must run one after another, in
    order, a failure holding the rest (a replayed branch; its caller checked the limits)."""
    estimate = estimate_cost(checked)
    if order is None:
        limits.check(db, services.settings, session.owner_id, estimate, what="step")
    p = checked.params
    step = _next_step(db, session.id)
    gen = ImageGeneration(
        session_id=session.id,
        parent_generation_id=parent_id,
        step=step,
        tree_key=tree.key_for(db, parent_id, step),
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
        label=f"Step {gen.step} · {label or session.title}"[:300],
        cost_estimate=estimate,
        provider=p.provider,
        new_only=True,
        concurrency_key=order[0] if order else None,
        ordered=order is not None,
        sequence=order[1] if order else 0,
    )
    gen.job_id = job.id
    search.index_step(db, gen, session.owner_id)
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
    job_key = submissions.job_key(JOB_KIND, owner_id, idempotency_key)

    def create() -> tuple[ImageGeneration, ImageSession]:
        checked = check_params(services, params, "text_to_image")
        with services.db() as db:
            session = ImageSession(
                owner_id=owner_id,
                title=title_from_prompt(checked.params.prompt),
                provider=checked.params.provider,
                model=checked.params.model,
            )
            db.add(session)
            db.flush()
            gen = add_generation(
                db,
                services,
                session,
                checked,
                job_key=job_key,
                parent_id=None,
                params=checked.params.to_json(),
            )
        return gen, session

    gen, session = submissions.submit_once(
        services, replay=made_by_submission(owner_id, job_key), create=create, gone=_GONE
    )
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
        raise NotFound("That step is not part of this session.")  # missing, or elsewhere
    if parent.completed_at is None:
        status = current_state(db, parent).status
        raise Invalid(
            f"You can only iterate from a finished image; step {parent.step} {status_words(status)}."
        )
    outputs = assets_of(db, parent.id, ("output",))
    if not outputs:
        raise Invalid(f"Step {parent.step} has no image to iterate from.")
    out = outputs[0]
    return _Source(out.width or 0, out.height or 0, parent=parent, parent_output=out)


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


def copy_asset(asset: ImageAsset, *, role: str, generation_id: str, session_id: str) -> ImageAsset:
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
            copy_asset(
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
    job_key = submissions.job_key(JOB_KIND, owner_id, idempotency_key)

    def create() -> tuple[ImageGeneration, ImageSession]:
        image_limits = imaging.ImageLimits.from_settings(services.settings)
        upload = (
            assets.prepare_image(input_image, image_limits) if input_image is not None else None
        )
        with services.db() as db:
            session = owned_session(db, owner_id, session_id, lock=True)
            if upload is not None:
                source = _Source(upload.width, upload.height, upload=upload)
            elif parent_generation_id:
                source = _parent_source(db, session.id, parent_generation_id)
            else:
                raise Invalid("Choose an image to iterate from, or upload one.")
            mask_png = _prepare_mask(services, source, mask, mask_canvas)
            mode = "inpaint" if mask_png else "image_to_image"
            checked = _sized(check_params(services, params, mode), source)
            gen = add_generation(
                db,
                services,
                session,
                checked,
                job_key=job_key,
                parent_id=source.parent.id if source.parent else None,
                params=checked.params.to_json(),
            )
            _attach_inputs(db, services, gen, owner_id, source, mask_png)
        return gen, session

    gen, _ = submissions.submit_once(
        services, replay=made_by_submission(owner_id, job_key), create=create, gone=_GONE
    )
    return gen


def regenerate(
    services: Services, owner_id: str, generation_id: str, *, idempotency_key: str
) -> ImageGeneration:
    """The same step again (same prompt, parameters, parent, input and mask) with a new seed."""
    job_key = submissions.job_key(JOB_KIND, owner_id, idempotency_key)

    def create() -> tuple[ImageGeneration, ImageSession]:
        with services.db() as db:
            original, session = owned_generation(db, owner_id, generation_id)
            session = owned_session(db, owner_id, session.id, lock=True)
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
            gen = add_generation(
                db,
                services,
                session,
                checked,
                job_key=job_key,
                parent_id=original.parent_generation_id,
                params=stored,
            )
            for asset in assets_of(db, original.id, ("input", "mask")):
                db.add(
                    copy_asset(asset, role=asset.role, generation_id=gen.id, session_id=session.id)
                )
            db.flush()
        return gen, session

    gen, _ = submissions.submit_once(
        services, replay=made_by_submission(owner_id, job_key), create=create, gone=_GONE
    )
    return gen
