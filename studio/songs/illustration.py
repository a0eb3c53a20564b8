"""What every verse illustration job shares: its kind, the song's concurrency key, its label,
the provider a new song uses, and the request shape (16:9)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from db.schema import SongGenerationVerseArtifact
from studio.model_choices import resolve_model
from studio.providers.base import ImageRequest

if TYPE_CHECKING:
    from studio.services import Services

JOB_KIND = "verse_illustration"
LABEL_TITLE_CHARS = 60

# Illustrations are 16:9; the offline renderer draws them at this size.
ILLUSTRATION_WIDTH, ILLUSTRATION_HEIGHT, ILLUSTRATION_ASPECT = 1024, 576, "16:9"
OFFLINE_PROVIDER, OFFLINE_MODEL = "local", "sketch"


def song_key(song_id: str) -> str:
    """The concurrency key shared by the verse jobs of one song."""
    return f"song:{song_id}"


def verse_label(number: int, title: str) -> str:
    short = title if len(title) <= LABEL_TITLE_CHARS else title[: LABEL_TITLE_CHARS - 1] + "…"
    return f"Verse {number} · {short}"


def choose_provider(services: Services) -> tuple[str, str]:
    """(provider, model) for a song's new conversation: OpenRouter's configured model when
    OpenRouter is on, otherwise the offline renderer (checked like any request's model)."""
    on = {s.name for s in services.providers if s.available}
    provider, model = (
        ("openrouter", services.settings.openrouter_model)
        if "openrouter" in on
        else (OFFLINE_PROVIDER, OFFLINE_MODEL)
    )
    impl, info = resolve_model(
        services.providers, kind="image", mode="text_to_image", provider=provider, model=model
    )
    return impl.name, info.id


def illustration_request(prompt: str, **kw: Any) -> ImageRequest:
    """The request shape of every verse illustration (16:9)."""
    return ImageRequest(
        mode="text_to_image",
        prompt=prompt,
        width=ILLUSTRATION_WIDTH,
        height=ILLUSTRATION_HEIGHT,
        aspect_ratio=ILLUSTRATION_ASPECT,
        **kw,
    )


def artifact_rank() -> sa.Label[int]:
    """`rank` 1 for the newest artifact of each verse (a requeued verse has several)."""
    artifact = SongGenerationVerseArtifact
    return (
        sa.func.row_number()
        .over(
            partition_by=artifact.verse_id,
            order_by=(artifact.created_at.desc(), artifact.id.desc()),
        )
        .label("rank")
    )
