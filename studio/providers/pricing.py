"""The one price table (USD), estimates before a call, and actual cost from token usage.

Prices come from PROVIDERS.md "Prices for estimates"; check them before billing anyone.
Estimates are deliberately a little pessimistic (quality "auto" counts as "high") so that a
daily budget is not overrun by a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from studio.providers.base import ImageRequest, VideoRequest

PER_MILLION = 1_000_000
BASE_PIXELS = 1024 * 1024

# Output image tokens per 1024² image by quality (OpenAI's published GPT-image token counts);
# used only to *estimate* token-priced OpenAI models before the call.
GPT_IMAGE_OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160}
# Input tokens for one 1024² source image (OpenAI vision, high detail).
GPT_IMAGE_INPUT_IMAGE_TOKENS = 765
# Gemini image models answer ≤1024² images with 1290 output tokens each.
GEMINI_IMAGE_OUTPUT_TOKENS = 1290


@dataclass(frozen=True)
class Price:
    """How one model is billed. Exactly one of the groups below is used."""

    per_image: Mapping[str, float] = field(default_factory=dict)  # quality -> USD per 1024² image
    flat_per_image: float | None = None  # USD per image regardless of size
    per_second: float | None = None  # USD per second of video
    text_in_per_m: float = 0.0  # USD per 1M tokens
    image_in_per_m: float = 0.0
    image_out_per_m: float = 0.0
    note: str = ""

    @property
    def token_priced(self) -> bool:
        return self.image_out_per_m > 0


_GPT_IMAGE_2 = Price(
    text_in_per_m=5.0,
    image_in_per_m=8.0,
    image_out_per_m=30.0,
    note="tokens: text in $5, image in $8, image out $30 per 1M",
)
_GEMINI_IMAGE = Price(
    image_out_per_m=30.0, note="$30 per 1M image-output tokens ≈ $0.039 per image"
)

# The one table. Keys are model ids without a router prefix ("google/...").
PRICES: dict[str, Price] = {
    "local": Price(flat_per_image=0.0, per_second=0.0, note="free (offline)"),
    "gpt-image-1-mini": Price(
        per_image={"low": 0.005, "medium": 0.011, "high": 0.036},
        note="1024²: low $0.005, medium $0.011, high $0.036",
    ),
    "gpt-image-1.5": Price(
        per_image={"low": 0.009, "medium": 0.034, "high": 0.133},
        note="1024²: low $0.009, medium $0.034, high $0.133",
    ),
    "gpt-image-2": _GPT_IMAGE_2,
    "gemini-2.5-flash-image": _GEMINI_IMAGE,
    # Not in PROVIDERS.md's table: assumed to cost the same as 2.5 flash image. Check before billing.
    "gemini-3.1-flash-image-preview": _GEMINI_IMAGE,
    "imagen-4.0-fast-generate-001": Price(flat_per_image=0.02, note="$0.02 per image"),
    "imagen-4.0-generate-001": Price(flat_per_image=0.04, note="$0.04 per image"),
    "imagen-4.0-ultra-generate-001": Price(flat_per_image=0.06, note="$0.06 per image"),
    "veo-3.1-generate-preview": Price(per_second=0.40, note="$0.40 per second"),
    "veo-3.1-fast-generate-preview": Price(per_second=0.15, note="about $0.15 per second"),
}


class UnknownPrice(KeyError):
    """No price is known for this model, so no estimate can be made."""


def price_for(provider: str, model: str) -> Price:
    """The table row for `model` ("google/x" and dated snapshots resolve to their family)."""
    if provider == "local":
        return PRICES["local"]
    key = model.split("/", 1)[1] if "/" in model else model
    if key in PRICES:
        return PRICES[key]
    if key.startswith("gpt-image-2"):  # gpt-image-2-2026-04-21, gpt-image-2.5-*, ...
        return _GPT_IMAGE_2
    raise UnknownPrice(f"No price is known for {provider} model {model!r}.")


def price_note(provider: str, model: str) -> str:
    try:
        return price_for(provider, model).note
    except UnknownPrice:
        return "price unknown"


def _area_factor(width: int, height: int) -> float:
    return max(width * height, 1) / BASE_PIXELS


def _quality(request: ImageRequest) -> str:
    return request.quality if request.quality in GPT_IMAGE_OUTPUT_TOKENS else "high"


def estimate(provider: str, model: str, request: ImageRequest | VideoRequest) -> float:
    """USD this call is expected to cost, before making it."""
    price = price_for(provider, model)
    if isinstance(request, VideoRequest):
        return round((price.per_second or 0.0) * request.duration_s, 6)
    n = max(request.n, 1)
    if price.flat_per_image is not None:
        return round(price.flat_per_image * n, 6)
    area = _area_factor(request.width, request.height)
    if price.per_image:
        return round(price.per_image[_quality(request)] * area * n, 6)
    if price.token_priced and model.split("/")[-1].startswith("gpt-image"):
        text_in = len(request.prompt) / 4
        images_in = GPT_IMAGE_INPUT_IMAGE_TOKENS if request.source else 0
        out = GPT_IMAGE_OUTPUT_TOKENS[_quality(request)] * area
        cost = (
            text_in * price.text_in_per_m
            + images_in * price.image_in_per_m
            + out * n * price.image_out_per_m
        ) / PER_MILLION
        return round(cost, 6)
    if price.token_priced:  # Gemini image
        return round(GEMINI_IMAGE_OUTPUT_TOKENS * n * price.image_out_per_m / PER_MILLION, 6)
    return 0.0


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        if obj is None:
            return None
        obj = obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)
    return obj


def cost_from_usage(provider: str, model: str, usage: Mapping[str, Any]) -> float | None:
    """Actual USD from a response's token usage, for token-priced models; else None.

    Understands OpenAI Images usage (input/output token details), Gemini usageMetadata
    (candidates_token_count) and chat-completions usage (completion_tokens, or `cost` when the
    router reports it).
    """
    if provider == "local":
        return 0.0
    try:
        price = price_for(provider, model)
    except UnknownPrice:
        return None
    reported = usage.get("cost")
    if isinstance(reported, int | float):
        return float(reported)
    if not price.token_priced:
        return None
    if "input_tokens" in usage:  # OpenAI Images
        text_in = _get(usage, "input_tokens_details", "text_tokens")
        image_in = _get(usage, "input_tokens_details", "image_tokens")
        if text_in is None and image_in is None:
            text_in, image_in = usage.get("input_tokens") or 0, 0
        image_out = _get(usage, "output_tokens_details", "image_tokens")
        if image_out is None:
            image_out = usage.get("output_tokens") or 0
        cost = (
            (text_in or 0) * price.text_in_per_m
            + (image_in or 0) * price.image_in_per_m
            + image_out * price.image_out_per_m
        )
        return round(cost / PER_MILLION, 6)
    out = usage.get("candidates_token_count")  # Gemini usageMetadata
    if out is None:
        out = usage.get("completion_tokens")  # chat completions (OpenRouter)
    if out is None:
        return None
    return round(out * price.image_out_per_m / PER_MILLION, 6)
