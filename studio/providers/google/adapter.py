"""The Google adapter: which credential serves which model family, and the SDK clients.

Two hosts, two credentials (a key of one is refused by the other):
- the Gemini API key (AI Studio) serves the Gemini image models, through a Gemini API client;
- Vertex AI serves Imagen and Veo (google-genai 3.x runs `generate_images` and `generate_videos`
  only on a Vertex client), with a project and location and application default credentials,
  or with a Vertex express-mode API key.
A family without its credential offers no models, and a call to it fails before any network
with what to set. Gemini has no mask input: the studio composites.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from google import genai
from google.genai import types

from studio.providers import pricing
from studio.providers.base import (
    ErrorClass,
    Heartbeat,
    ImageRequest,
    ImageResult,
    ModelInfo,
    ProviderError,
    VideoRequest,
    VideoResult,
)
from studio.providers.errors import SDK_ERRORS, map_exception
from studio.providers.google import gemini, vertex

GEMINI_MODELS = {
    "gemini-2.5-flash-image": "Gemini 2.5 Flash Image",
    "gemini-3.1-flash-image": "Gemini 3.1 Flash Image",
}
IMAGEN_MODELS = {
    "imagen-4.0-generate-001": "Imagen 4",
    "imagen-4.0-fast-generate-001": "Imagen 4 Fast",
    "imagen-4.0-ultra-generate-001": "Imagen 4 Ultra",
}
VEO_MODELS = {
    "veo-3.1-generate-preview": "Veo 3.1",
    "veo-3.1-fast-generate-preview": "Veo 3.1 Fast",
}
GEMINI_HINT = (
    "The Gemini image models need a Gemini API key from Google AI Studio in GOOGLE_API_KEY "
    "(a Vertex AI key is refused by the Gemini API)."
)
VERTEX_HINT = (
    "Imagen and Veo need Vertex AI: set GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION with "
    "application default credentials, or a Vertex express-mode key in GOOGLE_VERTEX_API_KEY "
    "(a Gemini API key is refused by Vertex AI)."
)


@dataclass(frozen=True)
class VertexAccess:
    """How to reach Vertex AI: a project (with ADC, or `credentials`) or an express key."""

    kind: Literal["project", "express"]
    project: str | None = None
    location: str | None = None
    api_key: str | None = None
    credentials: Any = None  # google.auth credentials; None: application default credentials

    def describe(self) -> str:
        if self.kind == "express":
            return "Vertex AI express mode (GOOGLE_VERTEX_API_KEY)"
        return f"Vertex AI project {self.project} in {self.location}"


def family_of(model: str) -> Literal["gemini", "vertex"]:
    return "vertex" if model.startswith(("imagen-", "veo-")) else "gemini"


class GoogleProvider:
    """Gemini image (generate_content), Imagen (generate_images), Veo (generate_videos)."""

    name = "google"
    label = "Google"

    def __init__(
        self,
        gemini_api_key: str | None = None,
        vertex: VertexAccess | None = None,
        *,
        base_url: str | None = None,
        vertex_base_url: str | None = None,
        timeout: float = 180.0,
        max_retries: int = 2,
        poll_interval: float = 10.0,
        video_timeout: float = 900.0,
    ) -> None:
        self._gemini_key = gemini_api_key
        self.vertex = vertex
        self._base_url = base_url
        self._vertex_base_url = vertex_base_url or base_url
        self._timeout = timeout
        self._max_retries = max_retries
        self.poll_interval = poll_interval
        self.video_timeout = video_timeout

    def _http_options(self, base_url: str | None, api_version: str | None) -> types.HttpOptions:
        return types.HttpOptions(
            base_url=base_url,
            api_version=api_version,
            timeout=int(self._timeout * 1000),  # milliseconds
            retry_options=types.HttpRetryOptions(attempts=self._max_retries + 1),
        )

    @cached_property
    def gemini_client(self) -> genai.Client:
        """Gemini API client (generate_content)."""
        return genai.Client(
            vertexai=False,
            api_key=self._gemini_key,
            http_options=self._http_options(self._base_url, "v1beta"),
        )

    @cached_property
    def vertex_client(self) -> genai.Client:
        """Vertex AI client (generate_images, generate_videos, operations)."""
        assert self.vertex is not None
        options = self._http_options(self._vertex_base_url, None)
        if self.vertex.kind == "express":
            return genai.Client(vertexai=True, api_key=self.vertex.api_key, http_options=options)
        return genai.Client(
            vertexai=True,
            project=self.vertex.project,
            location=self.vertex.location,
            credentials=self.vertex.credentials,
            http_options=options,
        )

    def families(self) -> dict[str, bool]:
        """Which model families this adapter has credentials for."""
        return {"gemini": bool(self._gemini_key), "vertex": self.vertex is not None}

    def models(self) -> list[ModelInfo]:
        note = pricing.price_note
        on = self.families()
        found: list[ModelInfo] = []
        if on["gemini"]:
            found += [
                ModelInfo(m, label, price_note=note(self.name, m), family="gemini")
                for m, label in GEMINI_MODELS.items()
            ]
        if on["vertex"]:
            found += [
                ModelInfo(
                    m,
                    label,
                    modes=("text_to_image",),
                    price_note=note(self.name, m),
                    family="vertex",
                )
                for m, label in IMAGEN_MODELS.items()
            ]
            found += [
                ModelInfo(
                    m,
                    label,
                    kind="video",
                    modes=("text_to_video", "image_to_video"),
                    price_note=note(self.name, m),
                    family="vertex",
                )  # fmt: skip
                for m, label in VEO_MODELS.items()
            ]
        return found

    def available_models(self, family: str) -> set[str]:
        """The model ids a family's credential may use: one authenticated models list on its
        host (the Gemini API's models; Vertex AI's Google publisher models)."""
        probe = next(iter(VEO_MODELS if family == "vertex" else GEMINI_MODELS))

        def listed() -> set[str]:
            client = self.vertex_client if family == "vertex" else self.gemini_client
            pager = client.models.list(config={"page_size": 1000, "query_base": True})
            return {str(m.name).rsplit("/", 1)[-1] for m in pager if m.name}

        return self._call(probe, listed)

    def estimate_cost(self, model: str, request: ImageRequest | VideoRequest) -> float:
        return pricing.estimate(self.name, model, request)

    def _ready(self, model: str) -> str:
        """The model's family, or an auth error saying what to set (before any network)."""
        family = family_of(model)
        if not self.families()[family]:
            hint = VERTEX_HINT if family == "vertex" else GEMINI_HINT
            raise ProviderError(
                ErrorClass.AUTH, f"{model} cannot be used: {hint}", provider=self.name
            )
        return family

    def _call(self, model: str, fn: Any, *args: Any, **kw: Any) -> Any:
        family = self._ready(model)
        try:
            return fn(*args, **kw)
        except SDK_ERRORS as exc:
            hint = VERTEX_HINT if family == "vertex" else GEMINI_HINT
            raise map_exception(exc, self.name, hint) from exc

    # --- images and videos ----------------------------------------------------------------

    def generate_image(self, model: str, request: ImageRequest) -> ImageResult:
        if family_of(model) == "vertex":
            return self._call(
                model, lambda: vertex.imagen(self.vertex_client, model, request, self.name)
            )
        return self._call(
            model, lambda: gemini.generate(self.gemini_client, model, request, self.name)
        )

    def start_video(self, model: str, request: VideoRequest) -> str:
        if not model.startswith("veo-"):
            raise ProviderError(
                ErrorClass.PERMANENT, f"{model} does not make videos.", provider=self.name
            )
        return self._call(model, lambda: vertex.start_video(self.vertex_client, model, request))

    def finish_video(
        self,
        model: str,
        operation: str,
        request: VideoRequest,
        heartbeat: Heartbeat | None = None,
    ) -> VideoResult:
        return self._call(
            model,
            lambda: vertex.finish_video(
                self.vertex_client,
                model,
                operation,
                request,
                heartbeat=heartbeat,
                poll_interval=self.poll_interval,
                timeout=self.video_timeout,
                provider=self.name,
            ),  # fmt: skip
        )
