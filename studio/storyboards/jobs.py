"""The `storyboard_image` and `storyboard_video` jobs.

Stages: processing (load the request and its source image) → generating (the
provider call, with heartbeats from `keep_alive` so a minutes-long Veo operation never loses
its lease; a video's operation name is committed the moment it is submitted, and a job claimed
again after a crash resumes polling it instead of paying for a second video) → uploading (store
the bytes in the storyboard-images / storyboard-videos bucket) → one transaction writing the
asset row, the request's outcome, the entity's current image or video (with its time), the usage
ledger row and the job's completion. A request's state is its job's (studio/jobs/work.py), except
for what only it produced: its output, or its own refusal inside a whole-storyboard job.

A whole-storyboard image job (payload `generation_ids`) renders its entities one after another;
each entity's result commits on its own, under a lease check, so a crash loses at most the entity
in progress and a retry skips the entities already done. A permanent provider refusal of one
entity (or a safety refusal) fails that entity only; temporary errors retry the job.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from db.schema import ImageAsset, StoryboardEntity, StoryboardGeneration
from db.types import utcnow
from studio import assets
from studio.errors import NotFound
from studio.jobs import outputs
from studio.jobs.kinds import JobContext, JobKind
from studio.providers.base import (
    ErrorClass,
    ImageRequest,
    ImageResult,
    ProviderError,
    VideoRequest,
    VideoResult,
)
from studio.storyboards import IMAGE_JOB, VIDEO_JOB

if TYPE_CHECKING:
    from studio.services import Services

GONE = "This request was removed (its scene or character was deleted); there is nothing to do."


@dataclass
class _Work:
    """Everything the provider call needs, loaded in the processing stage."""

    generation_id: str
    owner_id: str
    entity_id: str | None
    media: str
    mode: str
    provider: str
    model: str
    prompt: str
    params: dict[str, Any]
    source: bytes | None
    cost_estimate: float | None


def _load(ctx: JobContext, generation_id: str, *, missing_ok: bool = False) -> _Work | None:
    """Processing: note when this attempt started and read the request's source image.

    None when it is already done or refused (a retried whole-storyboard job), or gone and
    `missing_ok`."""
    services = ctx.services
    with services.db() as db:
        gen = db.get(StoryboardGeneration, generation_id, with_for_update=True)
        if gen is None:
            if missing_ok:
                return None
            raise NotFound(GONE)
        if gen.asset_id is not None or (missing_ok and gen.refusal is not None):
            return None
        source_asset = db.get(ImageAsset, gen.source_asset_id) if gen.source_asset_id else None
        if gen.mode in ("image_to_image", "image_to_video") and source_asset is None:
            raise NotFound("The source image of this request is gone; make the request again.")
        gen.started_at = utcnow()
        ctx.annotate(storyboard_id=gen.storyboard_id, entity_id=gen.entity_id)
        work = _Work(
            gen.id,
            gen.owner_id,
            gen.entity_id,
            gen.media,
            gen.mode,
            gen.provider,
            gen.model,
            gen.prompt,
            dict(gen.params or {}),
            None,
            gen.cost_estimate,
        )
    if source_asset is not None:
        work.source = assets.read_bytes(services.storage, source_asset)
    return work


def _image_request(work: _Work) -> ImageRequest:
    source = work.source if work.mode == "image_to_image" else None
    return ImageRequest.from_params(work.mode, work.prompt, work.params, source=source)


def _video_request(work: _Work) -> VideoRequest:
    source = work.source if work.mode == "image_to_video" else None
    return VideoRequest.from_params(work.prompt, work.params, source=source)


def _throttled_heartbeat(ctx: JobContext) -> Any:
    """A heartbeat for providers that poll (Veo): lets a cancel request stop the polling.
    `keep_alive` already holds the lease; this only adds the cancellation check."""
    every = max(0.5, ctx.queue.lease_seconds / 3)
    last = [time.monotonic()]

    def beat() -> None:
        if time.monotonic() - last[0] >= every:
            last[0] = time.monotonic()
            ctx.heartbeat()

    return beat


# ---------------------------------------------------------------------------------------------
# Images
# ---------------------------------------------------------------------------------------------


def _generate_image(ctx: JobContext, work: _Work) -> ImageResult:
    provider = ctx.services.provider(work.provider)
    with ctx.keep_alive():  # a real provider call can outlast the lease
        result = provider.generate_image(work.model, _image_request(work))
    result.require_images(work.provider)
    return result


def _finish_generation(
    db: Any, work: _Work, asset: ImageAsset, cost_actual: float | None
) -> StoryboardGeneration:
    """The request succeeded: link its output and point the entity at it."""
    gen = db.get(StoryboardGeneration, work.generation_id, with_for_update=True)
    if gen is None:
        raise NotFound(GONE)
    now = utcnow()
    gen.asset_id = asset.id
    gen.completed_at = now
    gen.cost_actual = cost_actual
    gen.refusal = gen.refusal_class = None
    if gen.entity_id is not None:
        entity = db.get(StoryboardEntity, gen.entity_id, with_for_update=True)
        if entity is None:
            raise NotFound(GONE)
        if work.media == "image":
            entity.image_asset_id, entity.image_generated_at = asset.id, now
        else:
            entity.video_asset_id, entity.video_generated_at = asset.id, now
        entity.updated_at = now
    return gen


def _store_image(services: Services, data: bytes) -> outputs.StoredOutput:
    return outputs.store_image(services, data, services.settings.storyboard_images_bucket)


def _add_output(
    db: Any, work: _Work, stored: outputs.StoredOutput, result: ImageResult | VideoResult
) -> ImageAsset:
    """The output's asset row, the request's success and the entity's current image or video."""
    asset = stored.row(work.owner_id)
    db.add(asset)
    db.flush()
    _finish_generation(db, work, asset, result.cost_actual)
    return asset


def _charge(work: _Work, result: ImageResult | VideoResult, *, units: float) -> outputs.Charge:
    return outputs.Charge.of(
        result,
        owner_id=work.owner_id,
        provider=work.provider,
        model=work.model,
        units=units,
        estimate=work.cost_estimate,
    )


def _run_single_image(ctx: JobContext, generation_id: str) -> dict[str, Any]:
    work = _load(ctx, generation_id)
    if work is None:  # already succeeded: the job just needs completing
        return {"generation_id": generation_id, "already_done": True}
    ctx.stage("generating")
    result = _generate_image(ctx, work)
    ctx.stage("uploading")
    stored = _store_image(ctx.services, result.images[0])
    with ctx.services.db() as db:
        asset = _add_output(db, work, stored, result)
        outcome = {
            "generation_id": work.generation_id,
            "asset_id": asset.id,
            "entity_id": work.entity_id,
            "text": result.text,
            "provider_request_id": result.provider_request_id,
        }
        return outputs.settle(ctx, db, outcome, _charge(work, result, units=1.0))


def _refuse_one(services: Services, generation_id: str, err: ProviderError) -> None:
    """One request of a whole-storyboard job was refused: record it on that request alone."""
    with services.db() as db:
        gen = db.get(StoryboardGeneration, generation_id, with_for_update=True)
        if gen is not None:
            gen.refusal, gen.refusal_class = err.message, err.error_class.value


def _run_storyboard(ctx: JobContext, generation_ids: list[str]) -> dict[str, Any]:
    """Every entity of the storyboard, one after another, each committed as it is done."""
    services = ctx.services
    done: list[str] = []
    failed: dict[str, str] = {}
    first = True
    for gid in generation_ids:
        if not first:
            ctx.stage("processing")
        first = False
        work = _load(ctx, gid, missing_ok=True)
        if work is None:
            continue
        ctx.stage("generating")
        try:
            result = _generate_image(ctx, work)
        except ProviderError as err:
            one_entity = err.error_class in (ErrorClass.PERMANENT, ErrorClass.SAFETY)
            if one_entity and len(generation_ids) > 1:
                _refuse_one(services, gid, err)  # one refused prompt does not sink the others
                failed[gid] = err.message
                continue
            raise
        ctx.stage("uploading")
        stored = _store_image(services, result.images[0])
        with services.db() as db:
            services.queue.heartbeat(ctx.job, db=db)  # LeaseLost rolls this entity back
            _add_output(db, work, stored, result)
        done.append(gid)
    with services.db() as db:
        gens = db.scalars(
            sa.select(StoryboardGeneration).where(StoryboardGeneration.id.in_(generation_ids))
        ).all()
        succeeded = [g for g in gens if g.asset_id is not None]
        if gens and not succeeded and failed:
            # Nothing came out at all: fail the job with the provider's reason.
            raise ProviderError(ErrorClass.PERMANENT, next(iter(failed.values())))
        actual = [g.cost_actual for g in succeeded]
        cost = round(sum(c for c in actual if c is not None), 6) if succeeded else 0.0
        outcome = {
            "storyboard_id": (ctx.job.payload or {}).get("storyboard_id"),
            "generation_ids": done,
            "succeeded": len(succeeded),
            "failed": failed,
        }
        if not gens:  # every request was removed: nothing was made, nothing to charge
            ctx.complete(db=db, result=outcome, cost_actual=cost)
            return outcome
        charge = outputs.Charge(
            owner_id=gens[0].owner_id,
            provider=gens[0].provider,
            model=gens[0].model,
            units=float(len(succeeded)),
            estimate=sum(g.cost_estimate or 0.0 for g in gens),
            actual=cost,
            usage={"images": len(succeeded), "failed": len(failed)},
        )
        return outputs.settle(ctx, db, outcome, charge)


def run_image(ctx: JobContext) -> dict[str, Any]:
    """Make the image(s) the job's payload names."""
    ctx.heartbeat()  # the claim already entered "processing": just check for a cancel
    payload = ctx.job.payload or {}
    if payload.get("generation_ids"):
        return _run_storyboard(ctx, [str(g) for g in payload["generation_ids"]])
    gid = payload.get("generation_id")
    if not gid:
        raise NotFound("The job names no request to work on.")
    return _run_single_image(ctx, str(gid))


# ---------------------------------------------------------------------------------------------
# Videos
# ---------------------------------------------------------------------------------------------


def _generate_video(ctx: JobContext, work: _Work) -> tuple[VideoResult, bool]:
    """The video, and whether it came from an operation an earlier attempt started: that one
    is resumed (polled), never submitted again; a new one is stored before any waiting."""
    provider = ctx.services.provider(work.provider)
    request = _video_request(work)
    operation = ctx.resumed_operation
    with ctx.keep_alive():  # Veo takes minutes: heartbeats keep the lease the whole time
        if operation is None:
            operation = provider.start_video(work.model, request)
            ctx.remember_operation(operation)  # committed now: a crash from here on resumes it
        result = provider.finish_video(
            work.model, operation, request, heartbeat=_throttled_heartbeat(ctx)
        )
    result.require_video(work.provider)
    return result, ctx.resumed_operation is not None


def run_video(ctx: JobContext) -> dict[str, Any]:
    """Make the video the job's payload names."""
    ctx.heartbeat()
    gid = (ctx.job.payload or {}).get("generation_id")
    if not gid:
        raise NotFound("The job names no request to work on.")
    services = ctx.services
    work = _load(ctx, str(gid))
    if work is None:
        return {"generation_id": gid, "already_done": True}
    ctx.stage("generating")
    result, resumed = _generate_video(ctx, work)
    ctx.stage("uploading")
    bucket = services.settings.storyboard_videos_bucket
    stored = outputs.store_video(services, result.video, result.mime_type, bucket)
    with services.db() as db:
        asset = _add_output(db, work, stored, result)
        outcome = {
            "generation_id": work.generation_id,
            "asset_id": asset.id,
            "entity_id": work.entity_id,
            "provider_request_id": result.provider_request_id,
            "resumed_provider_operation": resumed,
        }
        units = float(result.usage.get("seconds") or work.params.get("duration_s", 0))
        return outputs.settle(ctx, db, outcome, _charge(work, result, units=units))


STORYBOARD_IMAGE = JobKind(IMAGE_JOB, run_image, "Storyboard image")
STORYBOARD_VIDEO = JobKind(VIDEO_JOB, run_video, "Storyboard video")
