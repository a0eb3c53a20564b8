"""OpenRouter chat completions with image output, through the official `openai` SDK.

A song's verses are illustrated in one conversation: the conversation id travels as the body
field `session_id` and the headers `x-session-id` / `X-Conversation-ID` (at most 256
characters), and earlier verses are replayed inside the new user message, their pictures as
reference images: Gemini 3 models refuse replayed assistant images without the reasoning details
of the original answer, which stored thumbnails cannot carry. The source image of an edit is sent
as an image part; the mask is NOT sent (chat models take none): the studio composites the result
so that pixels outside the mask stay identical to the source. An upstream failure reported inside
an HTTP 200 (`choices[0].error`, finish_reason "error") is an error of its own status, retried
when temporary. The cost is the `usage.cost` OpenRouter reports (plus the upstream cost on BYOK).
"""

from __future__ import annotations

import base64
import hashlib
from functools import cached_property
from typing import Any

import openai

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
from studio.providers.errors import (
    GEMINI_SAFETY_REASONS,
    OPENROUTER_SAFETY_TYPES,
    SDK_ERRORS,
    class_for_status,
    error_for,
    map_exception,
    no_image_error,
    safety_error,
)
from studio.providers.shared import (
    GEMINI_ASPECT_RATIOS,
    decode_base64,
    nearest_aspect_ratio,
    prompt_with_negative,
    replay_parts,
    sniff_mime,
)

KNOWN_MODELS = {
    "google/gemini-2.5-flash-image": "Gemini 2.5 Flash Image (OpenRouter)",
    "google/gemini-3.1-flash-image": "Gemini 3.1 Flash Image (OpenRouter)",
}
DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
MAX_SESSION_ID = 256


def data_url(data: bytes, mime_type: str | None = None) -> str:
    mime = mime_type or sniff_mime(data)
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def parse_data_url(url: str, provider: str = "openrouter") -> tuple[bytes, str] | None:
    """(bytes, mime type) of a base64 data URL; None for anything else. A data URL whose payload
    is not base64 is a clear provider error."""
    if not url.startswith("data:") or "," not in url:
        return None
    header, payload = url[5:].split(",", 1)
    if not header.endswith(";base64"):
        return None
    return decode_base64(payload, provider), header[: -len(";base64")] or "image/png"


def _image_part(data: bytes, mime_type: str | None = None) -> dict[str, Any]:
    return {"type": "image_url", "image_url": {"url": data_url(data, mime_type)}}


def session_id(conversation_id: str) -> str:
    """The conversation id as OpenRouter's session id (at most 256 characters)."""
    if len(conversation_id) <= MAX_SESSION_ID:
        return conversation_id
    return "sha256-" + hashlib.sha256(conversation_id.encode()).hexdigest()


def _field(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


class OpenRouterProvider(NoVideos):
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
        self._headers = {"X-OpenRouter-Title": app_title, "X-Title": app_title}
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
            ModelInfo(
                m,
                KNOWN_MODELS.get(m, m),
                price_note=pricing.price_note(self.name, m),
                family="openrouter",
            )
            for m in ids
        ]

    def available_models(self) -> set[str]:
        """The model ids this key may use: one authenticated `GET /models/user` (the catalog
        filtered by the account's provider, privacy and guardrail settings)."""
        try:
            answer = self.client.get("/models/user", cast_to=object)
        except SDK_ERRORS as exc:
            raise map_exception(exc, self.name) from exc
        data = answer.get("data") if isinstance(answer, dict) else None
        return {str(m.get("id")) for m in data or [] if isinstance(m, dict)}

    def estimate_cost(self, model: str, request: ImageRequest | VideoRequest) -> float:
        return pricing.estimate(self.name, model, request)

    def messages(self, request: ImageRequest) -> list[dict[str, Any]]:
        """One user message: the replayed turns, the prompt, the source image for edits."""
        content: list[dict[str, Any]] = [
            {"type": "text", "text": p} if isinstance(p, str) else _image_part(*p)
            for p in replay_parts(request.context)
        ]
        content.append({"type": "text", "text": prompt_with_negative(request)})
        if request.mode != "text_to_image":
            if request.source is None:
                raise ProviderError(
                    ErrorClass.PERMANENT,
                    f"{request.mode} needs a source image.",
                    provider=self.name,
                )
            content.append(_image_part(request.source))
        return [{"role": "user", "content": content}]

    def generate_image(self, model: str, request: ImageRequest) -> ImageResult:
        aspect = request.aspect_ratio or nearest_aspect_ratio(
            request.width, request.height, GEMINI_ASPECT_RATIOS
        )
        extra_body: dict[str, Any] = {"image_config": {"aspect_ratio": aspect}}
        extra_headers: dict[str, str] = {}
        if request.conversation_id:
            session = session_id(request.conversation_id)
            extra_body["session_id"] = session
            extra_headers = {"X-Conversation-ID": session, "x-session-id": session}
        if request.seed is not None:
            extra_body["seed"] = request.seed
        messages = self.messages(request)
        images: list[bytes] = []
        texts: list[str] = []
        usage: dict[str, Any] = {}
        cost: float | None = 0.0
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
            one = completion.usage.model_dump(exclude_none=True) if completion.usage else {}
            _add_usage(usage, one)
            this = pricing.openrouter_cost(model, one) if one else None
            cost = None if cost is None or this is None else round(cost + this, 9)
        return ImageResult(
            images=images,
            mime_type=mime,
            text="\n".join(texts) or None,
            usage=usage,
            cost_actual=cost,
            provider_request_id=request_id,
        )

    def _parse(self, completion: Any) -> tuple[list[bytes], str | None, str]:
        """Images (data URLs in message.images), text and mime type; refusals are errors."""
        if not completion.choices:
            self._in_band(getattr(completion, "error", None), None)
            raise no_image_error(self.name)
        choice = completion.choices[0]
        self._in_band(getattr(choice, "error", None), choice.finish_reason)
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

    def _in_band(self, error: Any, finish_reason: str | None) -> None:
        """An upstream failure reported inside an HTTP 200 (OpenRouter's in-band errors)."""
        if not isinstance(error, dict) and finish_reason != "error":
            return
        error = error if isinstance(error, dict) else {}
        code = error.get("code")
        metadata = error.get("metadata") if isinstance(error.get("metadata"), dict) else {}
        message = str(error.get("message") or "The upstream provider failed.")
        error_class = class_for_status(code) if isinstance(code, int) else ErrorClass.TEMPORARY
        if metadata.get("error_type") in OPENROUTER_SAFETY_TYPES:
            raise safety_error(message, self.name)
        raise error_for(error_class, f"The upstream provider failed: {message}", self.name)


def _add_usage(total: dict[str, Any], usage: dict[str, Any]) -> None:
    for key, value in usage.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value
        elif key not in total:
            total[key] = value
