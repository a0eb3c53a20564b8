"""Imagen (`generate_images`) and Veo (`generate_videos` + operation polling) on Vertex AI.

google-genai 3.x serves these two only on a Vertex client. Imagen 4 takes no negative prompt,
so it is folded into the prompt; `include_rai_reason` is always set, so a filtered image comes
back with its reason instead of looking like "no image". Veo 3.1 takes 4, 6 or 8 seconds and
1080p only at 8 s: the duration is snapped (pricing.video_seconds) and that duration is billed.
Audio is asked for explicitly (Veo 3 requires the choice; the table's prices are with audio).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

from google.genai import types

from studio.providers import pricing
from studio.providers.base import (
    ErrorClass,
    Heartbeat,
    ImageRequest,
    ImageResult,
    ProviderError,
    VideoRequest,
    VideoResult,
)
from studio.providers.errors import no_image_error, safety_error
from studio.providers.shared import nearest_aspect_ratio, prompt_with_negative, sniff_mime

IMAGEN_ASPECT_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9")
# gRPC codes on a failed long-running operation.
_OPERATION_CLASSES = {
    3: ErrorClass.PERMANENT,  # INVALID_ARGUMENT
    5: ErrorClass.PERMANENT,  # NOT_FOUND
    7: ErrorClass.AUTH,  # PERMISSION_DENIED
    8: ErrorClass.RATE_LIMIT,  # RESOURCE_EXHAUSTED
    9: ErrorClass.PERMANENT,  # FAILED_PRECONDITION
    16: ErrorClass.AUTH,  # UNAUTHENTICATED
}


def imagen(client: Any, model: str, request: ImageRequest, provider: str) -> ImageResult:
    if request.mode != "text_to_image":
        raise ProviderError(
            ErrorClass.PERMANENT,
            "Imagen makes images from text only; pick a Gemini model to edit an image.",
            provider=provider,
        )
    config = types.GenerateImagesConfig(
        number_of_images=max(request.n, 1),
        aspect_ratio=request.aspect_ratio
        if request.aspect_ratio in IMAGEN_ASPECT_RATIOS
        else nearest_aspect_ratio(request.width, request.height, IMAGEN_ASPECT_RATIOS),
        output_mime_type="image/png",
        include_rai_reason=True,
    )
    with warnings.catch_warnings():  # "generate_images is experimental/deprecated"
        warnings.simplefilter("ignore")
        response = client.models.generate_images(
            model=model, prompt=prompt_with_negative(request), config=config
        )
    generated = response.generated_images or []
    images = [g.image.image_bytes for g in generated if g.image and g.image.image_bytes]
    filtered = [g.rai_filtered_reason for g in generated if g.rai_filtered_reason]
    if not images:
        if filtered:
            raise safety_error("; ".join(filtered), provider)
        raise no_image_error(provider)
    price = pricing.price_for(provider, model).flat_per_image or 0.0
    return ImageResult(
        images=images,
        mime_type=next((g.image.mime_type for g in generated if g.image), None) or "image/png",
        usage={"images": len(images), "filtered": len(filtered)},
        cost_actual=round(price * len(images), 9),
    )


def start_video(client: Any, model: str, request: VideoRequest) -> str:
    """Submit the video; the operation's name is what `finish_video` needs."""
    source = types.GenerateVideosSource(
        prompt=request.prompt,
        image=types.Image(
            image_bytes=request.source,
            mime_type=request.mime_type or sniff_mime(request.source),
        )
        if request.source
        else None,
    )
    config = types.GenerateVideosConfig(
        aspect_ratio=request.aspect_ratio,
        duration_seconds=pricing.video_seconds(model, request),
        resolution=request.resolution,
        negative_prompt=request.negative_prompt or None,
        number_of_videos=1,
        seed=request.seed,
        generate_audio=True,
    )
    operation = client.models.generate_videos(model=model, source=source, config=config)
    if not operation.name:
        raise ProviderError(
            ErrorClass.TEMPORARY,
            "The provider did not name the video operation.",
            provider="google",
        )
    return str(operation.name)


def finish_video(
    client: Any,
    model: str,
    operation_name: str,
    request: VideoRequest,
    *,
    heartbeat: Heartbeat | None,
    poll_interval: float,
    timeout: float,
    provider: str,
) -> VideoResult:
    """Poll the operation until done (heartbeat before each wait), then read the video."""
    deadline = time.monotonic() + timeout
    named = types.GenerateVideosOperation.model_validate({"name": operation_name})
    operation = client.operations.get(named)
    while not operation.done:
        if heartbeat is not None:
            heartbeat()
        if time.monotonic() > deadline:
            raise ProviderError(
                ErrorClass.TEMPORARY,
                f"The video was not ready after {timeout:.0f} s; it will be polled again.",
                provider=provider,
            )
        time.sleep(poll_interval)
        operation = client.operations.get(operation)
    return _video_result(model, operation, request, provider)


def _video_result(model: str, operation: Any, request: VideoRequest, provider: str) -> VideoResult:
    if operation.error:
        code = operation.error.get("code")
        message = str(operation.error.get("message") or operation.error)
        if "usage guidelines" in message.lower() or "safety" in message.lower():
            raise safety_error(message, provider)
        raise ProviderError(
            _OPERATION_CLASSES.get(code, ErrorClass.TEMPORARY), message, provider=provider
        )
    response = operation.response or operation.result
    videos = (response.generated_videos or []) if response else []
    video = videos[0].video if videos else None
    if video is None or not video.video_bytes:
        reasons = response.rai_media_filtered_reasons if response else None
        if reasons or (response and response.rai_media_filtered_count):
            raise safety_error("; ".join(reasons or []) or None, provider)
        raise ProviderError(
            ErrorClass.PERMANENT, "The provider returned no video.", provider=provider
        )
    seconds = pricing.video_seconds(model, request)
    price = pricing.price_for(provider, model).per_second or 0.0
    return VideoResult(
        video=video.video_bytes,
        mime_type=video.mime_type or "video/mp4",
        usage={"seconds": seconds, "resolution": request.resolution},
        cost_actual=round(price * seconds, 9),
        provider_request_id=operation.name,
    )
