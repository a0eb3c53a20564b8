"""The built-in offline renderer: deterministic images and short clips, no keys, no network."""

from __future__ import annotations

from studio.providers.local.adapter import IMAGE_MODEL, VIDEO_MODEL, LocalProvider
from studio.providers.local.painter import HUE_WORDS, render_scene
from studio.providers.local.video import video_format

__all__ = [
    "HUE_WORDS",
    "IMAGE_MODEL",
    "VIDEO_MODEL",
    "LocalProvider",
    "render_scene",
    "video_format",
]
