"""Google through the official `google-genai` SDK: Gemini image, Imagen and Veo.

Gemini image models use `models.generate_content` on a Gemini API client. In google-genai 3.4
`generate_images` / `generate_videos` raise ValueError on such a client, so Imagen and Veo use a
second client built with `vertexai=True` and the same key (Vertex AI express mode). A base-URL
override (GOOGLE_BASE_URL) applies to both. Gemini has no mask input: the studio composites.
"""

from __future__ import annotations

import time
import warnings
from functools import cached_property
from typing import Any

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
    Turn,
    VideoRequest,
    VideoResult,
)
from studio.providers.errors import (
    GEMINI_SAFETY_REASONS,
    SDK_ERRORS,
    map_exception,
    no_image_error,
    safety_error,
)
from studio.providers.shared import (
    GEMINI_ASPECT_RATIOS,
    nearest_aspect_ratio,
    prompt_with_negative,
    sniff_mime,
)

GEMINI_MODELS = {
    "gemini-2.5-flash-image": "Gemini 2.5 Flash Image",
    "gemini-3.1-flash-image-preview": "Gemini 3.1 Flash Image (preview)",
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
IMAGEN_ASPECT_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9")
VEO_DURATIONS = (4, 6, 8)
# gRPC codes on a failed long-running operation.
_OPERATION_CLASSES = {
    3: ErrorClass.PERMANENT,  # INVALID_ARGUMENT
    5: ErrorClass.PERMANENT,  # NOT_FOUND
    7: ErrorClass.AUTH,  # PERMISSION_DENIED
    8: ErrorClass.RATE_LIMIT,  # RESOURCE_EXHAUSTED
    9: ErrorClass.PERMANENT,  # FAILED_PRECONDITION
    16: ErrorClass.AUTH,  # UNAUTHENTICATED
}


def _reason(value: Any) -> str | None:
    """An SDK enum (or plain string) as its wire name."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


class GoogleProvider:
    """Gemini image (generate_content), Imagen (generate_images), Veo (generate_videos)."""

    name = "google"
    label = "Google (Gemini, Imagen, Veo)"

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        timeout: float = 180.0,
        max_retries: int = 2,
        poll_interval: float = 10.0,
        video_timeout: float = 900.0,
    ) -> None:
        self._api_key = api_key
        self._base_url = base_url
        self._timeout = timeout
        self._max_retries = max_retries
        self.poll_interval = poll_interval
        self.video_timeout = video_timeout

    def _http_options(self, api_version: str | None) -> types.HttpOptions:
        return types.HttpOptions(
            base_url=self._base_url,
            api_version=api_version,
            timeout=int(self._timeout * 1000),  # milliseconds
            retry_options=types.HttpRetryOptions(attempts=self._max_retries + 1),
        )

    @cached_property
    def gemini_client(self) -> genai.Client:
        """Gemini API client (generate_content)."""
        return genai.Client(
            vertexai=False, api_key=self._api_key, http_options=self._http_options("v1beta")
        )

    @cached_property
    def vertex_client(self) -> genai.Client:
        """Vertex AI express-mode client (generate_images, generate_videos, operations)."""
        return genai.Client(
            vertexai=True, api_key=self._api_key, http_options=self._http_options(None)
        )

    def models(self) -> list[ModelInfo]:
        note = pricing.price_note
        return [
            *(
                ModelInfo(m, label, price_note=note(self.name, m))
                for m, label in GEMINI_MODELS.items()
            ),
            *(
                ModelInfo(m, label, modes=("text_to_image",), price_note=note(self.name, m))
                for m, label in IMAGEN_MODELS.items()
            ),
            *(
                ModelInfo(
                    m,
                    label,
                    kind="video",
                    modes=("text_to_video", "image_to_video"),
                    price_note=note(self.name, m),
                )
                for m, label in VEO_MODELS.items()
            ),
        ]

    def estimate_cost(self, model: str, request: ImageRequest | VideoRequest) -> float:
        return pricing.estimate(self.name, model, request)

    # --- images --------------------------------------------------------------------------

    def generate_image(self, model: str, request: ImageRequest) -> ImageResult:
        try:
            if model in IMAGEN_MODELS or model.startswith("imagen-"):
                return self._imagen(model, request)
            return self._gemini(model, request)
        except SDK_ERRORS as exc:
            raise map_exception(exc, self.name) from exc

    def _gemini_contents(self, request: ImageRequest) -> list[types.Content]:
        contents = [_turn_content(t) for t in request.context if t.text or t.image]
        parts = [types.Part.from_text(text=prompt_with_negative(request))]
        if request.mode != "text_to_image":
            if request.source is None:
                raise ProviderError(
                    ErrorClass.PERMANENT,
                    f"{request.mode} needs a source image.",
                    provider=self.name,
                )
            parts.append(
                types.Part.from_bytes(data=request.source, mime_type=_mime(request.source))
            )
        contents.append(types.Content(role="user", parts=parts))
        return contents

    def _gemini(self, model: str, request: ImageRequest) -> ImageResult:
        aspect = request.aspect_ratio or nearest_aspect_ratio(
            request.width, request.height, GEMINI_ASPECT_RATIOS
        )
        config = types.GenerateContentConfig(
            response_modalities=["TEXT", "IMAGE"],
            image_config=types.ImageConfig(aspect_ratio=aspect),
            seed=request.seed,
        )
        contents = self._gemini_contents(request)
        images: list[bytes] = []
        texts: list[str] = []
        usage: dict[str, int] = {}
        mime, request_id = "image/png", None
        for _ in range(max(request.n, 1)):  # Gemini image models answer one image per call
            response = self.gemini_client.models.generate_content(
                model=model, contents=contents, config=config
            )
            got, text, mime = self._gemini_images(response)
            images += got
            if text:
                texts.append(text)
            request_id = request_id or response.response_id
            meta = response.usage_metadata
            for key, value in (meta.model_dump(exclude_none=True) if meta else {}).items():
                if isinstance(value, int):
                    usage[key] = usage.get(key, 0) + value
        return ImageResult(
            images=images,
            mime_type=mime,
            text="\n".join(texts) or None,
            usage=usage,
            cost_actual=pricing.cost_from_usage(self.name, model, usage) if usage else None,
            provider_request_id=request_id,
        )

    def _gemini_images(self, response: Any) -> tuple[list[bytes], str | None, str]:
        """Images, text and mime type of one response; safety and emptiness are errors."""
        feedback = response.prompt_feedback
        if feedback is not None and feedback.block_reason is not None:
            detail = feedback.block_reason_message or _reason(feedback.block_reason)
            raise safety_error(detail, self.name)
        candidate = (response.candidates or [None])[0]
        if candidate is None:
            raise no_image_error(self.name)
        finish = _reason(candidate.finish_reason)
        parts = candidate.content.parts if candidate.content and candidate.content.parts else []
        text = "".join(p.text for p in parts if p.text and not p.thought) or None
        if finish in GEMINI_SAFETY_REASONS:
            said = candidate.finish_message or text
            raise safety_error(f"{said} ({finish})" if said else finish, self.name)
        images, mime = [], "image/png"
        for part in parts:
            if part.inline_data is not None and part.inline_data.data and not part.thought:
                images.append(part.inline_data.data)
                mime = part.inline_data.mime_type or mime
        if not images:
            raise no_image_error(self.name, text)
        return images, text, mime

    def _imagen(self, model: str, request: ImageRequest) -> ImageResult:
        if request.mode != "text_to_image":
            raise ProviderError(
                ErrorClass.PERMANENT,
                "Imagen makes images from text only; pick a Gemini model to edit an image.",
                provider=self.name,
            )
        config = types.GenerateImagesConfig(
            number_of_images=max(request.n, 1),
            aspect_ratio=request.aspect_ratio
            if request.aspect_ratio in IMAGEN_ASPECT_RATIOS
            else nearest_aspect_ratio(request.width, request.height, IMAGEN_ASPECT_RATIOS),
            negative_prompt=request.negative_prompt or None,
            output_mime_type="image/png",
        )
        with warnings.catch_warnings():  # "generate_images is deprecated" (SDK 3.4)
            warnings.simplefilter("ignore")
            response = self.vertex_client.models.generate_images(
                model=model, prompt=request.prompt, config=config
            )
        generated = response.generated_images or []
        images = [g.image.image_bytes for g in generated if g.image and g.image.image_bytes]
        if not images:
            filtered = [g.rai_filtered_reason for g in generated if g.rai_filtered_reason]
            if filtered:
                raise safety_error("; ".join(filtered), self.name)
            raise no_image_error(self.name)
        price = pricing.price_for(self.name, model).flat_per_image or 0.0
        return ImageResult(
            images=images,
            mime_type=next(g.image.mime_type for g in generated if g.image) or "image/png",
            usage={"images": len(images)},
            cost_actual=round(price * len(images), 6),
        )

    # --- video ---------------------------------------------------------------------------

    def generate_video(
        self, model: str, request: VideoRequest, heartbeat: Heartbeat | None = None
    ) -> VideoResult:
        duration = min(VEO_DURATIONS, key=lambda d: abs(d - request.duration_s))
        source = types.GenerateVideosSource(
            prompt=request.prompt,
            image=types.Image(image_bytes=request.source, mime_type=_mime(request.source))
            if request.source
            else None,
        )
        config = types.GenerateVideosConfig(
            aspect_ratio=request.aspect_ratio,
            duration_seconds=duration,
            resolution=request.resolution,
            negative_prompt=request.negative_prompt or None,
            number_of_videos=1,
            seed=request.seed,
        )
        try:
            operation = self.vertex_client.models.generate_videos(
                model=model, source=source, config=config
            )
            operation = self._wait(operation, heartbeat)
        except SDK_ERRORS as exc:
            raise map_exception(exc, self.name) from exc
        return self._video_result(model, operation, duration)

    def _wait(self, operation: Any, heartbeat: Heartbeat | None) -> Any:
        """Poll until done, calling heartbeat() on every round (no retry loop: SDK retries)."""
        deadline = time.monotonic() + self.video_timeout
        while not operation.done:
            if heartbeat is not None:
                heartbeat()
            if time.monotonic() > deadline:
                raise ProviderError(
                    ErrorClass.TEMPORARY,
                    f"The video was not ready after {self.video_timeout:.0f} s.",
                    provider=self.name,
                )
            time.sleep(self.poll_interval)
            operation = self.vertex_client.operations.get(operation)
        return operation

    def _video_result(self, model: str, operation: Any, duration: int) -> VideoResult:
        if operation.error:
            code = operation.error.get("code")
            message = str(operation.error.get("message") or operation.error)
            if "usage guidelines" in message.lower() or "safety" in message.lower():
                raise safety_error(message, self.name)
            error_class = _OPERATION_CLASSES.get(code, ErrorClass.TEMPORARY)
            raise ProviderError(error_class, message, provider=self.name)
        response = operation.response or operation.result
        videos = (response.generated_videos or []) if response else []
        video = videos[0].video if videos else None
        if video is None or not video.video_bytes:
            reasons = response.rai_media_filtered_reasons if response else None
            if reasons or (response and response.rai_media_filtered_count):
                raise safety_error("; ".join(reasons or []) or None, self.name)
            raise ProviderError(
                ErrorClass.PERMANENT, "The provider returned no video.", provider=self.name
            )
        price = pricing.price_for(self.name, model).per_second or 0.0
        return VideoResult(
            video=video.video_bytes,
            mime_type=video.mime_type or "video/mp4",
            usage={"seconds": duration},
            cost_actual=round(price * duration, 6),
            provider_request_id=operation.name,
        )


def _mime(data: bytes | None) -> str:
    return sniff_mime(data or b"")


def _turn_content(turn: Turn) -> types.Content:
    """An earlier exchange replayed as a Gemini turn (assistant → role "model")."""
    parts = [types.Part.from_text(text=turn.text)] if turn.text else []
    if turn.image:
        parts.append(types.Part.from_bytes(data=turn.image, mime_type=turn.mime_type))
    return types.Content(role="model" if turn.role == "assistant" else "user", parts=parts)
