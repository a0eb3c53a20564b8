"""The parameter form of a step: its values, their checks, the model, the title."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from studio.errors import Invalid
from studio.model_choices import resolve_model
from studio.providers.base import ImageRequest, ModelInfo, Provider
from studio.text import check_text

if TYPE_CHECKING:
    from studio.services import Services

JOB_KIND = "session_generation"
MIN_SIDE, MAX_SIDE, SIDE_MULTIPLE = 64, 4096, 8
MAX_IMAGES = 4
MAX_SEED = 2**31 - 1
MAX_STEPS = 150
MAX_GUIDANCE = 30.0
TITLE_CHARS = 60


@dataclass(frozen=True)
class GenerationParams:
    """What the parameter form submits. `seed=None` means "pick one" (the pick is recorded)."""

    prompt: str
    negative_prompt: str | None = None
    provider: str = "local"
    model: str = "sketch"
    width: int = 1024
    height: int = 1024
    seed: int | None = None
    steps: int | None = None
    guidance: float | None = None
    strength: float = 0.6
    n: int = 1
    quality: str | None = None
    aspect_ratio: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The `params` column: every set value except prompt, provider and model."""
        skip = {"prompt", "negative_prompt", "provider", "model"}
        return {
            k: v for k, v in dataclasses.asdict(self).items() if k not in skip and v is not None
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], **overrides: Any) -> GenerationParams:
        """Build from a dict (a generation's params, or parameters embedded in a PNG); unknown
        keys are ignored and sizes are snapped into the range the form accepts."""
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names and v is not None}
        values.update(overrides)
        for side in ("width", "height"):
            if isinstance(values.get(side), int | float):
                values[side] = snap_side(int(values[side]))
        values.setdefault("prompt", "")
        return cls(**values)


def snap_side(value: int) -> int:
    """The nearest side the form accepts (64..4096, a multiple of 8)."""
    clamped = min(MAX_SIDE, max(MIN_SIDE, value))
    return min(MAX_SIDE, max(MIN_SIDE, round(clamped / SIDE_MULTIPLE) * SIDE_MULTIPLE))


def random_seed() -> int:
    return secrets.randbelow(MAX_SEED + 1)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _check_text(params: GenerationParams, limit: int) -> tuple[str, str | None]:
    prompt = check_text(
        params.prompt, what="prompt", limit=limit, multiline=True, empty="Write a prompt first."
    )
    negative = check_text(
        params.negative_prompt, what="negative prompt", limit=limit, multiline=True
    )
    return prompt, negative or None


def _check_numbers(p: GenerationParams) -> None:
    for name, value in (("Width", p.width), ("Height", p.height)):
        if not _is_int(value) or not MIN_SIDE <= value <= MAX_SIDE:
            raise Invalid(f"{name} must be {MIN_SIDE} to {MAX_SIDE} pixels (got {value}).")
        if value % SIDE_MULTIPLE:
            raise Invalid(f"{name} must be a multiple of {SIDE_MULTIPLE} pixels (got {value}).")
    if p.seed is not None and (not _is_int(p.seed) or not 0 <= p.seed <= MAX_SEED):
        raise Invalid(f"The seed must be a whole number from 0 to {MAX_SEED:,} (got {p.seed}).")
    if p.steps is not None and (not _is_int(p.steps) or not 1 <= p.steps <= MAX_STEPS):
        raise Invalid(f"Steps must be 1 to {MAX_STEPS} (got {p.steps}).")
    if p.guidance is not None and (
        not _is_number(p.guidance) or not 0 <= p.guidance <= MAX_GUIDANCE
    ):
        raise Invalid(f"Guidance must be between 0 and {MAX_GUIDANCE:g} (got {p.guidance}).")
    if not _is_number(p.strength) or not 0 <= p.strength <= 1:
        raise Invalid(f"Strength must be between 0 and 1 (got {p.strength}).")
    if not _is_int(p.n) or not 1 <= p.n <= MAX_IMAGES:
        raise Invalid(f"Make 1 to {MAX_IMAGES} images at a time (got {p.n}).")
    for name, text in (("Quality", p.quality), ("Aspect ratio", p.aspect_ratio)):
        if text is not None and (not isinstance(text, str) or len(text) > 40):
            raise Invalid(f"{name} must be a short text (got {text!r}).")


@dataclass(frozen=True)
class CheckedParams:
    params: GenerationParams  # prompt trimmed, seed chosen
    provider: Provider
    model: ModelInfo
    mode: str


def check_params(
    services: Services, params: GenerationParams, mode: str = "text_to_image"
) -> CheckedParams:
    """Validate the form for `mode`; raises Invalid with a message for the person."""
    prompt, negative = _check_text(params, services.settings.max_prompt_chars)
    _check_numbers(params)
    provider, info = resolve_model(
        services.providers, kind="image", mode=mode, provider=params.provider, model=params.model
    )
    seed = params.seed if params.seed is not None else random_seed()
    clean = dataclasses.replace(params, prompt=prompt, negative_prompt=negative, seed=seed)
    return CheckedParams(clean, provider, info, mode)


def estimate_cost(checked: CheckedParams) -> float | None:
    """What the step is expected to cost, as its provider prices what will be sent."""
    p = checked.params
    request = ImageRequest.from_params(
        checked.mode, p.prompt, p.to_json(), negative_prompt=p.negative_prompt
    )
    return checked.provider.estimate_cost(p.model, request)


def title_from_prompt(prompt: str, limit: int = TITLE_CHARS) -> str:
    """A one-line title: the prompt's first ~60 characters, cut at a word, with an ellipsis."""
    text = " ".join((prompt or "").split())
    if not text:
        return "Untitled"
    if len(text) <= limit:
        return text
    cut = text[: limit + 1]
    space = cut.rfind(" ")
    head = cut[:space] if space >= limit // 2 else text[:limit]
    return head.rstrip(" ,.;:-–—") + "…"
