"""Image helpers: decode.py (safe decoding and normalizing), encode.py (PNG,
JPEG, thumbnails), masks.py, parameters.py (generation parameters in PNG text chunks).

Pure Pillow/numpy: no database, no storage, no Streamlit. Every rejection is an `ImageRejected`
whose `user_message` can be shown as-is.
"""

from __future__ import annotations

from studio.imaging.decode import MB, ImageLimits, ImageRejected, LoadedImage, load_image
from studio.imaging.encode import PNG_SIGNATURE, encode_for_storage, encode_png, make_thumbnail
from studio.imaging.masks import (
    canvas_to_mask,
    changed_outside,
    composite,
    fit_mask,
    load_mask,
    mask_is_empty,
    mask_overlay,
    mask_to_transparent,
)
from studio.imaging.parameters import (
    PARAMETERS_CHUNK,
    STUDIO_CHUNK,
    a1111_text,
    embed_parameters,
    parse_a1111,
    read_parameters,
)

__all__ = [
    "MB",
    "PARAMETERS_CHUNK",
    "PNG_SIGNATURE",
    "STUDIO_CHUNK",
    "ImageLimits",
    "ImageRejected",
    "LoadedImage",
    "a1111_text",
    "canvas_to_mask",
    "changed_outside",
    "composite",
    "embed_parameters",
    "fit_mask",
    "encode_for_storage",
    "encode_png",
    "load_image",
    "load_mask",
    "make_thumbnail",
    "mask_is_empty",
    "mask_overlay",
    "mask_to_transparent",
    "parse_a1111",
    "read_parameters",
]
