"""The model picker's list: usable models with prices, providers that are off with why."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from studio.model_choices import default_choice, model_choices
from studio.providers.registry import provider_statuses
from tests.conftest import make_settings


def test_demo_offers_the_offline_models_and_says_why_others_are_off(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path}/x.db")
    images, off = model_choices(provider_statuses(settings), kind="image")
    assert [c.key for c in images] == ["local/sketch"]
    assert images[0].price == "free" and "Offline" in images[0].title
    reasons = {p.label: p.reason for p in off}
    assert reasons == {
        "OpenAI": "OPENAI_API_KEY is not set",
        "OpenRouter": "OPENROUTER_API_KEY is not set",
        "Google · Gemini image models": "Gemini image models need a Gemini API key: set "
        "GOOGLE_API_KEY (from Google AI Studio)",
        "Google · Imagen and Veo": "Imagen and Veo need Vertex AI: set GOOGLE_CLOUD_PROJECT (and "
        "GOOGLE_CLOUD_LOCATION) with application default credentials, or a Vertex express-mode "
        "key in GOOGLE_VERTEX_API_KEY",
    }
    videos, _ = model_choices(provider_statuses(settings), kind="video")
    assert [c.key for c in videos] == ["local/motion"]


def test_keyed_providers_list_priced_models_filtered_by_mode(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path,
        f"sqlite:///{tmp_path}/x.db",
        openai_api_key=SecretStr("sk-test"),
        google_api_key=SecretStr("g-test"),
        google_vertex_api_key=SecretStr("v-test"),
    )
    statuses = provider_statuses(settings)
    images, off = model_choices(statuses, kind="image")
    openai = [c for c in images if c.provider == "openai"]
    assert openai and all(c.estimate and c.estimate > 0 for c in openai)
    assert all(c.price.startswith("≈ $") and c.price.endswith("/ image") for c in openai)
    assert [p.name for p in off] == ["openrouter"]
    inpaint, _ = model_choices(statuses, kind="image", mode="inpaint")
    # Imagen only does text-to-image: offered for a first image, never for inpainting.
    assert any("imagen" in c.model for c in images)
    assert not any("imagen" in c.model for c in inpaint)
    videos, _ = model_choices(statuses, kind="video")
    assert any(c.provider == "google" and c.price.endswith("/ s") for c in videos)


def test_default_choice_prefers_the_exact_model_then_the_provider() -> None:
    from studio.model_choices import ModelChoice

    def c(p: str, m: str) -> ModelChoice:
        return ModelChoice(p, p, m, m, "image", ("text_to_image",), "", 0.0)

    choices = [c("local", "sketch"), c("openai", "a"), c("openai", "b")]
    assert default_choice(choices, "openai", "b") == 2
    assert default_choice(choices, "openai", "zzz") == 1
    assert default_choice(choices, "nope") == 0


def test_a_gemini_key_alone_offers_gemini_and_says_what_imagen_and_veo_need(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path}/x.db", google_api_key=SecretStr("AIza-gemini")
    )
    statuses = provider_statuses(settings)
    images, off = model_choices(statuses, kind="image")
    google = {c.model for c in images if c.provider == "google"}
    assert google == {"gemini-2.5-flash-image", "gemini-3.1-flash-image"}  # no Imagen
    videos, _ = model_choices(statuses, kind="video")
    assert [c.key for c in videos] == ["local/motion"]  # no Veo
    (vertex,) = [p for p in off if p.label == "Google · Imagen and Veo"]
    assert vertex.reason.startswith("Imagen and Veo need Vertex AI: set GOOGLE_CLOUD_PROJECT")


def test_asking_for_a_model_of_a_family_that_is_off_says_what_is_missing(tmp_path: Path) -> None:
    import pytest

    from studio.errors import Invalid
    from studio.model_choices import resolve_model

    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path}/x.db", google_api_key=SecretStr("AIza-gemini")
    )
    with pytest.raises(Invalid) as info:
        resolve_model(
            provider_statuses(settings), kind="video", mode="text_to_video",
            provider="google", model="veo-3.1-generate-preview",
        )  # fmt: skip
    assert "Imagen and Veo are off: Imagen and Veo need Vertex AI: set GOOGLE_CLOUD_PROJECT" in str(
        info.value
    )
