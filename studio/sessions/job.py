"""The `session_generation` job: render one step of an image session.

Stages: processing (load the step and its input/mask, mark it running) → generating (the
provider call; inpainting is always composited so pixels outside the mask stay the source's) →
uploading (store the bytes) → one transaction writing the output rows, the step's outcome (when,
how long, what it cost), the session's thumbnail, the usage ledger row and the job's completion.
A cancel request is honoured at each stage boundary. The step's state is its job's (see
studio/jobs/work.py): nothing here copies a status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import ImageAsset, ImageGeneration, ImageSession
from db.types import utcnow
from studio import assets, imaging
from studio.errors import Invalid, NotFound
from studio.jobs import outputs
from studio.jobs.kinds import JobContext, JobKind
from studio.jobs.queue import ClaimedJob
from studio.providers.base import ImageRequest, ImageResult, Provider
from studio.sessions import costs
from studio.sessions.create import copy_asset

if TYPE_CHECKING:
    from studio.services import Services

KIND = "session_generation"
GONE = "This step was deleted; there is nothing to generate."


@dataclass
class _Work:
    """Everything the provider call needs, loaded in the processing stage."""

    generation_id: str
    session_id: str
    owner_id: str
    provider_name: str
    model: str
    request: ImageRequest


def _generation_id(job: ClaimedJob) -> str:
    gid = (job.payload or {}).get("generation_id")
    if not gid:
        raise NotFound("The job names no step to generate.")
    return str(gid)


def _load(ctx: JobContext) -> _Work:
    """Processing: note when this attempt started, then read the step's input/mask bytes."""
    services = ctx.services
    gid = _generation_id(ctx.job)
    with services.db() as db:
        row = db.execute(
            sa.select(ImageGeneration, ImageSession.owner_id)
            .join(ImageSession, ImageSession.id == ImageGeneration.session_id)
            .where(ImageGeneration.id == gid)
        ).first()
        if row is None:
            raise NotFound(GONE)
        gen, owner_id = row
        inputs = db.scalars(
            sa.select(ImageAsset)
            .where(ImageAsset.generation_id == gid, ImageAsset.role.in_(("input", "mask")))
            .order_by(ImageAsset.created_at, ImageAsset.id)
        ).all()
        if gen.mode != "text_to_image" and not any(a.role == "input" for a in inputs):
            inputs = [*inputs, _attach_source(db, gen)]
        gen.started_at = utcnow()
        ctx.annotate(session_id=gen.session_id, step=gen.step)  # in this job's log events
    by_role = {a.role: a for a in reversed(inputs)}  # the first of each role
    source = assets.read_bytes(services.storage, by_role["input"]) if "input" in by_role else None
    mask = assets.read_bytes(services.storage, by_role["mask"]) if "mask" in by_role else None
    if source is not None and mask is not None:
        mask = imaging.fit_mask(mask, source)
    request = ImageRequest.from_params(
        gen.mode,
        gen.prompt,
        gen.params or {},
        negative_prompt=gen.negative_prompt,
        source=source,
        mask=mask,
    )
    return _Work(gid, gen.session_id, owner_id, gen.provider, gen.model, request)


def _attach_source(db: Session, gen: ImageGeneration) -> ImageAsset:
    """A step queued before its parent had an image (a replayed branch) starts from its
    parent's output, or, when the parent produced none (skipped), the nearest earlier one."""
    parent_id = gen.parent_generation_id
    while parent_id is not None:
        parent = db.get(ImageGeneration, parent_id)
        if parent is None:
            break
        out = db.scalars(
            sa.select(ImageAsset)
            .where(ImageAsset.generation_id == parent.id, ImageAsset.role == "output")
            .order_by(ImageAsset.created_at, ImageAsset.id)
            .limit(1)
        ).first()
        if out is not None:
            row = copy_asset(out, role="input", generation_id=gen.id, session_id=gen.session_id)
            db.add(row)
            db.flush()
            return row
        parent_id = parent.parent_generation_id
    raise Invalid(f"Step {gen.step} has no image to start from: the steps before it made none.")


def _generate(provider: Provider, work: _Work) -> ImageResult:
    """Generating: the provider call, then the inpainting guarantee."""
    request = work.request
    result = provider.generate_image(work.model, request)
    result.require_images(work.provider_name)
    if request.mode == "inpaint" and request.source is not None and request.mask is not None:
        # Whatever the provider did outside the mask, those pixels are the source's.
        result.images = [
            imaging.composite(request.source, img, request.mask) for img in result.images
        ]
    return result


def _mask_integrity(request: ImageRequest, images: list[bytes]) -> int | None:
    """Inpainting: the most pixels outside the mask any output changed (None otherwise)."""
    if request.mode != "inpaint" or request.source is None or request.mask is None:
        return None
    return max(
        (imaging.changed_outside(request.source, img, request.mask) for img in images),
        default=0,
    )


def _store(services: Services, images: list[bytes]) -> list[outputs.StoredOutput]:
    """Uploading: validate and store every output (bytes before any row)."""
    bucket = services.settings.sessions_bucket
    return [outputs.store_image(services, data, bucket) for data in images]


def _commit(
    ctx: JobContext,
    work: _Work,
    result: ImageResult,
    stored: list[outputs.StoredOutput],
) -> dict[str, Any]:
    """One transaction: outputs, the step's outcome, the thumbnail, the ledger, the job."""
    services = ctx.services
    with services.db() as db:
        gen = db.get(ImageGeneration, work.generation_id, with_for_update=True)
        session = db.get(ImageSession, work.session_id)
        if gen is None or session is None:
            raise NotFound(GONE)
        rows = [
            output.row(work.owner_id, session_id=session.id, generation_id=gen.id)
            for output in stored
        ]
        db.add_all(rows)
        db.flush()
        now = utcnow()
        gen.completed_at = now
        gen.duration_ms = (
            int((now - gen.started_at).total_seconds() * 1000) if gen.started_at else None
        )
        gen.cost_actual = result.cost_actual  # None: the estimate stands, shown as an estimate
        gen.mask_outside_changed = _mask_integrity(work.request, result.images)
        costs.settle_step(db, session, gen)
        session.thumbnail_asset_id = rows[-1].id
        session.updated_at = now
        outcome = {
            "generation_id": gen.id,
            "asset_ids": [r.id for r in rows],
            "text": result.text,
            "provider_request_id": result.provider_request_id,
        }
        charge = outputs.Charge.of(
            result,
            owner_id=work.owner_id,
            provider=gen.provider,
            model=gen.model,
            units=float(len(rows)),
            estimate=gen.cost_estimate,
        )
        return outputs.settle(ctx, db, outcome, charge)


def run(ctx: JobContext) -> dict[str, Any]:
    """Render the step named by the job's payload."""
    ctx.heartbeat()  # the claim already entered "processing": just check for a cancel
    work = _load(ctx)
    provider = ctx.services.provider(work.provider_name)
    ctx.stage("generating")
    with ctx.keep_alive():  # a real provider call can outlast the lease
        result = _generate(provider, work)
    ctx.stage("uploading")
    stored = _store(ctx.services, result.images)
    return _commit(ctx, work, result, stored)


SESSION_GENERATION = JobKind(KIND, run, "Session step")
