"""The price table, the estimates the budget reserves, and the recorded cost of every priced
model against the published formula for what was actually sent and returned."""

from __future__ import annotations

import re
import typing

import pytest
from openai.types.image_model import ImageModel

from studio.providers import pricing
from studio.providers.base import ImageRequest, VideoRequest
from studio.providers.google import (
    GEMINI_MODELS,
    IMAGEN_MODELS,
    VEO_MODELS,
    GoogleProvider,
    VertexAccess,
)
from studio.providers.openai_images import MODELS as OPENAI_MODELS
from studio.providers.openai_images import OpenAIImagesProvider
from studio.providers.openrouter import KNOWN_MODELS as OPENROUTER_MODELS
from studio.providers.openrouter import OpenRouterProvider
from tests.providers.fakes import GoogleFake, OpenAIFake, OpenRouterFake, png
from tests.providers.fakes import google_fake as google_fake_module
from tests.providers.fakes.openrouter_fake import CATALOG

PROVIDERS = [
    OpenAIImagesProvider("k"),
    OpenRouterProvider("k"),
    GoogleProvider("k", VertexAccess("express", api_key="v")),
]


def img(
    quality: str | None = None, w: int = 1024, h: int = 1024, n: int = 1, **kw: object
) -> ImageRequest:
    return ImageRequest("text_to_image", "a prompt", width=w, height=h, quality=quality, n=n, **kw)  # type: ignore[arg-type]


# --- the table --------------------------------------------------------------------------------


def test_every_row_names_its_source_and_date() -> None:
    for model, price in pricing.PRICES.items():
        assert price.source, model
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", price.checked), model
        assert price.note, model


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)
def test_every_offered_model_has_a_positive_estimate(provider: object) -> None:
    for model in provider.models():  # type: ignore[attr-defined]
        request = VideoRequest("x") if model.kind == "video" else img("medium")
        cost = provider.estimate_cost(model.id, request)  # type: ignore[attr-defined]
        assert cost > 0, model.id
        assert model.price_note and model.price_note != "price unknown"


def test_every_priced_id_is_a_published_model_id() -> None:
    """OpenAI ids against the SDK's ImageModel (minus the ones it marks shut down), Gemini ids
    against google-genai's model list, Imagen/Veo against Vertex AI's model reference (the fake's
    lists), OpenRouter's against its catalog."""
    openai_ids = set(typing.get_args(ImageModel)) - {"gpt-image-1", "dall-e-2", "dall-e-3"}
    assert set(OPENAI_MODELS) <= openai_ids
    assert set(GEMINI_MODELS) <= set(google_fake_module.GEMINI_IMAGE_MODELS)
    assert "gemini-3.1-flash-image-preview" not in pricing.PRICES
    assert set(IMAGEN_MODELS) <= set(google_fake_module.IMAGEN_MODELS)
    assert set(VEO_MODELS) <= set(google_fake_module.VEO_MODELS)
    assert set(OPENROUTER_MODELS) <= set(CATALOG)
    offered = set(OPENAI_MODELS) | set(GEMINI_MODELS) | set(IMAGEN_MODELS) | set(VEO_MODELS)
    assert offered | {"local"} == set(pricing.PRICES)


# --- estimates: what the budget reserves ----------------------------------------------------


@pytest.mark.parametrize(
    ("model", "quality", "w", "h", "usd"),
    [
        ("gpt-image-1-mini", "low", 1024, 1024, 0.005),
        ("gpt-image-1-mini", "high", 1536, 1024, 0.052),
        ("gpt-image-1.5", "medium", 1024, 1024, 0.034),
        ("gpt-image-1.5", "high", 1024, 1536, 0.20),
        ("gpt-image-1.5", None, 1024, 1024, 0.133),  # "auto" is budgeted as high
        ("gpt-image-1.5", "low", 512, 512, 0.009),  # 512² is sent as 1024²: billed as 1024²
        ("gpt-image-1.5", "low", 4096, 4096, 0.009),
    ],
)
def test_per_image_estimates_use_the_size_actually_sent(
    model: str, quality: str | None, w: int, h: int, usd: float
) -> None:
    text_in = len("a prompt") / 4 * pricing.price_for("openai", model).text_in_per_m / 1e6
    assert pricing.estimate("openai", model, img(quality, w, h)) == pytest.approx(
        usd + text_in, abs=1e-6
    )


def test_gpt_image_2_estimate_uses_the_snapped_size() -> None:
    # 4096² is sent as 2880² (the pixel cap), 512² as 816² (the pixel floor)
    big = pricing.estimate("openai", "gpt-image-2", img("high", 4096, 4096))
    assert big == pytest.approx((2 * 5 + 4160 * 2880 * 2880 / 1024**2 * 30) / 1e6, rel=1e-4)
    small = pricing.estimate("openai", "gpt-image-2", img("low", 512, 512))
    assert small == pytest.approx((2 * 5 + 272 * 816 * 816 / 1024**2 * 30) / 1e6, rel=1e-4)


def test_gemini_estimates_at_their_published_prices() -> None:
    routed = pricing.estimate("openrouter", "google/gemini-2.5-flash-image", img())
    direct = pricing.estimate("google", "gemini-2.5-flash-image", img())
    assert routed == direct == pytest.approx((2 * 0.30 + 1290 * 30) / 1e6, abs=1e-6)  # ≈ $0.039
    assert pricing.estimate("google", "gemini-3.1-flash-image", img()) == pytest.approx(
        (2 * 0.50 + 1120 * 60) / 1e6, abs=1e-6
    )  # ≈ $0.067, not half of it


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


def test_veo_per_second_of_the_duration_sent() -> None:
    assert pricing.estimate(
        "google", "veo-3.1-generate-preview", VideoRequest("x", duration_s=8)
    ) == pytest.approx(3.2)
    assert pricing.estimate(
        "google", "veo-3.1-fast-generate-preview", VideoRequest("x", duration_s=4)
    ) == pytest.approx(0.6)
    # 1080p is only made at 8 s, so a 4 s 1080p request is billed (and reserved) as 8 s
    hd = VideoRequest("x", duration_s=4, resolution="1080p")
    assert pricing.estimate("google", "veo-3.1-fast-generate-preview", hd) == pytest.approx(1.2)


def test_local_is_free_and_unknown_models_have_no_price() -> None:
    assert pricing.estimate("local", "anything", img("high", n=4)) == 0
    assert pricing.estimate("local", "anything", VideoRequest("x")) == 0
    with pytest.raises(pricing.UnknownPrice):
        pricing.estimate("openai", "dall-e-3", img())
    assert pricing.price_for("openai", "gpt-image-2-2026-04-21") is pricing.PRICES["gpt-image-2"]
    with pytest.raises(pricing.UnknownPrice):  # a newer family is not priced as gpt-image-2
        pricing.price_for("openai", "gpt-image-2.5-flare")


# --- the recorded cost of a real call, per priced model -------------------------------------


@pytest.mark.parametrize(
    ("model", "w", "h", "quality", "size", "billed_quality"),
    [
        ("gpt-image-1-mini", 1024, 1024, "low", "1024x1024", "low"),
        ("gpt-image-1-mini", 1400, 900, "medium", "1536x1024", "medium"),
        ("gpt-image-1.5", 512, 512, "high", "1024x1024", "high"),
        ("gpt-image-1.5", 800, 1300, None, "1024x1536", "high"),  # auto: the answer said high
    ],
)
def test_recorded_cost_of_openai_per_image_models(
    model: str, w: int, h: int, quality: str | None, size: str, billed_quality: str,
    openai_provider: OpenAIImagesProvider, openai_fake: OpenAIFake,
) -> None:  # fmt: skip
    result = openai_provider.generate_image(model, img(quality, w, h, n=2))
    assert openai_fake.last().json["size"] == size
    price = pricing.PRICES[model]
    text_in = result.usage["input_tokens_details"]["text_tokens"]
    formula = 2 * price.per_image[size][billed_quality] + text_in * price.text_in_per_m / 1e6
    assert result.cost_actual == pytest.approx(formula, rel=1e-9)


def test_recorded_cost_of_an_openai_edit_counts_its_input_image_tokens(
    openai_provider: OpenAIImagesProvider,
) -> None:
    request = ImageRequest("image_to_image", "bluer", source=png((32, 32)), quality="low")
    result = openai_provider.generate_image("gpt-image-1.5", request)
    details = result.usage["input_tokens_details"]
    assert details["image_tokens"] > 0
    formula = 0.009 + (details["text_tokens"] * 5 + details["image_tokens"] * 8) / 1e6
    assert result.cost_actual == pytest.approx(formula, rel=1e-9)


@pytest.mark.parametrize(("w", "h", "quality"), [(1920, 1080, "medium"), (512, 512, "low")])
def test_recorded_cost_of_gpt_image_2_from_its_usage(
    w: int, h: int, quality: str, openai_provider: OpenAIImagesProvider, openai_fake: OpenAIFake
) -> None:
    result = openai_provider.generate_image("gpt-image-2", img(quality, w, h))
    sw, sh = map(int, openai_fake.last().json["size"].split("x"))
    usage = result.usage
    assert usage["output_tokens_details"]["image_tokens"] == round(
        {"low": 272, "medium": 1056}[quality] * sw * sh / 1024**2
    )
    formula = (
        usage["input_tokens_details"]["text_tokens"] * 5
        + usage["output_tokens_details"]["image_tokens"] * 30
    ) / 1e6
    assert result.cost_actual == pytest.approx(formula, rel=1e-9)


@pytest.mark.parametrize(
    ("model", "image_tokens", "p_in", "p_img", "p_text"),
    [
        ("gemini-2.5-flash-image", 1290, 0.30, 30, 2.5),
        ("gemini-3.1-flash-image", 1120, 0.50, 60, 3.0),
    ],
)
def test_recorded_cost_of_gemini_includes_input_text_and_thinking_tokens(
    model: str, image_tokens: int, p_in: float, p_img: float, p_text: float,
    google_provider: GoogleProvider,
) -> None:  # fmt: skip
    result = google_provider.generate_image(model, img(n=2))
    thinking = 150 if model.startswith("gemini-3") else 0
    formula = 2 * (10 * p_in + image_tokens * p_img + (8 + thinking) * p_text) / 1e6
    assert result.cost_actual == pytest.approx(formula, rel=1e-9)


@pytest.mark.parametrize("model", list(OPENROUTER_MODELS))
def test_recorded_cost_of_openrouter_is_its_reported_cost(
    model: str, openrouter_fake: OpenRouterFake
) -> None:
    provider = OpenRouterProvider("test", base_url=f"{openrouter_fake.url}/api/v1", max_retries=0)
    result = provider.generate_image(model, img())
    p_in, p_out = CATALOG[model]
    tokens = 1290 if "2.5" in model else 1120
    assert result.cost_actual == pytest.approx(20 * p_in + (tokens + 10) * p_out, rel=1e-6)


@pytest.mark.parametrize("model", list(IMAGEN_MODELS))
def test_recorded_cost_of_imagen_per_image_returned(
    model: str, google_provider: GoogleProvider
) -> None:
    n = 1 if "ultra" in model else 3
    result = google_provider.generate_image(model, img(n=n))
    assert result.cost_actual == pytest.approx(n * pricing.PRICES[model].flat_per_image)


@pytest.mark.parametrize("model", list(VEO_MODELS))
def test_recorded_cost_of_veo_per_second_sent(
    model: str, google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    request = VideoRequest("x", duration_s=5)
    name = google_provider.start_video(model, request)
    seconds = google_fake.submissions[-1].json["parameters"]["durationSeconds"]
    result = google_provider.finish_video(model, name, request)
    assert seconds == 6 and result.cost_actual == pytest.approx(
        6 * pricing.PRICES[model].per_second
    )
