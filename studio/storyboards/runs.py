"""Images for the whole storyboard at once: one exclusive job per storyboard covering every
scene and character, and clearing it when it is stuck."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.schema import Job, StoryboardEntity, StoryboardGeneration
from db.types import utcnow
from studio import limits, search, submissions
from studio.errors import Conflict, InProgress, Invalid, NotFound
from studio.jobs.admin import Actor
from studio.providers.base import ImageRequest
from studio.storyboards.ownership import owned_storyboard
from studio.storyboards.params import IMAGE_JOB, IMAGE_SHAPES, MAX_SEED, resolve_model
from studio.text import check_text

if TYPE_CHECKING:
    from studio.services import Services


def exclusive_key(storyboard_id: str) -> str:
    """The concurrency key of "generate images for the whole storyboard"."""
    return f"storyboard-images:{storyboard_id}"


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
    job_key = submissions.job_key(
        IMAGE_JOB, owner_id, f"storyboard:{storyboard_id}:{idempotency_key}"
    )

    def create() -> Job:
        clean_style = check_text(style, what="style", limit=services.settings.max_prompt_chars)
        impl, info = resolve_model(services, "image", "text_to_image", provider, model)
        with services.db() as db:
            board = owned_storyboard(db, owner_id, storyboard_id, lock=True)
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
                text = entity_prompt(entity, clean_style)[: services.settings.max_prompt_chars]
                request = ImageRequest(
                    mode="text_to_image",
                    prompt=text,
                    width=width,
                    height=height,
                    aspect_ratio=aspect,
                )
                estimates.append(impl.estimate_cost(info.id, request))
                gens.append(
                    StoryboardGeneration(
                        owner_id=owner_id,
                        storyboard_id=board.id,
                        entity_id=entity.id,
                        media="image",
                        mode="text_to_image",
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
            limits.check(db, services.settings, owner_id, total)
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
                provider=impl.name,
                new_only=True,
            )
            for gen in gens:
                gen.job_id = job.id
                search.index_request(db, gen)
            board.updated_at = utcnow()
            db.flush()
        return job

    return submissions.submit_once(
        services,
        replay=_job_by_key(owner_id, job_key),
        create=create,
        gone="This run was already asked for and no longer exists; ask again.",
        raced=(InProgress,),
    )


def _job_by_key(owner_id: str, job_key: str) -> Callable[[Session], Job | None]:
    """Finds the job an earlier submission with this key made."""

    def find(db: Session) -> Job | None:
        job = db.scalar(
            sa.select(Job).where(Job.idempotency_key == job_key, Job.owner_id == owner_id)
        )
        if job is not None:
            db.expunge(job)
        return job

    return find


def clear_storyboard_job(services: Services, owner_id: str, storyboard_id: str, job_id: str) -> str:
    """The "clear stuck job" offer: fail a running whole-storyboard job (revoking its lease),
    or cancel a queued one. Returns what happened: 'cleared' or 'canceled'."""
    with services.db() as db:
        board = owned_storyboard(db, owner_id, storyboard_id)
        job = db.get(Job, job_id)
        if job is None or job.concurrency_key != exclusive_key(board.id):
            raise NotFound("That job is not this storyboard's.")
        status = job.status
    if status == "running":
        services.queue.clear(
            job_id, reason="Cleared by its owner: the job was stuck.", actor=Actor(owner_id)
        )
        return "cleared"
    if status == "pending":
        services.queue.cancel(job_id, actor=Actor(owner_id))
        return "canceled"
    raise Conflict(f"That job is already {status}; there is nothing to clear.")
