"""Helpers every image provider adapter shares: no SDK, no network."""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Sequence

from studio.providers.base import ErrorClass, ImageRequest, ProviderError, Turn

# The aspect ratios Gemini image models accept (generate_content directly, or via OpenRouter).
GEMINI_ASPECT_RATIOS = (
    "1:1",
    "2:3",
    "3:2",
    "3:4",
    "4:3",
    "4:5",
    "5:4",
    "9:16",
    "16:9",
    "21:9",
)


def sniff_mime(data: bytes) -> str:
    """The image type from its magic bytes (PNG when unsure)."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/png"


def prompt_with_negative(request: ImageRequest) -> str:
    """Models without a negative-prompt field get it appended as an instruction."""
    if request.negative_prompt and request.negative_prompt.strip():
        return f"{request.prompt}\n\nAvoid: {request.negative_prompt.strip()}"
    return request.prompt


def nearest_aspect_ratio(width: int, height: int, allowed: Sequence[str]) -> str:
    """The allowed "W:H" closest (in log ratio) to width×height."""
    target = math.log(max(width, 1) / max(height, 1))

    def distance(r: str) -> float:
        w, h = r.split(":")
        return abs(math.log(int(w) / int(h)) - target)

    return min(allowed, key=distance)


def decode_base64(data: str, provider: str, what: str = "image") -> bytes:
    """Base64 from a provider's answer (either alphabet, padding optional); an answer that is
    not base64 is a clear provider error, not a raw binascii.Error. Permanent: the call was
    made (and probably billed), so it is not silently repeated."""
    text = "".join(data.split()).replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ProviderError(
            ErrorClass.PERMANENT,
            f"The provider sent an {what} that could not be decoded ({exc}).",
            provider=provider,
        ) from exc


ReplayPart = str | tuple[bytes, str]  # a text, or (image bytes, mime type)


def replay_parts(context: Sequence[Turn]) -> list[ReplayPart]:
    """Earlier turns as parts of the new user message: texts, and earlier pictures as reference
    images the user hands back. Gemini 3 image models refuse a replayed model-role image without
    the thought signature of the original answer (which a stored thumbnail cannot carry), while
    user-role images need none; this reading works whether or not a model enforces signatures."""
    parts: list[ReplayPart] = []
    for turn in context:
        if not (turn.text or turn.image):
            continue
        if not parts:
            parts.append("Earlier in this conversation:")
        if turn.role == "user":
            parts.append(f"Earlier request: {turn.text}")
            continue
        parts.append(
            f"Your answer to it: {turn.text}" if turn.text else "Your answer to it was a picture."
        )
        if turn.image:
            parts.append("The picture you made then, for reference:")
            parts.append((turn.image, turn.mime_type))
    if parts:
        parts.append("The new request:")
    return parts
