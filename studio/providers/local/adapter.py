"""The built-in offline renderer as a provider: the studio works with no keys.

Images come from the painter, videos from the video module. No database, no storage, no network.
"""

from __future__ import annotations

import hashlib
import io

import numpy as np
from PIL import Image, UnidentifiedImageError

from studio.providers.base import (
    Heartbeat,
    ImageRequest,
    ImageResult,
    ModelInfo,
    ProviderError,
    VideoRequest,
    VideoResult,
    generate_video,
)
from studio.providers.local.painter import blend, encode_png, render_scene
from studio.providers.local.video import FPS, encode_video, ken_burns_frames, scene_frames

IMAGE_MODEL = "sketch"
VIDEO_MODEL = "motion"
MAX_SIDE = 8192
MAX_PIXELS = 40_000_000
MAX_IMAGES = 8

DURATIONS = (4, 6, 8)
ASPECTS = ("16:9", "9:16")
# Nominal sizes of each resolution (landscape); the offline preview is rendered at half of it.
RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080)}
PREVIEW_DIVISOR = 2


class LocalProvider:
    """Offline image and video renderer; free, deterministic, no keys."""

    name = "local"
    label = "Offline renderer"

    def models(self) -> list[ModelInfo]:
        return [
            ModelInfo(
                IMAGE_MODEL,
                "Offline sketch",
                kind="image",
                modes=("text_to_image", "image_to_image", "inpaint"),
                price_note="free, offline",
                family="offline",
            ),
            ModelInfo(
                VIDEO_MODEL,
                "Offline motion",
                kind="video",
                modes=("text_to_video", "image_to_video"),
                price_note="free, offline",
                family="offline",
            ),
        ]

    def estimate_cost(self, model: str, request: ImageRequest | VideoRequest) -> float:
        return 0.0

    def generate_image(self, model: str, request: ImageRequest) -> ImageResult:
        """Render `request.n` images with seeds seed, seed+1, ... as PNG bytes."""
        _check_model(model, IMAGE_MODEL)
        prompt = _require_prompt(request.prompt)
        if not 1 <= request.n <= MAX_IMAGES:
            raise ProviderError(
                "permanent", f"The offline renderer makes 1 to {MAX_IMAGES} images at a time."
            )
        seed = _seed(request.seed)
        seeds = [seed + i for i in range(request.n)]
        if request.mode == "text_to_image":
            _check_size(request.width, request.height)
            arrays = [render_scene(prompt, s, request.width, request.height) for s in seeds]
            what = "Offline sketch"
        elif request.mode in ("image_to_image", "inpaint"):
            strength = _strength(request)
            source = _source_rgb(request.source, request.mode)
            height, width = source.shape[:2]
            weight: np.ndarray | np.float32 = np.float32(strength)
            if request.mode == "inpaint":
                weight = _mask_weights(request.mask, width, height) * np.float32(strength)
            arrays = [blend(source, render_scene(prompt, s, width, height), weight) for s in seeds]
            what = "Offline sketch edit" if request.mode == "image_to_image" else "Offline inpaint"
            what += f" at strength {strength:g}"
        else:
            raise ProviderError("permanent", f"The offline renderer cannot do '{request.mode}'.")
        return ImageResult(
            images=[encode_png(a) for a in arrays],
            mime_type="image/png",
            text=f"{what} of '{_short(prompt)}' ({_seed_label(seeds)}).",
            usage={"renderer": "local"},
            cost_actual=0.0,
        )

    def start_video(self, model: str, request: VideoRequest) -> str:
        """Check the request; the "operation" is named after what it will render."""
        _check_model(model, VIDEO_MODEL)
        _video_shape(request)
        if request.source is None:
            _require_prompt(request.prompt)
        digest = hashlib.sha256(
            repr(
                (
                    request.prompt,
                    request.seed,
                    request.aspect_ratio,
                    request.duration_s,
                    request.resolution,
                )
            ).encode()
        )
        return f"local-video/{digest.hexdigest()[:16]}"

    def finish_video(
        self,
        model: str,
        operation: str,
        request: VideoRequest,
        heartbeat: Heartbeat | None = None,
    ) -> VideoResult:
        """Render a short clip at 12 fps.

        The offline preview is rendered at half the nominal resolution (720p -> 640x360 or
        360x640, 1080p -> 960x540) so an 8 s clip takes a second or two on two cores.
        """
        _check_model(model, VIDEO_MODEL)
        width, height, frames = _video_shape(request)
        seed = _seed(request.seed)
        if request.source is not None:
            source = Image.fromarray(_source_rgb(request.source, "image_to_video"))
            frame_iter = ken_burns_frames(source, seed, width, height, frames)
        else:
            prompt = _require_prompt(request.prompt)
            frame_iter = scene_frames(prompt, seed, width, height, frames)
        video, mime = encode_video(frame_iter, width, height, heartbeat)
        return VideoResult(
            video=video,
            mime_type=mime,
            usage={"renderer": "local", "frames": frames},
            cost_actual=0.0,
            provider_request_id=operation,
        )

    def generate_video(
        self, model: str, request: VideoRequest, heartbeat: Heartbeat | None = None
    ) -> VideoResult:
        """Start and finish in one go."""
        return generate_video(self, model, request, heartbeat)


# --------------------------------------------------------------------------- validation


def _check_model(model: str, expected: str) -> None:
    if model != expected:
        raise ProviderError("permanent", f"The offline renderer has no model '{model}'.")


def _require_prompt(prompt: str | None) -> str:
    text = (prompt or "").strip()
    if not text:
        raise ProviderError("permanent", "Write a prompt first: the prompt is empty.")
    return text


def _seed(seed: int | None) -> int:
    return 0 if seed is None else int(seed)


def _check_size(width: int, height: int) -> None:
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE) or width * height > MAX_PIXELS:
        raise ProviderError(
            "permanent",
            f"Width and height must be 1 to {MAX_SIDE} pixels and at most "
            f"{MAX_PIXELS // 1_000_000} MP in total (got {width}x{height}).",
        )


def _strength(request: ImageRequest) -> float:
    strength = request.strength
    if strength is None:
        strength = 1.0 if request.mode == "inpaint" else 0.6
    if not 0.0 <= strength <= 1.0:
        raise ProviderError("permanent", f"Strength must be between 0 and 1 (got {strength}).")
    return float(strength)


def _decode(data: bytes, what: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ProviderError("permanent", f"The {what} could not be decoded: {exc}") from exc
    return image


def _source_rgb(source: bytes | None, mode: str) -> np.ndarray:
    """Decode the source as an RGB array; transparent areas are flattened onto white."""
    if not source:
        label = mode.replace("_", "-")
        raise ProviderError("permanent", f"{label} needs a source image, and none was given.")
    image = _decode(source, "source image")
    _check_size(*image.size)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat.alpha_composite(rgba)
        image = flat
    return np.asarray(image.convert("RGB"))


def _mask_weights(mask: bytes | None, width: int, height: int) -> np.ndarray:
    """Per-pixel change weights 0..1 from the studio's mask (L-mode, white = change)."""
    if not mask:
        raise ProviderError("permanent", "Inpainting needs a mask, and none was given.")
    image = _decode(mask, "mask")
    if image.size != (width, height):
        raise ProviderError("permanent", "The mask size does not match the image.")
    return np.asarray(image.convert("L"), dtype=np.float32)[..., None] / np.float32(255)


def _video_shape(request: VideoRequest) -> tuple[int, int, int]:
    """(width, height, frame count) of the offline preview, or a permanent error."""
    if request.duration_s not in DURATIONS:
        raise ProviderError(
            "permanent", f"Duration must be one of {DURATIONS} seconds (got {request.duration_s})."
        )
    if request.aspect_ratio not in ASPECTS:
        raise ProviderError(
            "permanent", f"Aspect ratio must be 16:9 or 9:16 (got {request.aspect_ratio})."
        )
    if request.resolution not in RESOLUTIONS:
        raise ProviderError(
            "permanent",
            f"Resolution must be one of {', '.join(RESOLUTIONS)} (got {request.resolution}).",
        )
    long_side, short_side = (s // PREVIEW_DIVISOR for s in RESOLUTIONS[request.resolution])
    if request.aspect_ratio == "16:9":
        return long_side, short_side, request.duration_s * FPS
    return short_side, long_side, request.duration_s * FPS


def _short(prompt: str, limit: int = 80) -> str:
    text = " ".join(prompt.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _seed_label(seeds: list[int]) -> str:
    return f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}–{seeds[-1]}"
