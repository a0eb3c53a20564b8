"""Gemini image models (`models.generate_content` on the Gemini API): request and answer.

Earlier turns are replayed inside the one user message, their pictures as reference images
(shared.replay_parts): Gemini 3 image models refuse a replayed model-role image without its
original thought signature, and the thumbnails the studio keeps cannot carry one. Answers of
Gemini 3 carry `thoughtSignature` on their parts and may carry thought parts; thoughts are
skipped. Safety is reported inside HTTP 200 (finishReason, promptFeedback.blockReason).
"""

from __future__ import annotations

from typing import Any

from google.genai import types

from studio.providers import pricing
from studio.providers.base import ErrorClass, ImageRequest, ImageResult, ProviderError
from studio.providers.errors import GEMINI_SAFETY_REASONS, no_image_error, safety_error
from studio.providers.shared import (
    GEMINI_ASPECT_RATIOS,
    nearest_aspect_ratio,
    prompt_with_negative,
    replay_parts,
    sniff_mime,
)


def _reason(value: Any) -> str | None:
    """An SDK enum (or plain string) as its wire name."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


def contents(request: ImageRequest, provider: str) -> list[types.Content]:
    """One user turn: the replayed context, the prompt, and the source image of an edit."""
    parts = [
        types.Part.from_text(text=p)
        if isinstance(p, str)
        else types.Part.from_bytes(data=p[0], mime_type=p[1])
        for p in replay_parts(request.context)
    ]
    parts.append(types.Part.from_text(text=prompt_with_negative(request)))
    if request.mode != "text_to_image":
        if request.source is None:
            raise ProviderError(
                ErrorClass.PERMANENT, f"{request.mode} needs a source image.", provider=provider
            )
        parts.append(
            types.Part.from_bytes(data=request.source, mime_type=sniff_mime(request.source))
        )
    return [types.Content(role="user", parts=parts)]


def config(request: ImageRequest) -> types.GenerateContentConfig:
    aspect = request.aspect_ratio or nearest_aspect_ratio(
        request.width, request.height, GEMINI_ASPECT_RATIOS
    )
    if aspect not in GEMINI_ASPECT_RATIOS:
        aspect = nearest_aspect_ratio(request.width, request.height, GEMINI_ASPECT_RATIOS)
    return types.GenerateContentConfig(
        response_modalities=["TEXT", "IMAGE"],
        image_config=types.ImageConfig(aspect_ratio=aspect),
        seed=request.seed,
    )


def images_of(response: Any, provider: str) -> tuple[list[bytes], str | None, str]:
    """Images, text and mime type of one answer; safety and emptiness are errors."""
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason is not None:
        detail = feedback.block_reason_message or _reason(feedback.block_reason)
        raise safety_error(detail, provider)
    candidate = (response.candidates or [None])[0]
    if candidate is None:
        raise no_image_error(provider)
    finish = _reason(candidate.finish_reason)
    parts = candidate.content.parts if candidate.content and candidate.content.parts else []
    text = "".join(p.text for p in parts if p.text and not p.thought) or None
    if finish in GEMINI_SAFETY_REASONS:
        said = candidate.finish_message or text
        raise safety_error(f"{said} ({finish})" if said else finish, provider)
    images, mime = [], "image/png"
    for part in parts:
        if part.inline_data is not None and part.inline_data.data and not part.thought:
            images.append(part.inline_data.data)
            mime = part.inline_data.mime_type or mime
    if not images:
        raise no_image_error(provider, text)
    return images, text, mime


def _add_usage(total: dict[str, Any], meta: Any) -> None:
    """Sum usage metadata over calls (token counts, and the per-modality output details)."""
    for key, value in (meta.model_dump(exclude_none=True, mode="json") if meta else {}).items():
        if isinstance(value, int) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value
        elif key == "candidates_tokens_details" and isinstance(value, list):
            merged = {d.get("modality"): d.get("token_count", 0) for d in total.get(key, [])}
            for d in value:
                merged[d.get("modality")] = merged.get(d.get("modality"), 0) + d.get(
                    "token_count", 0
                )
            total[key] = [{"modality": m, "token_count": c} for m, c in merged.items()]


def generate(client: Any, model: str, request: ImageRequest, provider: str) -> ImageResult:
    """`request.n` images, one generate_content call each (Gemini answers one per call)."""
    body, settings = contents(request, provider), config(request)
    images: list[bytes] = []
    texts: list[str] = []
    usage: dict[str, Any] = {}
    mime, request_id = "image/png", None
    for _ in range(max(request.n, 1)):
        response = client.models.generate_content(model=model, contents=body, config=settings)
        got, text, mime = images_of(response, provider)
        images += got
        if text:
            texts.append(text)
        request_id = request_id or response.response_id
        _add_usage(usage, response.usage_metadata)
    return ImageResult(
        images=images,
        mime_type=mime,
        text="\n".join(texts) or None,
        usage=usage,
        cost_actual=pricing.gemini_cost(model, usage),
        provider_request_id=request_id,
    )
