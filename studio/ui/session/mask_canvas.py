"""Painting a mask over an image with streamlit-drawable-canvas (imported here, never in the
service layer: it only works inside a running app). White strokes mark what may change; the
canvas's own toolbar has undo, redo and clear. The painted layer is scaled to the source size
by studio.imaging.canvas_to_mask when the step is submitted.

The canvas is drawn inside the next step's form: its strokes reach the server with the form's
submission, so painting any number of strokes reruns nothing (the brush size is a widget
outside the form and reruns the page when changed; the drawing stays)."""

from __future__ import annotations

import io
from typing import Any

import streamlit as st
from PIL import Image

MAX_CANVAS_SIDE = 512


def canvas_size(width: int, height: int, max_side: int = MAX_CANVAS_SIDE) -> tuple[int, int]:
    scale = min(1.0, max_side / max(width, height, 1))
    return max(1, round(width * scale)), max(1, round(height * scale))


def brush_size(*, key: str) -> int:
    """The brush width slider (outside the form, so the canvas uses the new width at once)."""
    return int(st.slider("Brush size", 4, 120, 36, 2, key=f"{key}:brush"))


def paint_mask(image: bytes | str, size: tuple[int, int], *, key: str, brush: int) -> Any | None:
    """Draw the canvas over `image` (bytes, or a URL the browser loads itself) of `size`
    pixels; returns the painted RGBA layer (numpy) once the form is submitted, else None."""
    from streamlit_drawable_canvas import st_canvas

    w, h = canvas_size(*size)
    background: Any = image
    if isinstance(image, bytes):  # send a canvas-sized copy, not the full image
        with Image.open(io.BytesIO(image)) as im:
            background = im.convert("RGB").resize((w, h))
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
    return getattr(result, "image_data", None) if result is not None else None
