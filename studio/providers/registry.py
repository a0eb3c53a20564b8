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
        else:
            statuses.append(
                ProviderStatus(
                    name, label, False, f"{env} is set, but this adapter is not built yet"
                )
            )
    return statuses
