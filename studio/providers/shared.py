"""Helpers every image provider adapter shares: no SDK, no network."""

from __future__ import annotations

import math
from collections.abc import Sequence

from studio.providers.base import ImageRequest

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
