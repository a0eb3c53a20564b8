"""A fake OpenAI Images API (`/v1/images/generations`, `/v1/images/edits`, `/v1/models`).

Every request is validated against OpenAI's published request schemas (schemas/openai_images.json,
from github.com/openai/openai-openapi) and the rules the spec states in prose, and refused with
OpenAI's error body `{"error": {"message", "type", "param", "code"}}`:
- unknown or mistyped fields, `n` outside 1–10, an unknown `quality` (schema);
- a model that does not exist or was shut down (the installed SDK's `ImageModel` list, minus
  the values it marks retired: gpt-image-1, dall-e-2, dall-e-3) → 404 `model_not_found`;
- sizes: GPT image models take 1024x1024, 1536x1024, 1024x1536 or auto; the gpt-image-2 family
  also any WxH with both edges divisible by 16, aspect 1:3..3:1, longest edge ≤ 3840 and
  655,360–8,294,400 pixels (the pixel limits are OpenAI's published gpt-image-2 size rules;
  the spec only says "the model's current pixel and edge limits");
- `response_format` (GPT image models always answer base64), `input_fidelity` on gpt-image-2;
- edits: image files png/webp/jpeg under 50 MB (at most 16); the mask a PNG with an alpha
  channel, the same size as the first image.
A valid request gets `data[].b64_json`, the size and quality actually used, and token `usage`.
Canned documented errors: `moderation_blocked()`, `insufficient_quota()`, `rate_limited()`.
"""

from __future__ import annotations

import io
import typing
from typing import Any

from openai.types.image_model import ImageModel
from PIL import Image

from tests.providers.fakes import schemas
from tests.providers.fakes.server import FAKE_PNG, FakeServer, Recorded, Reply, b64

SCHEMA = "openai_images.json"
RETIRED = frozenset({"gpt-image-1", "dall-e-2", "dall-e-3"})  # marked so in the SDK's ImageModel
MODELS = tuple(m for m in typing.get_args(ImageModel) if m not in RETIRED)
FIXED_SIZES = frozenset({"1024x1024", "1536x1024", "1024x1536", "auto"})
GPT_QUALITIES = frozenset({"low", "medium", "high", "auto"})
MIN_PIXELS, MAX_PIXELS, MAX_EDGE = 655_360, 8_294_400, 3840
# Output image tokens of a 1024x1024 image by quality (OpenAI's published GPT image table).
OUTPUT_TOKENS = {"low": 272, "medium": 1056, "high": 4160}
IMAGE_INPUT_TOKENS = 194  # per input image of an edit (any fixed number will do for a fake)


def openai_error(
    status: int,
    message: str,
    code: str | None = None,
    type_: str = "invalid_request_error",
    headers: dict[str, str] | None = None,
    delay: float = 0.0,
    param: str | None = None,
) -> Reply:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return Reply(status, body, headers or {}, delay)


def moderation_blocked() -> Reply:
    return openai_error(
        400,
        "Your request was rejected as a result of our safety system. Your request may contain "
        "content that is not allowed by our safety system.",
        "moderation_blocked",
        "image_generation_user_error",
    )


def insufficient_quota() -> Reply:
    return openai_error(
        429,
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, read the docs: "
        "https://platform.openai.com/docs/guides/error-codes/api-errors.",
        "insufficient_quota",
        "insufficient_quota",
    )


def rate_limited(retry_after: str = "7") -> Reply:
    return openai_error(
        429,
        "Rate limit reached for images per minute (IPM): Limit 5, Used 5, Requested 1. "
        f"Please try again in {retry_after}s.",
        "rate_limit_exceeded",
        "requests",
        headers={"retry-after": retry_after},
    )


def arbitrary_sizes(model: str) -> bool:
    return model.startswith("gpt-image-2")


def size_problem(model: str, size: str) -> str | None:
    """Why `model` refuses `size`, or None."""
    if size in FIXED_SIZES:
        return None
    if not arbitrary_sizes(model):
        return f"Invalid value: '{size}'. Supported values are: '1024x1024', '1024x1536', '1536x1024', and 'auto'."
    try:
        w, h = (int(v) for v in size.split("x"))
    except ValueError:
        return f"Invalid size '{size}'. Use WIDTHxHEIGHT."
    if w % 16 or h % 16:
        return f"Invalid size '{size}'. Width and height must both be divisible by 16."
    if max(w, h) > 3 * min(w, h):
        return f"Invalid size '{size}'. The aspect ratio must be between 1:3 and 3:1."
    if max(w, h) > MAX_EDGE:
        return f"Invalid size '{size}'. The longest edge must be at most {MAX_EDGE} pixels."
    if not MIN_PIXELS <= w * h <= MAX_PIXELS:
        return (
            f"Invalid size '{size}'. The image must have between {MIN_PIXELS:,} and "
            f"{MAX_PIXELS:,} pixels; {w}x{h} has {w * h:,}."
        )
    return None


def _image_kind(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _schema_error(v: schemas.Violation) -> Reply:
    param = v.path or (v.extra[0] if v.extra else None)
    if v.keyword == "additionalProperties":
        return openai_error(
            400, f"Unknown parameter: '{v.extra[0]}'.", "unknown_parameter", param=v.extra[0]
        )
    if v.keyword == "required":
        return openai_error(
            400,
            f"Missing required parameter: '{v.extra[0]}'.",
            "missing_required_parameter",
            param=v.extra[0],
        )
    if v.keyword == "minimum":
        return openai_error(
            400, f"Invalid '{param}': {v.message}", "integer_below_min_value", param=param
        )
    if v.keyword == "maximum":
        return openai_error(
            400, f"Invalid '{param}': {v.message}", "integer_above_max_value", param=param
        )
    if v.keyword == "type":
        return openai_error(
            400, f"Invalid type for '{param}': {v.message}", "invalid_type", param=param
        )
    return openai_error(
        400, f"Invalid value for '{param}': {v.message}", "invalid_value", param=param
    )


def _form_fields(req: Recorded) -> dict[str, Any]:
    """Multipart fields as the schema's types (files as a placeholder string)."""
    props = schemas.document(SCHEMA)["$defs"]["CreateImageEditRequest"]["properties"]
    fields: dict[str, Any] = {}
    for name, parts in req.parts.items():
        key = name[:-2] if name.endswith("[]") else name
        values: list[Any] = ["<file>" if p.filename is not None else p.text for p in parts]
        kinds = str(props.get(key, {}).get("type", ""))
        if "integer" in kinds:
            values = [
                int(v) if isinstance(v, str) and v.lstrip("-").isdigit() else v for v in values
            ]
        elif "boolean" in kinds:
            values = [{"true": True, "false": False}.get(v, v) for v in values]
        fields[key] = values if name.endswith("[]") or len(values) > 1 else values[0]
    return fields


class OpenAIFake(FakeServer):
    """OpenAI's Images API and models list, as strict as the published definition."""

    image = FAKE_PNG

    def check(self, req: Recorded) -> Reply | None:
        if req.headers.get("authorization") != f"Bearer {self.api_key}":
            return openai_error(401, "Incorrect API key provided.", "invalid_api_key")
        if req.method == "GET" and req.route.startswith("/v1/models"):
            return None
        if req.route == "/v1/images/generations":
            fields, definition = req.json, "CreateImageRequest"
        elif req.route == "/v1/images/edits":
            fields, definition = _form_fields(req), "CreateImageEditRequest"
        else:
            return openai_error(404, f"Invalid URL ({req.method} {req.route})")
        if not isinstance(fields, dict):
            return openai_error(400, "We could not parse the JSON body of your request.")
        violation = schemas.validate(SCHEMA, definition, fields)
        if violation is not None:
            return _schema_error(violation)
        return self._rules(req, fields)

    def _rules(self, req: Recorded, fields: dict[str, Any]) -> Reply | None:
        model = fields.get("model")
        if not model:
            return openai_error(
                400,
                "Missing required parameter: 'model'.",
                "missing_required_parameter",
                param="model",
            )
        if model not in MODELS:
            return openai_error(
                404,
                f"The model '{model}' does not exist or you do not have access to it.",
                "model_not_found",
                param="model",
            )
        if len(fields["prompt"]) > 32000:
            return openai_error(
                400, "Invalid 'prompt': string too long.", "string_above_max_length", param="prompt"
            )
        if fields.get("response_format") is not None:
            return openai_error(
                400,
                "Unknown parameter: 'response_format'.",
                "unknown_parameter",
                param="response_format",
            )
        if fields.get("quality") is not None and fields["quality"] not in GPT_QUALITIES:
            return openai_error(
                400, f"Invalid value: '{fields['quality']}'.", "invalid_value", param="quality"
            )
        if arbitrary_sizes(model) and fields.get("input_fidelity") is not None:
            return openai_error(
                400,
                "input_fidelity is not supported by this model.",
                "invalid_value",
                param="input_fidelity",
            )
        problem = size_problem(model, str(fields.get("size") or "auto"))
        if problem:
            return openai_error(400, problem, "invalid_value", param="size")
        return self._check_files(req) if req.route.endswith("/edits") else None

    def _check_files(self, req: Recorded) -> Reply | None:
        images = req.parts.get("image", []) + req.parts.get("image[]", [])
        if len(images) > 16:
            return openai_error(
                400, "You can provide up to 16 images.", "invalid_value", param="image"
            )
        for part in images:
            if _image_kind(part.data) is None or len(part.data) >= 50 * 1024 * 1024:
                return openai_error(
                    400,
                    "Invalid image file: use png, webp or jpg under 50MB.",
                    "invalid_image_file",
                    param="image",
                )
        if "mask" not in req.parts:
            return None
        mask = req.parts["mask"][0].data
        if _image_kind(mask) != "png" or len(mask) >= 4 * 1024 * 1024:
            return openai_error(
                400, "Invalid mask: must be a PNG under 4MB.", "invalid_image_file", param="mask"
            )
        with Image.open(io.BytesIO(mask)) as m, Image.open(io.BytesIO(images[0].data)) as first:
            if "A" not in m.getbands():
                return openai_error(
                    400,
                    "Invalid mask image format - mask image missing alpha channel",
                    "invalid_image_format",
                    param="mask",
                )
            if m.size != first.size:
                return openai_error(
                    400,
                    "Invalid mask: it must have the same dimensions as the image.",
                    "invalid_image_file",
                    param="mask",
                )
        return None

    def default(self, req: Recorded) -> Reply:
        if req.method == "GET" and req.route.startswith("/v1/models"):
            listed = [
                {"id": m, "object": "model", "created": 1, "owned_by": "system"} for m in MODELS
            ]
            wanted = req.route.removeprefix("/v1/models").strip("/")
            if wanted:
                found = [m for m in listed if m["id"] == wanted]
                return (
                    Reply(200, found[0])
                    if found
                    else openai_error(
                        404, f"The model '{wanted}' does not exist", "model_not_found"
                    )
                )
            return Reply(200, {"object": "list", "data": listed})
        fields = req.json if req.route.endswith("/generations") else _form_fields(req)
        n = int(fields.get("n") or 1)
        size = str(fields.get("size") or "auto")
        size = "1024x1024" if size == "auto" else size
        quality = str(fields.get("quality") or "auto")
        quality = "high" if quality == "auto" else quality
        w, h = (int(v) for v in size.split("x"))
        image_out = round(OUTPUT_TOKENS[quality] * w * h / (1024 * 1024)) * n
        text_in = len(str(fields["prompt"])) // 4 + 1
        images_in = (
            len(req.parts.get("image", []) + req.parts.get("image[]", [])) * IMAGE_INPUT_TOKENS
        )
        usage = {
            "input_tokens": text_in + images_in,
            "input_tokens_details": {"text_tokens": text_in, "image_tokens": images_in},
            "output_tokens": image_out,
            "output_tokens_details": {"image_tokens": image_out, "text_tokens": 0},
            "total_tokens": text_in + images_in + image_out,
        }
        body = {
            "created": 1,
            "data": [{"b64_json": b64(self.image)} for _ in range(n)],
            "background": "opaque",
            "output_format": fields.get("output_format") or "png",
            "size": size,
            "quality": quality,
            "usage": usage,
        }
        return Reply(200, body, {"x-request-id": "req_fake_1"})
