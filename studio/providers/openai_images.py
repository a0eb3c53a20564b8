"""OpenAI Images API through the official `openai` SDK: generate, and edit with image + mask.

The studio composites the result over the source after the call (pixels outside the mask stay
identical), so this adapter only returns the provider's image bytes. Sizes are snapped to what
the model accepts before the call (openai_sizes); the cost is that of the size and quality the
answer says were used.
"""

from __future__ import annotations

import io
from functools import cached_property
from typing import Any

import openai
from PIL import Image

from studio.providers import pricing
from studio.providers.base import (
    ErrorClass,
    ImageRequest,
    ImageResult,
    ModelInfo,
    NoVideos,
    ProviderError,
    VideoRequest,
)
from studio.providers.errors import SDK_ERRORS, map_exception, no_image_error
from studio.providers.openai_sizes import size_text
from studio.providers.shared import decode_base64, prompt_with_negative, sniff_mime

MODELS = ("gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2")
LABELS = {
    "gpt-image-1-mini": "GPT Image 1 mini",
    "gpt-image-1.5": "GPT Image 1.5",
    "gpt-image-2": "GPT Image 2",
}
QUALITIES = frozenset({"low", "medium", "high", "auto"})
MAX_IMAGES = 10  # `n` is 1–10


def openai_mask(mask: bytes, image: bytes) -> bytes:
    """Studio mask (white = change) → OpenAI mask: RGBA PNG, image-sized, alpha 0 = change."""
    with Image.open(io.BytesIO(image)) as src:
        size = src.size
    with Image.open(io.BytesIO(mask)) as m:
        gray = m.convert("L")
    if gray.size != size:
        gray = gray.resize(size, Image.Resampling.NEAREST)
    alpha = gray.point(lambda v: 0 if v >= 128 else 255)
    out = Image.new("RGBA", size, (0, 0, 0, 255))
    out.putalpha(alpha)
    buf = io.BytesIO()
    out.save(buf, format="PNG")
    return buf.getvalue()


class OpenAIImagesProvider(NoVideos):
    """`openai` Images API: text_to_image → images.generate; edits → images.edit."""

    name = "openai"
    label = "OpenAI"

    def __init__(
        self,
        api_key: str,
        base_url: str | None = None,
        timeout: float = 180.0,
        max_retries: int = 2,
    ) -> None:
        self._api_key = api_key
        self._base_url = base_url
        self._timeout = timeout
        self._max_retries = max_retries

    @cached_property
    def client(self) -> openai.OpenAI:
        return openai.OpenAI(
            api_key=self._api_key,
            base_url=self._base_url,
            timeout=self._timeout,
            max_retries=self._max_retries,
        )

    def models(self) -> list[ModelInfo]:
        return [
            ModelInfo(m, LABELS[m], price_note=pricing.price_note(self.name, m), family="gpt-image")
            for m in MODELS
        ]

    def available_models(self) -> set[str]:
        """The model ids this key may use: one authenticated `GET /models`."""
        try:
            return {m.id for m in self.client.models.list()}
        except SDK_ERRORS as exc:
            raise map_exception(exc, self.name) from exc

    def estimate_cost(self, model: str, request: ImageRequest | VideoRequest) -> float:
        return pricing.estimate(self.name, model, request)

    def generate_image(self, model: str, request: ImageRequest) -> ImageResult:
        if not 1 <= request.n <= MAX_IMAGES:
            raise ProviderError(
                ErrorClass.PERMANENT,
                f"OpenAI makes 1 to {MAX_IMAGES} images per request, not {request.n}.",
                provider=self.name,
            )
        common: dict[str, Any] = {
            "model": model,
            "prompt": prompt_with_negative(request),
            "size": size_text(model, request.width, request.height),
            "n": request.n,
        }
        if request.quality in QUALITIES:
            common["quality"] = request.quality
        try:
            if request.mode == "text_to_image":
                response = self.client.images.generate(**common)
            else:
                response = self.client.images.edit(**self._edit_files(request), **common)
        except SDK_ERRORS as exc:
            raise map_exception(exc, self.name) from exc
        return self._result(model, response, common)

    def _edit_files(self, request: ImageRequest) -> dict[str, Any]:
        """The multipart files: `image`, plus `mask` (converted) for inpainting."""
        if request.source is None:
            raise ProviderError(
                ErrorClass.PERMANENT, f"{request.mode} needs a source image.", provider=self.name
            )
        mime = sniff_mime(request.source)
        files: dict[str, Any] = {"image": (f"image.{mime.split('/')[1]}", request.source, mime)}
        if request.mode == "inpaint" and request.mask is not None:
            try:
                mask = openai_mask(request.mask, request.source)
            except (OSError, ValueError) as exc:  # unreadable image or mask
                raise ProviderError(
                    ErrorClass.PERMANENT, f"Could not prepare the mask: {exc}", provider=self.name
                ) from exc
            files["mask"] = ("mask.png", mask, "image/png")
        return files

    def _result(self, model: str, response: Any, sent: dict[str, Any]) -> ImageResult:
        images = [decode_base64(d.b64_json, self.name) for d in response.data or [] if d.b64_json]
        if not images:
            raise no_image_error(self.name)
        usage = response.usage.model_dump(exclude_none=True) if response.usage else {}
        size = response.size or sent["size"]  # what was used, as the answer says
        quality = response.quality or sent.get("quality")
        return ImageResult(
            images=images,
            mime_type=f"image/{response.output_format or 'png'}",
            usage={**usage, "size": size, "quality": pricing.budget_quality(quality)},
            cost_actual=pricing.openai_images_cost(
                model, usage, size=size, quality=quality, images=len(images)
            ),
            provider_request_id=getattr(response, "_request_id", None),
        )
