"""Which providers this studio can use, and why the others are off."""

from __future__ import annotations

from dataclasses import dataclass

from studio.config import Settings
from studio.providers.base import ModelInfo, Provider


@dataclass(frozen=True)
class ProviderStatus:
    name: str
    label: str
    available: bool
    reason: str
    provider: Provider | None = None

    @property
    def models(self) -> list[ModelInfo]:
        return self.provider.models() if self.provider else []


def provider_statuses(settings: Settings) -> list[ProviderStatus]:
    """Every provider the studio knows, in picker order, each with why it is on or off."""
    from studio.providers.local import LocalProvider

    statuses = [
        ProviderStatus(
            "local", "Offline renderer", True, "built in, no key needed", LocalProvider()
        )
    ]
    keyed = [
        ("openai", "OpenAI", settings.openai_api_key, "OPENAI_API_KEY"),
        ("openrouter", "OpenRouter", settings.openrouter_api_key, "OPENROUTER_API_KEY"),
        ("google", "Google (Gemini, Imagen, Veo)", settings.google_api_key, "GOOGLE_API_KEY"),
    ]
    for name, label, key, env in keyed:
        if key is None:
            statuses.append(ProviderStatus(name, label, False, f"{env} is not set"))
            continue
        try:
            provider = _build(name, key.get_secret_value(), settings)
        except Exception as exc:  # a bad option must disable the provider, never crash a page
            statuses.append(
                ProviderStatus(name, label, False, f"{env} is set, but the adapter failed: {exc}")
            )
            continue
        statuses.append(ProviderStatus(name, label, True, "key set", provider))
    return statuses


def _build(name: str, key: str, settings: Settings) -> Provider:
    """The adapter for `name`, configured from settings (no network until first use)."""
    if name == "openai":
        from studio.providers.openai_images import OpenAIImagesProvider

        return OpenAIImagesProvider(key, base_url=settings.openai_base_url or None)
    if name == "openrouter":
        from studio.providers.openrouter import OpenRouterProvider

        return OpenRouterProvider(
            key,
            model=settings.openrouter_model,
            base_url=settings.openrouter_base_url,
            http_referer=settings.openrouter_http_referer,
            app_title=settings.openrouter_app_title,
        )
    if name == "google":
        from studio.providers.google import GoogleProvider

        return GoogleProvider(key, base_url=settings.google_base_url or None)
    raise ValueError(f"unknown provider {name!r}")
