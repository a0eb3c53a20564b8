"""provider_statuses(): which providers are on, why, and built from settings (base URLs honoured)."""

from __future__ import annotations

import pytest

from studio.config import Settings
from studio.providers.base import ImageRequest
from studio.providers.google import GoogleProvider
from studio.providers.openai_images import OpenAIImagesProvider
from studio.providers.openrouter import OpenRouterProvider
from studio.providers.registry import provider_statuses
from tests.providers.fakes import FAKE_PNG, GoogleFake, OpenAIFake, OpenRouterFake

T2I = ImageRequest("text_to_image", "a lamp")


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_without_keys_only_local_is_available_and_each_says_why() -> None:
    statuses = provider_statuses(settings())
    assert [s.name for s in statuses] == ["local", "openai", "openrouter", "google"]
    assert statuses[0].available and statuses[0].provider is not None
    off = {s.name: s for s in statuses[1:]}
    assert off["openai"].reason == "OPENAI_API_KEY is not set"
    assert off["openrouter"].reason == "OPENROUTER_API_KEY is not set"
    assert off["google"].reason == "GOOGLE_API_KEY is not set"
    assert all(not s.available and s.provider is None and s.models == [] for s in off.values())


def test_blank_key_counts_as_missing() -> None:
    statuses = {s.name: s for s in provider_statuses(settings(openai_api_key="  "))}
    assert not statuses["openai"].available


def test_keys_turn_adapters_on() -> None:
    statuses = provider_statuses(
        settings(openai_api_key="a", openrouter_api_key="b", google_api_key="c")
    )
    assert statuses[0].name == "local"
    by_name = {s.name: s for s in statuses}
    for name, cls in [
        ("openai", OpenAIImagesProvider),
        ("openrouter", OpenRouterProvider),
        ("google", GoogleProvider),
    ]:
        status = by_name[name]
        assert status.available and status.reason == "key set"
        assert isinstance(status.provider, cls)
        assert status.models, name


def test_google_key_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "from-gemini-env")
    status = {s.name: s for s in provider_statuses(Settings(_env_file=None))}["google"]  # type: ignore[call-arg]
    assert status.available and status.reason == "key set"


def test_registry_adapters_use_the_configured_base_urls_and_options() -> None:
    with (
        OpenAIFake(api_key="sk-a") as oa,
        OpenRouterFake(api_key="or-b") as orf,
        GoogleFake(api_key="g-c") as gf,
    ):
        statuses = provider_statuses(
            settings(
                openai_api_key="sk-a",
                openai_base_url=f"{oa.url}/v1",
                openrouter_api_key="or-b",
                openrouter_base_url=f"{orf.url}/api/v1",
                openrouter_model="google/gemini-3.1-flash-image-preview",
                openrouter_http_referer="https://studio.example/app",
                openrouter_app_title="My Studio",
                google_api_key="g-c",
                google_base_url=gf.url,
            )
        )
        by_name = {s.name: s.provider for s in statuses}

        assert by_name["openai"].generate_image("gpt-image-1-mini", T2I).images == [FAKE_PNG]
        assert oa.last().headers["authorization"] == "Bearer sk-a"

        openrouter = by_name["openrouter"]
        assert openrouter.models()[0].id == "google/gemini-3.1-flash-image-preview"
        openrouter.generate_image(openrouter.models()[0].id, T2I)
        req = orf.last()
        assert req.headers["http-referer"] == "https://studio.example/app"
        assert req.headers["x-title"] == "My Studio"
        assert req.json["model"] == "google/gemini-3.1-flash-image-preview"

        assert by_name["google"].generate_image("gemini-2.5-flash-image", T2I).images == [FAKE_PNG]
        assert by_name["google"].generate_image("imagen-4.0-generate-001", T2I).images == [FAKE_PNG]
        assert {r.headers["x-goog-api-key"] for r in gf.requests} == {"g-c"}
