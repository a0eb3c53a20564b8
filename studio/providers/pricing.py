"""The one price table (USD), the estimate of a call before it is made, and its actual cost.

Every row names the page its prices come from and the day they were checked; check them again
before billing anyone. Costs follow what is actually sent and returned:
- OpenAI per-image models: the per-image price of the size and quality actually used (the
  response says which; quality "auto" is budgeted as "high"), times the images returned, plus the
  input tokens at their token prices;
- token-priced models (gpt-image-2, Gemini image): the reported usage at the token prices
  (Gemini: prompt tokens, image output tokens, text and thinking output tokens);
- OpenRouter: the `usage.cost` it reports, plus `cost_details.upstream_inference_cost` when
  `is_byok` says the user's own provider key paid the inference;
- Imagen: per image returned; Veo: per second of video asked for (the duration actually sent).
Estimates use the same sizes the adapters send (openai_sizes.size_for), so the daily budget
reserves what will really be billed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from studio.providers import openai_sizes
from studio.providers.base import ImageRequest, VideoRequest

PER_MILLION = 1_000_000
BASE_PIXELS = 1024 * 1024
OPENAI_PRICING = "https://platform.openai.com/docs/pricing (image generation)"
GEMINI_PRICING = "https://ai.google.dev/gemini-api/docs/pricing"
VERTEX_PRICING = "https://cloud.google.com/vertex-ai/generative-ai/pricing"
CHECKED = "2026-12-01"

# Output image tokens of one 1024x1024 GPT image by quality (OpenAI's published table); used
# only to estimate token-priced gpt-image-2 before the call, scaled by the area actually sent.
GPT_IMAGE_OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160}
GPT_IMAGE_INPUT_IMAGE_TOKENS = 765  # an estimate for one source image of an edit
QUALITIES = ("low", "medium", "high")


@dataclass(frozen=True)
class Price:
    """How one model is billed, where that was read, and when."""

    source: str
    checked: str = CHECKED
    note: str = ""
    per_image: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # size→quality→USD
    flat_per_image: float | None = None  # USD per image whatever its size
    per_second: float | None = None  # USD per second of video
    text_in_per_m: float = 0.0  # USD per 1M tokens
    image_in_per_m: float = 0.0
    image_out_per_m: float = 0.0
    text_out_per_m: float = 0.0  # text and thinking output
    image_out_tokens: int = 0  # output tokens of one default-size image (estimates)

    @property
    def token_priced(self) -> bool:
        return self.image_out_per_m > 0


def _ladder(
    square: tuple[float, float, float], oblong: tuple[float, float, float]
) -> dict[str, dict[str, float]]:
    rows = {"1024x1024": square, "1536x1024": oblong, "1024x1536": oblong}
    return {size: dict(zip(QUALITIES, usd, strict=True)) for size, usd in rows.items()}


_GPT_IMAGE_2 = Price(
    OPENAI_PRICING,
    note="tokens: text in $5, image in $8, image out $30 per 1M",
    text_in_per_m=5.0,
    image_in_per_m=8.0,
    image_out_per_m=30.0,
)

# The one table. Keys are model ids without a router prefix ("google/...").
PRICES: dict[str, Price] = {
    "local": Price(
        "the offline renderer", note="free (offline)", flat_per_image=0.0, per_second=0.0
    ),
    "gpt-image-1-mini": Price(
        OPENAI_PRICING,
        note="per image 1024²: low $0.005, medium $0.011, high $0.036 (oblong $0.006–$0.052)",
        per_image=_ladder((0.005, 0.011, 0.036), (0.006, 0.015, 0.052)),
        text_in_per_m=2.0,
        image_in_per_m=2.5,
    ),
    "gpt-image-1.5": Price(
        OPENAI_PRICING,
        note="per image 1024²: low $0.009, medium $0.034, high $0.133 (oblong $0.013–$0.20)",
        per_image=_ladder((0.009, 0.034, 0.133), (0.013, 0.05, 0.20)),
        text_in_per_m=5.0,
        image_in_per_m=8.0,
    ),
    "gpt-image-2": _GPT_IMAGE_2,
    "gemini-2.5-flash-image": Price(
        GEMINI_PRICING,
        note="$30 per 1M image-output tokens ≈ $0.039 per image; input $0.30 per 1M",
        text_in_per_m=0.30,
        image_in_per_m=0.30,
        image_out_per_m=30.0,
        text_out_per_m=2.50,
        image_out_tokens=1290,
    ),
    "gemini-3.1-flash-image": Price(
        GEMINI_PRICING,
        note="$60 per 1M image-output tokens ≈ $0.067 per 1K image; input $0.50 per 1M",
        text_in_per_m=0.50,
        image_in_per_m=0.50,
        image_out_per_m=60.0,
        text_out_per_m=3.0,
        image_out_tokens=1120,
    ),
    "imagen-4.0-fast-generate-001": Price(
        VERTEX_PRICING, note="$0.02 per image", flat_per_image=0.02
    ),
    "imagen-4.0-generate-001": Price(VERTEX_PRICING, note="$0.04 per image", flat_per_image=0.04),
    "imagen-4.0-ultra-generate-001": Price(
        VERTEX_PRICING, note="$0.06 per image", flat_per_image=0.06
    ),
    "veo-3.1-generate-preview": Price(
        VERTEX_PRICING, note="$0.40 per second (with audio)", per_second=0.40
    ),
    "veo-3.1-fast-generate-preview": Price(
        VERTEX_PRICING, note="$0.15 per second (with audio)", per_second=0.15
    ),
}
_DATED = re.compile(r"^(?P<base>.+)-\d{4}-\d{2}-\d{2}$")  # gpt-image-2-2026-04-21


class UnknownPrice(KeyError):
    """No price is known for this model, so no estimate can be made."""


def price_for(provider: str, model: str) -> Price:
    """The table row for `model` ("google/x" and dated snapshots resolve to their family)."""
    if provider == "local":
        return PRICES["local"]
    key = model.split("/", 1)[1] if "/" in model else model
    if key in PRICES:
        return PRICES[key]
    dated = _DATED.match(key)
    if dated and dated["base"] in PRICES:
        return PRICES[dated["base"]]
    raise UnknownPrice(f"No price is known for {provider} model {model!r}.")


def price_note(provider: str, model: str) -> str:
    try:
        return price_for(provider, model).note
    except UnknownPrice:
        return "price unknown"


def budget_quality(quality: str | None) -> str:
    """The quality billed: "auto" (or none) is budgeted as the dearest, "high"."""
    return quality if quality in QUALITIES else "high"


def _model_key(model: str) -> str:
    return model.split("/")[-1]


def _per_image_usd(price: Price, size: str, quality: str) -> float:
    row = price.per_image.get(size)
    if row is None:  # a size the table does not list ("auto" unresolved): the dearest one
        return max(r[quality] for r in price.per_image.values())
    return row[quality]


def estimate(provider: str, model: str, request: ImageRequest | VideoRequest) -> float:
    """USD this call is expected to cost, before making it."""
    price = price_for(provider, model)
    if isinstance(request, VideoRequest):
        return round((price.per_second or 0.0) * video_seconds(model, request), 6)
    n = max(request.n, 1)
    if price.flat_per_image is not None:
        return round(price.flat_per_image * n, 6)
    quality = budget_quality(request.quality)
    text_in = len(request.prompt) / 4 * price.text_in_per_m
    image_in = (GPT_IMAGE_INPUT_IMAGE_TOKENS if request.source else 0) * price.image_in_per_m
    if price.per_image:
        w, h = openai_sizes.size_for(_model_key(model), request.width, request.height)
        output = _per_image_usd(price, f"{w}x{h}", quality) * n * PER_MILLION
        return round((text_in + image_in + output) / PER_MILLION, 6)
    if price.token_priced and _model_key(model).startswith("gpt-image"):
        w, h = openai_sizes.size_for(_model_key(model), request.width, request.height)
        out = GPT_IMAGE_OUTPUT_TOKENS[quality] * (w * h / BASE_PIXELS) * n
        return round((text_in + image_in + out * price.image_out_per_m) / PER_MILLION, 6)
    if price.token_priced:  # Gemini image (direct or through OpenRouter)
        out = price.image_out_tokens * n * price.image_out_per_m
        source_in = 258 * price.image_in_per_m if request.source else 0.0
        return round((text_in * n + source_in * n + out) / PER_MILLION, 6)
    return 0.0


def video_seconds(model: str, request: VideoRequest) -> int:
    """The duration actually sent for a video request (Veo takes 4, 6 or 8 s; 1080p only 8)."""
    if request.resolution != "720p":
        return 8
    return min((4, 6, 8), key=lambda d: (abs(d - request.duration_s), -d))


def _get(obj: Any, *keys: str) -> Any:
    for key in keys:
        if obj is None:
            return None
        obj = obj.get(key) if isinstance(obj, Mapping) else getattr(obj, key, None)
    return obj


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def openai_images_cost(
    model: str, usage: Mapping[str, Any], *, size: str, quality: str | None, images: int
) -> float | None:
    """Actual USD of an OpenAI Images answer: per-image models by the size and quality used,
    token-priced ones (gpt-image-2) by their reported usage."""
    try:
        price = price_for("openai", model)
    except UnknownPrice:
        return None
    details = usage.get("input_tokens_details") or {}
    text_in, image_in = _num(details.get("text_tokens")), _num(details.get("image_tokens"))
    if not details:
        text_in = _num(usage.get("input_tokens"))
    inputs = text_in * price.text_in_per_m + image_in * price.image_in_per_m
    if price.per_image:
        output = _per_image_usd(price, size, budget_quality(quality)) * images * PER_MILLION
        return round((inputs + output) / PER_MILLION, 9)
    if not usage:
        return None
    out = usage.get("output_tokens_details") or {}
    image_out = (
        _num(out.get("image_tokens")) if "image_tokens" in out else _num(usage.get("output_tokens"))
    )
    text_out = _num(out.get("text_tokens"))
    cost = inputs + image_out * price.image_out_per_m + text_out * price.text_out_per_m
    return round(cost / PER_MILLION, 9)


def gemini_cost(model: str, usage: Mapping[str, Any], provider: str = "google") -> float | None:
    """Actual USD from Gemini usageMetadata (snake_case, as google-genai dumps it)."""
    try:
        price = price_for(provider, model)
    except UnknownPrice:
        return None
    if not usage:
        return None
    prompt = _num(usage.get("prompt_token_count"))
    details = usage.get("candidates_tokens_details") or []
    by_modality = {
        str(_get(d, "modality")).split(".")[-1].upper(): _num(_get(d, "token_count"))
        for d in details
    }
    if by_modality:
        image_out, text_out = by_modality.get("IMAGE", 0.0), by_modality.get("TEXT", 0.0)
    else:  # no breakdown: every output token as an image token (the dearer reading)
        image_out, text_out = _num(usage.get("candidates_token_count")), 0.0
    text_out += _num(usage.get("thoughts_token_count"))
    cost = (
        prompt * price.text_in_per_m
        + image_out * price.image_out_per_m
        + text_out * price.text_out_per_m
    )
    return round(cost / PER_MILLION, 9)


def openrouter_cost(model: str, usage: Mapping[str, Any]) -> float | None:
    """Actual USD from OpenRouter's usage: `cost` (always reported), plus the upstream cost
    paid through the user's own provider key when `is_byok` says so (without BYOK the upstream
    cost is part of `cost`, so it is not added twice)."""
    reported = usage.get("cost")
    if isinstance(reported, int | float):
        upstream = _get(usage, "cost_details", "upstream_inference_cost")
        return round(float(reported) + (_num(upstream) if usage.get("is_byok") is True else 0.0), 9)
    try:  # not reported (older answers): the Gemini token prices, all output as image tokens
        price = price_for("openrouter", model)
    except UnknownPrice:
        return None
    cost = (
        _num(usage.get("prompt_tokens")) * price.text_in_per_m
        + _num(usage.get("completion_tokens")) * price.image_out_per_m
    )
    return round(cost / PER_MILLION, 9)
