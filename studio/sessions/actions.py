"""Other actions on steps and sessions: duplicate, cancel, delete, rename, download."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import sqlalchemy as sa

from db.schema import ImageAsset, ImageGeneration, ImageSession
from db.types import utcnow
from studio import assets, imaging
from studio.errors import Conflict, Invalid
from studio.jobs.admin import Actor
from studio.sessions.ownership import assets_of, owned_generation, owned_session
from studio.sessions.params import GenerationParams
from studio.sessions.reads import current_state, status_words
from studio.text import MAX_TITLE_CHARS, check_text

if TYPE_CHECKING:
    from studio.services import Services


def duplicate_params(services: Services, owner_id: str, generation_id: str) -> GenerationParams:
    """A step's parameters (seed included) to fill the form with."""
    with services.db() as db:
        gen, _ = owned_generation(db, owner_id, generation_id)
        return GenerationParams.from_mapping(
            gen.params or {},
            prompt=gen.prompt,
            negative_prompt=gen.negative_prompt,
            provider=gen.provider,
            model=gen.model,
        )


def cancel_generation(services: Services, owner_id: str, generation_id: str) -> str:
    """Cancel a step. Queued: canceled at once ('canceled'). Running: its worker is asked to
    stop at the next stage and discard the result ('cancel_requested')."""
    with services.db() as db:
        gen, _ = owned_generation(db, owner_id, generation_id, lock=True)
        state = current_state(db, gen)
        if not state.active or gen.job_id is None:
            raise Invalid(
                f"Step {gen.step} has already {state.status}; there is nothing to cancel."
            )
        try:
            outcome = services.queue.cancel(gen.job_id, actor=Actor(owner_id), db=db)
        except Conflict:  # the job finished a moment ago
            raise Invalid(
                f"Step {gen.step} has just finished; there is nothing to cancel."
            ) from None
        return "canceled" if outcome == "canceled" else "cancel_requested"


def delete_generation(services: Services, owner_id: str, generation_id: str) -> None:
    """Delete a failed or canceled step and its asset rows (files stay: they may be shared)."""
    with services.db() as db:
        gen, session = owned_generation(db, owner_id, generation_id, lock=True)
        status = current_state(db, gen).status
        if status not in ("failed", "canceled"):
            raise Invalid(
                f"Only failed or canceled steps can be deleted; step {gen.step} {status_words(status)}."
            )
        asset_ids = sa.select(ImageAsset.id).where(ImageAsset.generation_id == gen.id)
        if session.thumbnail_asset_id is not None:
            if db.scalar(asset_ids.where(ImageAsset.id == session.thumbnail_asset_id)):
                session.thumbnail_asset_id = None
        db.execute(sa.delete(ImageAsset).where(ImageAsset.generation_id == gen.id))
        db.execute(
            sa.update(ImageGeneration)
            .where(ImageGeneration.parent_generation_id == gen.id)
            .values(parent_generation_id=gen.parent_generation_id)
        )
        db.delete(gen)


def rename_session(services: Services, owner_id: str, session_id: str, title: str) -> ImageSession:
    """Give the session a new title (one line, at most 200 characters)."""
    clean = check_text(
        title, what="title", limit=MAX_TITLE_CHARS, empty="Give the session a title."
    )
    with services.db() as db:
        session = owned_session(db, owner_id, session_id)
        session.title = clean
        session.updated_at = utcnow()
        return session


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:40].rstrip("-") or "image"


def download_bytes(
    services: Services, owner_id: str, generation_id: str, *, index: int = 0
) -> tuple[str, bytes]:
    """(filename, PNG bytes) of a step's output with its parameters embedded."""
    with services.db() as db:
        gen, session = owned_generation(db, owner_id, generation_id)
        outputs = assets_of(db, gen.id, ("output",))
    if not outputs:
        raise Invalid(f"Step {gen.step} has no image to download yet.")
    if not 0 <= index < len(outputs):
        raise Invalid(
            f"Step {gen.step} has {len(outputs)} image(s); there is no image {index + 1}."
        )
    data = assets.read_bytes(services.storage, outputs[index])
    embedded = {
        "prompt": gen.prompt,
        "negative_prompt": gen.negative_prompt,
        "provider": gen.provider,
        "model": gen.model,
        "mode": gen.mode,
        "step": gen.step,
        **(gen.params or {}),
        "session": session.title,
    }
    suffix = f"-{index + 1}" if len(outputs) > 1 else ""
    return f"{_slug(session.title)}-step-{gen.step}{suffix}.png", imaging.embed_parameters(
        data, embedded
    )
