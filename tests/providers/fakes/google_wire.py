"""Google's wire formats for the fake: model lists, error bodies, Gemini request checks and
answers, and an application-default-credentials file pointing at the fake's token endpoint."""

from __future__ import annotations

import typing
from typing import Any

from google.genai._gaos.types.interactions.model import Model

from tests.providers.fakes.server import Reply, b64, decode_b64_any

_LISTED = typing.get_args(typing.get_args(Model)[0])  # the SDK's published Gemini model ids
GEMINI_IMAGE_MODELS = tuple(m for m in _LISTED if "image" in m or "banana" in m)
IMAGEN_MODELS = (
    "imagen-4.0-generate-001",
    "imagen-4.0-fast-generate-001",
    "imagen-4.0-ultra-generate-001",
    "imagen-3.0-generate-002",
)
VEO_MODELS = (
    "veo-3.1-generate-preview", "veo-3.1-fast-generate-preview", "veo-3.1-generate-001",
    "veo-3.1-fast-generate-001", "veo-3.1-lite-generate-001", "veo-2.0-generate-001",
)  # fmt: skip
GEMINI_ASPECTS = {"1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"}
IMAGEN_ASPECTS = {"1:1", "3:4", "4:3", "9:16", "16:9"}
TOP_FIELDS = {
    "contents",
    "generationConfig",
    "generation_config",
    "safetySettings",
    "systemInstruction",
    "tools",
    "toolConfig",
    "cachedContent",
    "labels",
}
CONFIG_FIELDS = {
    "responseModalities",
    "imageConfig",
    "seed",
    "temperature",
    "topP",
    "topK",
    "candidateCount",
    "maxOutputTokens",
    "stopSequences",
    "thinkingConfig",
}
GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
SIGNATURE = b64(b"fake-thought-signature")


def google_error(
    status: int, message: str, details: list[dict[str, Any]] | None = None, **kw: Any
) -> Reply:
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": GOOGLE_STATUS.get(status, "UNKNOWN"),
    }
    if details is not None:
        error["details"] = details
    return Reply(status, {"error": error}, **kw)


def error_info(reason: str) -> list[dict[str, Any]]:
    return [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason,
            "domain": "googleapis.com",
        }
    ]


def key_invalid() -> Reply:
    return google_error(
        400, "API key not valid. Please pass a valid API key.", error_info("API_KEY_INVALID")
    )


def keys_not_supported() -> Reply:
    return google_error(
        401,
        "API keys are not supported by this API. Expected OAuth2 access token or other authentication "
        "credentials that assert a principal. See https://cloud.google.com/docs/authentication",
        error_info("CREDENTIALS_MISSING"),
    )


def gemini_parts(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Flatten a generateContent body to [{"role", "text"} | {"role", "mime_type", "data"}]."""
    out: list[dict[str, Any]] = []
    for content in body.get("contents", []):
        role = content.get("role", "user")
        for part in content.get("parts", []):
            inline = part.get("inlineData", part.get("inline_data"))
            if inline is not None:
                mime = inline.get("mimeType", inline.get("mime_type"))
                out.append(
                    {"role": role, "mime_type": mime, "data": decode_b64_any(inline["data"])}
                )
            elif "text" in part:
                out.append({"role": role, "text": part["text"]})
    return out


def image_tokens(model: str) -> int:
    return 1290 if model.startswith("gemini-2.5") else 1120


def gemini_response(
    text: str | None = "A picture.",
    images: list[bytes] | None = None,
    finish_reason: str = "STOP",
    prompt_feedback: dict[str, Any] | None = None,
    model: str = "gemini-2.5-flash-image",
    prompt_tokens: int = 10,
) -> dict[str, Any]:
    signed = not model.startswith("gemini-2")
    parts: list[dict[str, Any]] = []
    if text:
        parts.append({"text": text, **({"thoughtSignature": SIGNATURE} if signed else {})})
    for image in images or []:
        part: dict[str, Any] = {"inlineData": {"mimeType": "image/png", "data": b64(image)}}
        parts.append({**part, **({"thoughtSignature": SIGNATURE} if signed else {})})
    text_tokens, picture_tokens = (8 if text else 0), image_tokens(model) * len(images or [])
    usage: dict[str, Any] = {
        "promptTokenCount": prompt_tokens,
        "candidatesTokenCount": text_tokens + picture_tokens,
        "candidatesTokensDetails": [
            {"modality": "TEXT", "tokenCount": text_tokens},
            {"modality": "IMAGE", "tokenCount": picture_tokens},
        ],
        "totalTokenCount": prompt_tokens + text_tokens + picture_tokens + (150 if signed else 0),
    }
    if signed:
        usage["thoughtsTokenCount"] = 150
    body: dict[str, Any] = {
        "candidates": [
            {"content": {"role": "model", "parts": parts}, "finishReason": finish_reason}
        ],
        "usageMetadata": usage,
        "modelVersion": model,
        "responseId": "resp-fake-1",
    }
    if prompt_feedback is not None:
        body = {"promptFeedback": prompt_feedback, "usageMetadata": usage}
    return body


def bad_request(message: str) -> Reply:
    return google_error(400, message)


def check_generate_content(model: str, body: Any) -> Reply | None:
    """The Gemini API's refusals of a generateContent body."""
    if model not in GEMINI_IMAGE_MODELS:
        return google_error(
            404,
            f"models/{model} is not found for API version v1beta, or is not supported for generateContent.",
        )
    if not isinstance(body, dict) or not body.get("contents"):
        return bad_request("* GenerateContentRequest.contents: contents is not specified")
    for name in body:
        if name not in TOP_FIELDS:
            return bad_request(
                f'Invalid JSON payload received. Unknown name "{name}": Cannot find field.'
            )
    config = body.get("generationConfig", body.get("generation_config")) or {}
    for name in config:
        if name not in CONFIG_FIELDS:
            return bad_request(
                f"Invalid JSON payload received. Unknown name \"{name}\" at 'generation_config': Cannot find field."
            )
    if not set(config.get("responseModalities") or []) <= {"TEXT", "IMAGE"}:
        return bad_request("Invalid value at 'generation_config.response_modalities'")
    aspect = (config.get("imageConfig") or {}).get("aspectRatio")
    if aspect is not None and aspect not in GEMINI_ASPECTS:
        return bad_request(f"Unsupported aspect ratio: {aspect}")
    for c, content in enumerate(body["contents"], start=1):
        if content.get("role", "user") not in ("user", "model") or not content.get("parts"):
            return bad_request(
                f"Please ensure that content {c} has a valid role and at least one part."
            )
        for p, part in enumerate(content["parts"], start=1):
            inline = part.get("inlineData", part.get("inline_data"))
            if inline is not None:
                try:
                    decode_b64_any(inline["data"])
                except (KeyError, ValueError) as exc:
                    return bad_request(f"Invalid inline data: {exc}")
                signed = "thoughtSignature" in part or "thought_signature" in part
                if (
                    content.get("role") == "model"
                    and not model.startswith("gemini-2")
                    and not signed
                ):
                    return bad_request(
                        f"Image part is missing a thought_signature in content position {c}, part position {p}."
                    )
    return None


def write_adc_file(folder: Any, fake: Any) -> str:
    """An application-default-credentials file (a service account with a fresh RSA key) whose
    token endpoint is the fake's: google-auth signs a JWT, trades it at the fake's `/token` for
    an access token, and sends that to Vertex. (An authorized-user file would not do: google-auth
    always sends those to Google's own token endpoint.)"""
    import json
    from pathlib import Path

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = Path(folder) / "adc.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": fake.project,
                "private_key_id": "fake-key-1",
                "private_key": pem,
                "client_email": f"studio@{fake.project}.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": f"{fake.url}/token",
            }
        )
    )
    return str(path)
