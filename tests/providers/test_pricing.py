"""The price table: every offered model has a price, estimates follow PROVIDERS.md's table."""

from __future__ import annotations

import pytest

from studio.providers import pricing
from studio.providers.base import ImageRequest, VideoRequest
from studio.providers.google import GoogleProvider
from studio.providers.openai_images import OpenAIImagesProvider
from studio.providers.openrouter import OpenRouterProvider

PROVIDERS = [
    OpenAIImagesProvider("k"),
    OpenRouterProvider("k"),
    GoogleProvider("k"),
]


def img(quality: str | None = None, w: int = 1024, h: int = 1024, n: int = 1) -> ImageRequest:
    return ImageRequest("text_to_image", "a prompt", width=w, height=h, quality=quality, n=n)


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)
def test_every_offered_model_has_a_positive_estimate(provider: object) -> None:
    for model in provider.models():  # type: ignore[attr-defined]
        request = VideoRequest("x") if model.kind == "video" else img("medium")
        cost = provider.estimate_cost(model.id, request)  # type: ignore[attr-defined]
        assert cost > 0, model.id
        assert model.price_note and model.price_note != "price unknown"


@pytest.mark.parametrize(
    ("model", "quality", "usd"),
    [
        ("gpt-image-1-mini", "low", 0.005),
        ("gpt-image-1-mini", "medium", 0.011),
        ("gpt-image-1-mini", "high", 0.036),
        ("gpt-image-1.5", "low", 0.009),
        ("gpt-image-1.5", "medium", 0.034),
        ("gpt-image-1.5", "high", 0.133),
        ("gpt-image-1.5", None, 0.133),  # "auto" is budgeted as high
    ],
)
def test_openai_per_image_prices(model: str, quality: str | None, usd: float) -> None:
    assert pricing.estimate("openai", model, img(quality)) == pytest.approx(usd)


def test_estimates_scale_with_count_and_area() -> None:
    one = pricing.estimate("openai", "gpt-image-1.5", img("low"))
    assert pricing.estimate("openai", "gpt-image-1.5", img("low", n=3)) == pytest.approx(3 * one)
    bigger = pricing.estimate("openai", "gpt-image-1.5", img("low", 1536, 1024))
    assert bigger == pytest.approx(1.5 * one)


def test_gpt_image_2_is_token_priced() -> None:
    low = pricing.estimate("openai", "gpt-image-2", img("low"))
    high = pricing.estimate("openai", "gpt-image-2", img("high"))
    assert 0 < low < high
    assert high == pytest.approx((8 * 5 + 4160 * 30) / 1e6, rel=0.01)
    # PROVIDERS.md's example usage: 10 text + 40 image tokens in, 50 image tokens out.
    usage = {
        "input_tokens": 50,
        "input_tokens_details": {"image_tokens": 40, "text_tokens": 10},
        "output_tokens": 50,
        "output_tokens_details": {"image_tokens": 50},
        "total_tokens": 100,
    }
    assert pricing.cost_from_usage("openai", "gpt-image-2", usage) == pytest.approx(0.00187)
    assert pricing.cost_from_usage("openai", "gpt-image-2-2026-04-21", usage) == pytest.approx(
        0.00187
    )


def test_gemini_image_direct_and_via_openrouter() -> None:
    direct = pricing.estimate("google", "gemini-2.5-flash-image", img())
    routed = pricing.estimate("openrouter", "google/gemini-2.5-flash-image", img())
    assert direct == routed == pytest.approx(0.0387)  # ≈ $0.039 per ≤1024² image
    usage = {"prompt_token_count": 10, "candidates_token_count": 1290, "total_token_count": 1300}
    assert pricing.cost_from_usage("google", "gemini-2.5-flash-image", usage) == pytest.approx(
        0.0387
    )


@pytest.mark.parametrize(
    ("model", "usd"),
    [
        ("imagen-4.0-fast-generate-001", 0.02),
        ("imagen-4.0-generate-001", 0.04),
        ("imagen-4.0-ultra-generate-001", 0.06),
    ],
)
def test_imagen_per_image(model: str, usd: float) -> None:
    assert pricing.estimate("google", model, img(n=2)) == pytest.approx(2 * usd)


def test_veo_per_second() -> None:
    assert pricing.estimate(
        "google", "veo-3.1-generate-preview", VideoRequest("x", duration_s=8)
    ) == pytest.approx(3.2)
    assert pricing.estimate(
        "google", "veo-3.1-fast-generate-preview", VideoRequest("x", duration_s=4)
    ) == pytest.approx(0.6)


def test_local_is_free() -> None:
    assert pricing.estimate("local", "anything", img("high", n=4)) == 0
    assert pricing.estimate("local", "anything", VideoRequest("x")) == 0


def test_unknown_model_has_no_price() -> None:
    with pytest.raises(pricing.UnknownPrice):
        pricing.estimate("openai", "dall-e-3", img())
    assert pricing.cost_from_usage("openai", "dall-e-3", {"output_tokens": 5}) is None


def test_per_image_models_have_no_cost_from_usage() -> None:
    assert pricing.cost_from_usage("openai", "gpt-image-1.5", {"input_tokens": 5}) is None
