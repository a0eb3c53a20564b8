"""The options and checks of a request, the limits of names and texts, and choosing the
provider and model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from studio.errors import Invalid
from studio.jobs import work
from studio.model_choices import ModelChoice
from studio.model_choices import model_choices as priced_model_choices
from studio.model_choices import resolve_model as shared_resolve_model
from studio.providers.base import ModelInfo, Provider, mode_label
from studio.text import MAX_NAME_CHARS, MAX_TITLE_CHARS, check_text

if TYPE_CHECKING:
    from studio.services import Services

IMAGE_JOB = "storyboard_image"
VIDEO_JOB = "storyboard_video"
KINDS = ("scene", "character")
ASPECT_RATIOS = ("16:9", "9:16")
DURATIONS = (4, 6, 8)
RESOLUTIONS = ("720p", "1080p")
MAX_DESCRIPTION_CHARS = 4000
MAX_SEED = 2**31 - 1
DEFAULT_STRENGTH = 0.6
ACTIVE = work.ACTIVE
# Preferred models when Google is configured (the source system used these two).
GOOGLE_IMAGE_MODEL = "gemini-2.5-flash-image"
GOOGLE_VIDEO_MODEL = "veo-3.1-fast-generate-preview"
# Image size per entity kind (None: work enqueued without an entity).
IMAGE_SHAPES: dict[str | None, tuple[int, int, str]] = {
    "scene": (1024, 576, "16:9"),
    "character": (768, 1024, "3:4"),
    None: (1024, 1024, "1:1"),
}


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


def check_prompt(services: Services, prompt: str | None) -> str:
    return check_text(
        prompt,
        what="prompt",
        limit=services.settings.max_prompt_chars,
        multiline=True,
        empty="Write a prompt first.",
    )


def check_title(title: str | None) -> str:
    return check_text(
        title, what="title", limit=MAX_TITLE_CHARS, empty="Give the storyboard a title."
    )


def check_entity_text(kind: str, name: str | None, description: str | None) -> tuple[str, str]:
    what = "scene" if kind == "scene" else "character"
    clean = check_text(name, what="name", limit=MAX_NAME_CHARS, empty=f"Give the {what} a name.")
    text = check_text(description, what="description", limit=MAX_DESCRIPTION_CHARS, multiline=True)
    return clean, text


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise Invalid(f"An entity is a scene or a character (got {kind!r}).")
    return kind


# ---------------------------------------------------------------------------------------------
# Providers and models
# ---------------------------------------------------------------------------------------------


def model_choices(services: Services, media: str, mode: str) -> list[ModelChoice]:
    """Every switched-on model that makes `media` in `mode` (priced, as the pickers show them),
    the storyboard default first: Google's when configured, then the studio's default."""
    found, _ = priced_model_choices(services.providers, kind=media, mode=mode)
    preferred = GOOGLE_IMAGE_MODEL if media == "image" else GOOGLE_VIDEO_MODEL
    default_provider = services.settings.default_provider

    def rank(choice: ModelChoice) -> tuple[int, int]:
        if choice.provider == "google":
            return (0, 0 if choice.model == preferred else 1)
        if choice.provider == default_provider:
            return (1, 0)
        return (2 if choice.provider == "local" else 3, 0)

    return sorted(found, key=rank)


def resolve_model(
    services: Services, media: str, mode: str, provider: str | None, model: str | None
) -> tuple[Provider, ModelInfo]:
    """The provider and model to use: the given ones (checked), or the storyboard default for
    the mode (Google's preferred model when configured, then the studio's default provider)."""
    if provider is None:
        choices = [
            c for c in model_choices(services, media, mode) if model is None or c.model == model
        ]
        if not choices:
            if model is not None:
                raise Invalid(f"No switched-on provider offers the model {model!r} for this.")
            raise Invalid(f"No switched-on provider can make {mode_label(mode, article=True)}.")
        provider, model = choices[0].provider, choices[0].model
    preferred = GOOGLE_IMAGE_MODEL if media == "image" else GOOGLE_VIDEO_MODEL
    return shared_resolve_model(
        services.providers,
        kind=media,
        mode=mode,
        provider=provider,
        model=model,
        preferred_model=preferred,
    )
