"""OpenAI Images API through the official `openai` SDK: generate, and edit with image + mask.

The studio composites the result over the source after the call (pixels outside the mask stay
identical), so this adapter only returns the provider's image bytes.
"""

from __future__ import annotations

import base64
import io
import math
from functools import cached_property
from typing import Any

import openai
from PIL import Image

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
from studio.providers.errors import SDK_ERRORS, map_exception, no_image_error
from studio.providers.shared import prompt_with_negative, sniff_mime

MODELS = ("gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2")
LABELS = {
    "gpt-image-1-mini": "GPT Image 1 mini",
    "gpt-image-1.5": "GPT Image 1.5",
    "gpt-image-2": "GPT Image 2",
}
FIXED_SIZES = ((1024, 1024), (1536, 1024), (1024, 1536))
QUALITIES = frozenset({"low", "medium", "high", "auto"})
MAX_EDGE, MAX_PIXELS = 3840, 3840 * 2160


def _arbitrary_size(model: str) -> bool:
    return model.startswith("gpt-image-2")


def size_for(model: str, width: int, height: int) -> str:
    """A size the model accepts, as close as possible to width×height.

    gpt-image-2 takes any W×H divisible by 16 (aspect 1:3..3:1, up to 3840×2160); older GPT
    image models take 1024×1024, 1536×1024 or 1024×1536 (the nearest aspect ratio wins).
    """
    width, height = max(width, 16), max(height, 16)
    wide, high = float(width), float(height)
    if not _arbitrary_size(model):
        ratio = math.log(width / height)
        w, h = min(FIXED_SIZES, key=lambda s: abs(math.log(s[0] / s[1]) - ratio))
        return f"{w}x{h}"
    ratio = min(max(width / height, 1 / 3), 3.0)
    if width / height != ratio:  # clamp the aspect ratio, keeping the area
        area = width * height
        wide, high = math.sqrt(area * ratio), math.sqrt(area / ratio)
    scale = min(1.0, MAX_EDGE / max(wide, high), math.sqrt(MAX_PIXELS / (wide * high)))
    w = max(16, int(wide * scale) // 16 * 16)
    h = max(16, int(high * scale) // 16 * 16)
    return f"{w}x{h}"


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


class OpenAIImagesProvider:
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
            ModelInfo(m, LABELS[m], price_note=pricing.price_note(self.name, m)) for m in MODELS
        ]

    def estimate_cost(self, model: str, request: ImageRequest | VideoRequest) -> float:
        return pricing.estimate(self.name, model, request)

    def generate_image(self, model: str, request: ImageRequest) -> ImageResult:
        common: dict[str, Any] = {
            "model": model,
            "prompt": prompt_with_negative(request),
            "size": size_for(model, request.width, request.height),
            "n": max(request.n, 1),
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
        return self._result(model, response)

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

    def _result(self, model: str, response: Any) -> ImageResult:
        images = [base64.b64decode(d.b64_json) for d in response.data or [] if d.b64_json]
        if not images:
            raise no_image_error(self.name)
        usage = response.usage.model_dump(exclude_none=True) if response.usage else {}
        return ImageResult(
            images=images,
            mime_type=f"image/{response.output_format or 'png'}",
            usage=usage,
            cost_actual=pricing.cost_from_usage(self.name, model, usage)
            if model.startswith("gpt-image-2") and usage
            else None,
            provider_request_id=getattr(response, "_request_id", None),
        )

    def generate_video(
        self, model: str, request: VideoRequest, heartbeat: Heartbeat | None = None
    ) -> VideoResult:
        raise ProviderError(
            ErrorClass.PERMANENT, "OpenAI images models do not make videos.", provider=self.name
        )
