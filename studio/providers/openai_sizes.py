"""The image sizes OpenAI's GPT image models accept, and the one the studio sends.

GPT image models take 1024x1024, 1536x1024 or 1024x1536. The gpt-image-2 family also takes any
WxH with both edges divisible by 16, an aspect ratio between 1:3 and 3:1, a longest edge of at
most 3840 and 655,360 to 8,294,400 pixels (OpenAI's published gpt-image-2 size rules). The
studio never sends a size the model refuses: it SNAPS the requested size to the nearest valid
one (aspect ratio clamped, area kept where allowed, edges rounded down to multiples of 16, or up
when that would fall under the minimum), so a 512×512 request becomes 816×816. Cost estimates
use the snapped size, since that is what is billed.
"""

from __future__ import annotations

import math

FIXED_SIZES = ((1024, 1024), (1536, 1024), (1024, 1536))
MIN_PIXELS, MAX_PIXELS, MAX_EDGE, MAX_RATIO = 655_360, 8_294_400, 3840, 3.0


def arbitrary_sizes(model: str) -> bool:
    """Whether `model` takes any WxH within the limits (the gpt-image-2 family)."""
    return model.startswith("gpt-image-2")


def _down(v: float) -> int:
    return max(16, int(v) // 16 * 16)


def _up(v: float) -> int:
    return max(16, math.ceil(v / 16) * 16)


def valid(model: str, width: int, height: int) -> bool:
    """Whether `model` accepts width×height."""
    if not arbitrary_sizes(model):
        return (width, height) in FIXED_SIZES
    return (
        width % 16 == 0
        and height % 16 == 0
        and max(width, height) <= MAX_RATIO * min(width, height)
        and max(width, height) <= MAX_EDGE
        and MIN_PIXELS <= width * height <= MAX_PIXELS
    )


def size_for(model: str, width: int, height: int) -> tuple[int, int]:
    """The size sent for a width×height request: itself when valid, else the nearest valid."""
    width, height = max(width, 1), max(height, 1)
    if not arbitrary_sizes(model):
        ratio = math.log(width / height)
        return min(FIXED_SIZES, key=lambda s: abs(math.log(s[0] / s[1]) - ratio))
    if valid(model, width, height):
        return width, height
    ratio = min(max(width / height, 1 / MAX_RATIO), MAX_RATIO)
    area = min(max(width * height, MIN_PIXELS), MAX_PIXELS)
    w, h = math.sqrt(area * ratio), math.sqrt(area / ratio)
    scale = min(1.0, MAX_EDGE / max(w, h))
    w, h = w * scale, h * scale
    sw, sh = _down(w), _down(h)
    if sw * sh < MIN_PIXELS:
        sw, sh = _up(w), _up(h)
    # Rounding may tip the ratio just past 3:1: shorten the long edge (or widen the short one).
    while max(sw, sh) > MAX_RATIO * min(sw, sh):
        long_is_w = sw >= sh
        shorter = (sw - 16, sh) if long_is_w else (sw, sh - 16)
        if shorter[0] * shorter[1] >= MIN_PIXELS:
            sw, sh = shorter
        else:
            sw, sh = (sw, sh + 16) if long_is_w else (sw + 16, sh)
    return sw, sh


def size_text(model: str, width: int, height: int) -> str:
    """`size_for` as the API's "WxH" string."""
    w, h = size_for(model, width, height)
    return f"{w}x{h}"
