"""OpenRouter chat completions with image output, through the official `openai` SDK.

A song's verses are illustrated in one conversation: the conversation id travels as the body
field `session_id` and the headers `x-session-id` / `X-Conversation-ID`, and earlier verses are
replayed as turns (assistant turns carry their summary text and a thumbnail image). The source
image of an edit is sent as an image part; the mask is NOT sent (chat models take none): the
studio composites the result so that pixels outside the mask stay identical to the source.
"""

from __future__ import annotations

import base64
import binascii
from functools import cached_property
from typing import Any

import openai

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
    class_for_status,
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

KNOWN_MODELS = {
    "google/gemini-2.5-flash-image": "Gemini 2.5 Flash Image (OpenRouter)",
    "google/gemini-3.1-flash-image-preview": "Gemini 3.1 Flash Image preview (OpenRouter)",
}
DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"


def data_url(data: bytes, mime_type: str | None = None) -> str:
    mime = mime_type or sniff_mime(data)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def parse_data_url(url: str) -> tuple[bytes, str] | None:
    """(bytes, mime type) of a base64 data URL; None for anything else."""
    if not url.startswith("data:") or "," not in url:
        return None
    header, payload = url[5:].split(",", 1)
    if not header.endswith(";base64"):
        return None
    try:
        return base64.b64decode(payload), header[: -len(";base64")] or "image/png"
    except (binascii.Error, ValueError):
        return None


def _image_part(data: bytes, mime_type: str | None = None) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": data_url(data, mime_type)}}


def turn_message(turn: Turn) -> dict[str, Any]:
    """An earlier exchange as a chat message with text and image parts."""
    content: list[dict[str, Any]] = []
    if turn.text:
        content.append({"type": "text", "text": turn.text})
    if turn.image:
        content.append(_image_part(turn.image, turn.mime_type))
    return {"role": turn.role, "content": content}


def _field(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


class OpenRouterProvider:
    """Image models behind OpenRouter's `/chat/completions` with `modalities: [image, text]`."""

    name = "openrouter"
    label = "OpenRouter"

    def __init__(
        self,
        api_key: str,
        model: str = "google/gemini-2.5-flash-image",
        base_url: str = DEFAULT_BASE_URL,
        http_referer: str | None = None,
        app_title: str = "Image Studio",
        timeout: float = 180.0,
        max_retries: int = 2,
    ) -> None:
        self._api_key = api_key
        self.model = model
        self._base_url = base_url
        self._headers = {"X-Title": app_title}
        if http_referer:
            self._headers["HTTP-Referer"] = http_referer
        self._timeout = timeout
        self._max_retries = max_retries

    @cached_property
    def client(self) -> openai.OpenAI:
        return openai.OpenAI(
            api_key=self._api_key,
            base_url=self._base_url,
            default_headers=self._headers,
            timeout=self._timeout,
            max_retries=self._max_retries,
        )

    def models(self) -> list[ModelInfo]:
        ids = dict.fromkeys([self.model, *KNOWN_MODELS])
        return [
            ModelInfo(m, KNOWN_MODELS.get(m, m), price_note=pricing.price_note(self.name, m))
            for m in ids
        ]

    def estimate_cost(self, model: str, request: ImageRequest | VideoRequest) -> float:
        return pricing.estimate(self.name, model, request)

    def messages(self, request: ImageRequest) -> list[dict[str, Any]]:
        """Replayed turns, then the new user message (prompt + source image for edits)."""
        messages = [turn_message(t) for t in request.context if t.text or t.image]
        content: list[dict[str, Any]] = [{"type": "text", "text": prompt_with_negative(request)}]
        if request.mode != "text_to_image":
            if request.source is None:
                raise ProviderError(
                    ErrorClass.PERMANENT,
                    f"{request.mode} needs a source image.",
                    provider=self.name,
                )
            content.append(_image_part(request.source))
        messages.append({"role": "user", "content": content})
        return messages

    def generate_image(self, model: str, request: ImageRequest) -> ImageResult:
        aspect = request.aspect_ratio or nearest_aspect_ratio(
            request.width, request.height, GEMINI_ASPECT_RATIOS
        )
        extra_body: dict[str, Any] = {"image_config": {"aspect_ratio": aspect}}
        extra_headers: dict[str, str] = {}
        if request.conversation_id:
            extra_body["session_id"] = request.conversation_id
            extra_headers = {
                "X-Conversation-ID": request.conversation_id,
                "x-session-id": request.conversation_id,
            }
        if request.seed is not None:
            extra_body["seed"] = request.seed
        messages = self.messages(request)
        images: list[bytes] = []
        texts: list[str] = []
        usage: dict[str, Any] = {}
        mime, request_id = "image/png", None
        for _ in range(max(request.n, 1)):  # one image per completion
            try:
                completion = self.client.chat.completions.create(
                    model=model,
                    messages=messages,  # type: ignore[arg-type]
                    modalities=["image", "text"],  # type: ignore[list-item]
                    extra_body=extra_body,
                    extra_headers=extra_headers or None,
                )
            except SDK_ERRORS as exc:
                raise map_exception(exc, self.name) from exc
            got, text, mime = self._parse(completion)
            images += got
            if text:
                texts.append(text)
            request_id = request_id or completion.id
            _add_usage(usage, completion.usage)
        return ImageResult(
            images=images,
            mime_type=mime,
            text="\n".join(texts) or None,
            usage=usage,
            cost_actual=pricing.cost_from_usage(self.name, model, usage) if usage else None,
            provider_request_id=request_id,
        )

    def _parse(self, completion: Any) -> tuple[list[bytes], str | None, str]:
        """Images (data URLs in message.images), text and mime type; refusals are errors."""
        error = getattr(completion, "error", None)
        if not completion.choices:
            if isinstance(error, dict):  # an upstream error reported inside a 200
                code = error.get("code")
                raise ProviderError(
                    class_for_status(code) if isinstance(code, int) else ErrorClass.TEMPORARY,
                    str(error.get("message") or error),
                    provider=self.name,
                )
            raise no_image_error(self.name)
        choice = completion.choices[0]
        message = choice.message
        text = message.content or None
        images, mime = [], "image/png"
        for item in getattr(message, "images", None) or []:
            parsed = parse_data_url(str(_field(_field(item, "image_url") or {}, "url") or ""))
            if parsed:
                images.append(parsed[0])
                mime = parsed[1]
        if images:
            return images, text, mime
        native = str(getattr(choice, "native_finish_reason", "") or "").upper()
        if choice.finish_reason == "content_filter" or native in GEMINI_SAFETY_REASONS:
            raise safety_error(message.refusal or text or native or "content filter", self.name)
        raise no_image_error(self.name, text)

    def generate_video(
        self, model: str, request: VideoRequest, heartbeat: Heartbeat | None = None
    ) -> VideoResult:
        raise ProviderError(
            ErrorClass.PERMANENT, "OpenRouter image models do not make videos.", provider=self.name
        )


def _add_usage(total: dict[str, Any], usage: Any) -> None:
    if usage is None:
        return
    for key, value in usage.model_dump(exclude_none=True).items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value
