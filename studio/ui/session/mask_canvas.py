"""Painting a mask over an image with streamlit-drawable-canvas (imported here, never in the
service layer: it only works inside a running app). White strokes mark what may change; the
canvas's own toolbar has undo, redo and clear. The painted layer is scaled to the source size
by studio.imaging.canvas_to_mask when the step is submitted."""

from __future__ import annotations

import io
from typing import Any

import streamlit as st
from PIL import Image

MAX_CANVAS_SIDE = 512


def canvas_size(width: int, height: int, max_side: int = MAX_CANVAS_SIDE) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def paint_mask(image: bytes, *, key: str) -> Any | None:
    """Draw the canvas over `image`; returns the painted RGBA layer (numpy), or None."""
    from streamlit_drawable_canvas import st_canvas

    with Image.open(io.BytesIO(image)) as im:
        w, h = canvas_size(*im.size)
        background = im.convert("RGB").resize((w, h))
    brush = st.slider("Brush size", 4, 120, 36, 2, key=f"{key}:brush")
    result = st_canvas(
        fill_color="rgba(255, 255, 255, 0.0)",
        stroke_width=brush,
        stroke_color="rgba(255, 64, 64, 0.65)",
        background_image=background,
        update_streamlit=True,
        height=h,
        width=w,
        drawing_mode="freedraw",
        return_image_data=True,
        key=key,
    )
    st.caption(
        "Paint over what should change; everything else stays exactly as it is. "
        "Use the canvas toolbar to undo or clear."
    )
    data = getattr(result, "image_data", None) if result is not None else None
    return data
