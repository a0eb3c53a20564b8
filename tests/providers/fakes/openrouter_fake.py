"""A fake OpenRouter API: `/api/v1/chat/completions`, `/api/v1/models/user`, `/api/v1/key`.

Every chat request is validated against OpenRouter's published `ChatRequest` schema
(schemas/openrouter_chat.json) and refused with OpenRouter's error body
`{"error": {"code", "message", "metadata": {"error_type", ...}}}`; also refused:
- a model that is not in the catalog, an `x-session-id` header over 256 characters (the body's
  `session_id` limit is in the schema), an image part that is not a decodable data URL;
- for Gemini 3 models, an assistant turn replaying an image without its `reasoning_details`:
  the upstream's 400 "Image part is missing a thought_signature" passed through by OpenRouter.
A valid request gets `message.images` (data URLs), and `usage` that always carries `cost`
(and, with the user's own provider key, `is_byok` and `cost_details.upstream_inference_cost`).
Canned documented answers: `in_band_error()` (HTTP 200, `choices[0].error`, finish_reason
"error"), `content_policy_violation()` (400), `guardrail_blocked()` and `moderation_flagged()`
(403), `out_of_credits()` (402), `rate_limited()` (429).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from tests.providers.fakes import schemas
from tests.providers.fakes.server import FAKE_PNG, FakeServer, Recorded, Reply, b64

SCHEMA = "openrouter_chat.json"
ASPECT_RATIOS = frozenset({"1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"})
# model -> USD per token: (input, image output), as OpenRouter lists them for these models.
CATALOG = {
    "google/gemini-2.5-flash-image": (0.3e-6, 30e-6),
    "google/gemini-3.1-flash-image": (0.5e-6, 60e-6),
    "google/gemini-3-pro-image-preview": (2e-6, 120e-6),
}
IMAGE_TOKENS = {"google/gemini-2.5-flash-image": 1290}  # others: 1120 per 1K image


def openrouter_error(
    status: int, message: str, metadata: dict[str, Any] | None = None, **kw: Any
) -> Reply:
    error: dict[str, Any] = {"code": status, "message": message}
    if metadata is not None:
        error["metadata"] = metadata
    return Reply(status, {"error": error}, **kw)


def content_policy_violation(detail: str = "The prompt violates the provider's policy.") -> Reply:
    return openrouter_error(400, detail, {"error_type": "content_policy_violation"})


def guardrail_blocked() -> Reply:
    return openrouter_error(
        403, "Request blocked by a guardrail on this API key.", {"error_type": "permission_denied"}
    )


def moderation_flagged() -> Reply:
    metadata = {
        "reasons": ["violence"],
        "flagged_input": "a violent…scene",
        "provider_name": "Google",
        "model_slug": "google/gemini-2.5-flash-image",
    }
    return openrouter_error(403, "Input was flagged by moderation.", metadata)


def out_of_credits() -> Reply:
    return openrouter_error(
        402,
        "Insufficient credits. Add more using https://openrouter.ai/credits",
        {"error_type": "payment_required"},
    )


def rate_limited(retry_after: str = "3") -> Reply:
    return openrouter_error(
        429,
        "Rate limit exceeded: free-models-per-min.",
        {"error_type": "rate_limit_exceeded"},
        headers={"retry-after": retry_after},
    )


def in_band_error(
    code: int = 502, message: str = "Upstream error from Google: overloaded"
) -> Reply:
    body = chat_completion(text="", finish_reason="error", native_finish_reason=None)
    body["choices"][0]["error"] = {"code": code, "message": message}
    return Reply(200, body)


def chat_completion(
    text: str | None = "Here is your image.",
    images: list[bytes] | None = None,
    finish_reason: str = "stop",
    native_finish_reason: str | None = "STOP",
    usage: dict[str, Any] | None = None,
    model: str = "google/gemini-2.5-flash-image",
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if images:
        message["images"] = [
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(i)}"}}
            for i in images
        ]
    return {
        "id": "gen-fake-1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "provider": "Google",
        "choices": [
            {
                "index": 0,
                "finish_reason": finish_reason,
                "native_finish_reason": native_finish_reason,
                "message": message,
            }
        ],
        "usage": usage or usage_for(model, 20, len(images or []), byok=False),
    }


def usage_for(model: str, prompt_tokens: int, images: int, *, byok: bool) -> dict[str, Any]:
    """Usage as OpenRouter reports it: tokens, and `cost` always (BYOK: the upstream's too)."""
    price_in, price_out = CATALOG.get(model, (0.3e-6, 30e-6))
    completion = IMAGE_TOKENS.get(model, 1120) * images + 10
    upstream = round(prompt_tokens * price_in + completion * price_out, 8)
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion,
        "total_tokens": prompt_tokens + completion,
        "is_byok": byok,
    }
    if byok:  # OpenRouter charges its fee; the user's provider key pays the inference
        usage["cost"] = round(upstream * 0.05, 8)
        usage["cost_details"] = {
            "upstream_inference_cost": upstream,
            "upstream_inference_prompt_cost": round(prompt_tokens * price_in, 8),
            "upstream_inference_completions_cost": round(completion * price_out, 8),
        }
    else:
        usage["cost"] = upstream
        usage["cost_details"] = {
            "upstream_inference_cost": None,
            "upstream_inference_prompt_cost": round(prompt_tokens * price_in, 8),
            "upstream_inference_completions_cost": round(completion * price_out, 8),
        }
    return usage


def _data_url_ok(url: str) -> bool:
    if not url.startswith("data:"):
        return url.startswith("https://")
    header, _, payload = url[5:].partition(",")
    if not header.endswith(";base64") or not header.startswith("image/"):
        return False
    try:
        base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _images_of(message: dict[str, Any]) -> list[str]:
    urls = [i["image_url"]["url"] for i in message.get("images") or []]
    content = message.get("content")
    for part in content if isinstance(content, list) else []:
        if part.get("type") == "image_url":
            urls.append(part["image_url"]["url"])
    return urls


class OpenRouterFake(FakeServer):
    """OpenRouter's chat completions with image output, as strict as its published spec."""

    image = FAKE_PNG

    def __init__(self, api_key: str = "test", *, byok: bool = False) -> None:
        super().__init__(api_key)
        self.byok = byok

    def check(self, req: Recorded) -> Reply | None:
        if req.method == "GET" and req.route == "/api/v1/models":
            return None  # public
        if req.headers.get("authorization") != f"Bearer {self.api_key}":
            return openrouter_error(
                401, "No cookie auth credentials found", {"error_type": "authentication"}
            )
        if req.method == "GET":
            return (
                None
                if req.route in ("/api/v1/models/user", "/api/v1/key")
                else openrouter_error(404, "Not Found")
            )
        if req.route != "/api/v1/chat/completions":
            return openrouter_error(404, "Not Found")
        body = req.json
        violation = schemas.validate(SCHEMA, "ChatRequest", body)
        if violation is not None:
            where = violation.path or ", ".join(violation.extra) or "body"
            return openrouter_error(
                400,
                f"Invalid request at '{where}': {violation.message}",
                {"error_type": "invalid_request"},
            )
        if len(req.headers.get("x-session-id", "")) > 256:
            return openrouter_error(
                400,
                "x-session-id must be at most 256 characters",
                {"error_type": "invalid_request"},
            )
        model = body.get("model")
        if model not in CATALOG:
            return openrouter_error(
                400, f"{model} is not a valid model ID", {"error_type": "invalid_request"}
            )
        aspect = (body.get("image_config") or {}).get("aspect_ratio")
        if aspect is not None and aspect not in ASPECT_RATIOS:
            return openrouter_error(
                400, f"Unsupported aspect_ratio {aspect}", {"error_type": "invalid_request"}
            )
        for i, message in enumerate(body["messages"]):
            if any(not _data_url_ok(u) for u in _images_of(message)):
                return openrouter_error(
                    400, f"Invalid image in message {i}", {"error_type": "invalid_image"}
                )
            if (
                message["role"] == "assistant"
                and str(model).startswith("google/gemini-3")
                and _images_of(message)
                and not message.get("reasoning_details")
            ):
                raw = f"Image part is missing a thought_signature in content position {i + 1}, part position 1."
                return openrouter_error(
                    400,
                    "Provider returned error",
                    {"raw": raw, "provider_name": "Google", "error_type": "invalid_request"},
                )
        return None

    def default(self, req: Recorded) -> Reply:
        if req.route in ("/api/v1/models/user", "/api/v1/models"):
            data = [
                {
                    "id": m,
                    "name": m,
                    "pricing": {"prompt": f"{p_in:.10f}", "completion": f"{p_out:.10f}"},
                    "architecture": {
                        "input_modalities": ["text", "image"],
                        "output_modalities": ["image", "text"],
                    },
                }
                for m, (p_in, p_out) in CATALOG.items()
            ]
            return Reply(200, {"data": data})
        if req.route == "/api/v1/key":
            return Reply(
                200,
                {
                    "data": {
                        "label": "sk-or-v1-fak...e",
                        "limit": None,
                        "usage": 1.5,
                        "is_free_tier": False,
                    }
                },
            )
        body = req.json
        model = body["model"]
        with_image = "image" in (body.get("modalities") or [])
        prompt_tokens = 20 + 258 * sum(len(_images_of(m)) for m in body["messages"])
        completion = chat_completion(
            images=[self.image] if with_image else None,
            model=model,
            usage=usage_for(model, prompt_tokens, 1 if with_image else 0, byok=self.byok),
        )
        return Reply(200, completion)
