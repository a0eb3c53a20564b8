"""Which providers and model families this studio can use, and exactly what is missing for the
others. The one place that decides: Home, the model picker and `studio providers check` read it.

A family is on only when its own credential is there: Google's Gemini API key serves the Gemini
image models only, and Imagen and Veo need Vertex AI credentials of their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from studio.config import Settings
from studio.providers.base import ModelInfo, Provider

GEMINI = "Gemini image models"
VERTEX = "Imagen and Veo"


@dataclass(frozen=True)
class FamilyStatus:
    """A group of models sharing one credential: on, or off with what to set."""

    name: str
    label: str
    available: bool
    reason: str


@dataclass(frozen=True)
class ProviderStatus:
    name: str
    label: str
    available: bool
    reason: str
    provider: Provider | None = None
    families: tuple[FamilyStatus, ...] = field(default_factory=tuple)

    @property
    def models(self) -> list[ModelInfo]:
        """The models of the families that are on."""
        if self.provider is None:
            return []
        on = {f.name for f in self.families if f.available}
        return [m for m in self.provider.models() if not self.families or m.family in on]


def _single(name: str, label: str, family: str, key_env: str, key: object) -> ProviderStatus:
    """A provider with one credential and one family."""
    reason = "key set" if key is not None else f"{key_env} is not set"
    status = FamilyStatus(family, label, key is not None, reason)
    return ProviderStatus(name, label, key is not None, reason, None, (status,))


def _gemini_family(settings: Settings) -> FamilyStatus:
    key = settings.google_api_key
    if key is None:
        return FamilyStatus(
            "gemini", GEMINI, False,
            "Gemini image models need a Gemini API key: set GOOGLE_API_KEY (from Google AI Studio)",
        )  # fmt: skip
    if key.get_secret_value().startswith("AQ."):
        return FamilyStatus(
            "gemini", GEMINI, False,
            "GOOGLE_API_KEY holds a Vertex AI express-mode key (AQ.…), which the Gemini API "
            "refuses: move it to GOOGLE_VERTEX_API_KEY and set a Gemini API key from Google AI "
            "Studio in GOOGLE_API_KEY",
        )  # fmt: skip
    return FamilyStatus("gemini", GEMINI, True, "Gemini API key set (GOOGLE_API_KEY)")


def vertex_access(settings: Settings) -> tuple[FamilyStatus, object]:
    """Imagen and Veo's status, and the VertexAccess to build the adapter with (or None)."""
    from studio.providers.google import VertexAccess

    project, location = settings.google_cloud_project, settings.google_cloud_location
    express = settings.google_vertex_api_key
    adc = settings.google_adc() if project else None
    if project and adc:
        reason = f"Vertex AI project {project} in {location}, credentials from {adc}"
        return FamilyStatus("vertex", VERTEX, True, reason), VertexAccess(
            "project", project, location
        )
    if express is not None:
        reason = "Vertex AI express mode (GOOGLE_VERTEX_API_KEY)"
        if project:
            reason += (
                f"; GOOGLE_CLOUD_PROJECT={project} is unused: no application default credentials"
            )
        return FamilyStatus("vertex", VERTEX, True, reason), VertexAccess(
            "express", api_key=express.get_secret_value()
        )
    if project:
        reason = (
            f"Imagen and Veo need Vertex AI: GOOGLE_CLOUD_PROJECT={project} is set, but no "
            "application default credentials were found (run `gcloud auth application-default "
            "login`, or set GOOGLE_APPLICATION_CREDENTIALS), or set GOOGLE_VERTEX_API_KEY"
        )
        if settings.google_application_credentials:
            reason = reason.replace(
                "no application default credentials were found",
                f"GOOGLE_APPLICATION_CREDENTIALS names no file ({settings.google_application_credentials})",
            )
        return FamilyStatus("vertex", VERTEX, False, reason), None
    reason = (
        "Imagen and Veo need Vertex AI: set GOOGLE_CLOUD_PROJECT (and GOOGLE_CLOUD_LOCATION) with "
        "application default credentials, or a Vertex express-mode key in GOOGLE_VERTEX_API_KEY"
    )
    if settings.google_api_key is not None:
        reason += " (the Gemini API key in GOOGLE_API_KEY does not work on Vertex AI)"
    return FamilyStatus("vertex", VERTEX, False, reason), None


def _google(settings: Settings) -> ProviderStatus:
    from studio.providers.google import GoogleProvider

    gemini = _gemini_family(settings)
    vertex, access = vertex_access(settings)
    families = (gemini, vertex)
    on = [f.label for f in families if f.available]
    if not on:
        return ProviderStatus(
            "google", "Google", False, "; ".join(f.reason for f in families), None, families
        )
    provider = GoogleProvider(
        settings.google_api_key.get_secret_value()
        if gemini.available and settings.google_api_key
        else None,
        access,  # type: ignore[arg-type]
        base_url=settings.google_base_url or None,
        vertex_base_url=settings.google_vertex_base_url or None,
        poll_interval=settings.video_poll_seconds,
    )
    return ProviderStatus("google", "Google", True, " and ".join(on) + " on", provider, families)


def provider_statuses(settings: Settings) -> list[ProviderStatus]:
    """Every provider the studio knows, in picker order, each with why it is on or off."""
    from studio.providers.local import LocalProvider

    local = FamilyStatus("offline", "Offline renderer", True, "built in, no key needed")
    statuses = [
        ProviderStatus("local", "Offline renderer", True, local.reason, LocalProvider(), (local,))
    ]
    keyed = [
        ("openai", "OpenAI", "gpt-image", "OPENAI_API_KEY", settings.openai_api_key),
        (
            "openrouter",
            "OpenRouter",
            "openrouter",
            "OPENROUTER_API_KEY",
            settings.openrouter_api_key,
        ),
    ]
    for name, label, family, env, key in keyed:
        status = _single(name, label, family, env, key)
        if key is not None:
            try:
                provider = _build(name, key.get_secret_value(), settings)
            except Exception as exc:  # a bad option must disable the provider, never crash a page
                reason = f"{env} is set, but the adapter failed: {exc}"
                off = FamilyStatus(family, label, False, reason)
                status = ProviderStatus(name, label, False, reason, None, (off,))
            else:
                status = ProviderStatus(name, label, True, "key set", provider, status.families)
        statuses.append(status)
    try:
        statuses.append(_google(settings))
    except Exception as exc:
        statuses.append(ProviderStatus("google", "Google", False, f"the adapter failed: {exc}"))
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
    raise ValueError(f"unknown provider {name!r}")
