"""Masks (L-mode PNG: 255 = change, 0 = keep): from a canvas or an upload, compositing so
pixels outside the mask stay the source's, provider conventions, previews."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
from PIL import (  # noqa: F401  (importing a plugin registers its format)
    BmpImagePlugin,
    GifImagePlugin,
    Image,
    ImageCms,
    ImageFile,
    JpegImagePlugin,
    PngImagePlugin,
    TiffImagePlugin,
    WebPImagePlugin,
)

from studio.imaging.decode import (
    MASK_EMPTY,
    ORIENT,
    ImageLimits,
    ImageRejected,
    exif_orientation,
    normalize,
    open_checked,
    open_trusted,
    rgb,
)
from studio.imaging.encode import encode_png

try:  # AVIF decoding ships with Pillow >= 11.2
    from PIL import AvifImagePlugin  # noqa: F401
except ImportError:  # pragma: no cover
    pass

# ---------------------------------------------------------------------------------------------
# Masks (L-mode PNG: 255 = change, 0 = keep)
# ---------------------------------------------------------------------------------------------


def binary_mask(mask: Image.Image) -> Image.Image:
    return mask.convert("L").point(lambda v: 255 if v >= 128 else 0)


def canvas_to_mask(rgba: Any, size: tuple[int, int]) -> bytes:
    """A drawing-canvas layer (display size) to a mask of `size`: painted (alpha>0) = change."""
    if isinstance(rgba, Image.Image):
        arr = np.asarray(rgba.convert("RGBA"))[..., 3]
    else:
        arr = np.asarray(rgba)
        if arr.ndim == 3:
            arr = arr[..., 3] if arr.shape[2] == 4 else arr.max(axis=2)
    painted = Image.fromarray(np.where(arr > 0, 255, 0).astype(np.uint8))
    return encode_png(binary_mask(painted.resize((size[0], size[1]), Image.Resampling.NEAREST)))


def _lowest(band: Image.Image) -> float:
    """The lowest value of a one-band image."""
    low, _ = cast(tuple[float, float], band.getextrema())
    return low


def _highest(band: Image.Image) -> float:
    """The highest value of a one-band image."""
    _, high = cast(tuple[float, float], band.getextrema())
    return high


def load_mask(data: bytes, size: tuple[int, int], limits: ImageLimits) -> bytes:
    """An uploaded mask, normalized. With real transparency, transparent (alpha<128) = change
    (OpenAI's convention); otherwise light (luminance>=128) = change."""
    opened = open_checked(data, limits)
    orientation = exif_orientation(opened)
    im: Image.Image = normalize(opened, [], icc=None)
    if orientation in ORIENT:
        im = im.transpose(ORIENT[orientation])
    if im.size != tuple(size):
        (mw, mh), (w, h) = im.size, size
        raise ImageRejected(
            f"The mask is {mw}×{mh} but the image is {w}×{h}; "
            "paint or upload a mask of the same size."
        )
    alpha = im.getchannel("A") if im.mode == "RGBA" else None
    if alpha is not None and _lowest(alpha) < 255:
        mask = alpha.point(lambda v: 255 if v < 128 else 0)
    else:
        mask = binary_mask(im)
    if _highest(mask) == 0:
        raise ImageRejected(MASK_EMPTY)
    return encode_png(mask)


def mask_is_empty(mask: bytes) -> bool:
    """True when no pixel of the mask asks for a change."""
    return _highest(open_trusted(mask).convert("L")) < 128


def composite(source: bytes, result: bytes, mask: bytes) -> bytes:
    """The result inside the mask, the source's exact pixels outside it (PNG)."""
    src = rgb(source)
    res = rgb(result)
    if res.mode != src.mode:
        res = res.convert(src.mode)
    if res.size != src.size:
        res = res.resize(src.size, Image.Resampling.LANCZOS)
    m = open_trusted(mask)
    if m.size != src.size:
        m = m.resize(src.size, Image.Resampling.NEAREST)
    # A 0/255 mask makes paste a pure selection: 0 leaves the source's pixel untouched.
    return encode_png(Image.composite(res, src, binary_mask(m)))


def fit_mask(mask: bytes, source: bytes) -> bytes:
    """The mask at the source's size (a replayed step's source may be another size)."""
    src, m = open_trusted(source), open_trusted(mask)
    if m.size == src.size:
        return mask
    return encode_png(binary_mask(m.resize(src.size, Image.Resampling.NEAREST)))


def changed_outside(source: bytes, result: bytes, mask: bytes) -> int:
    """How many pixels outside the mask differ between `source` and `result` (mask integrity:
    0 when everything the mask keeps was kept). A result of another size counts every pixel."""
    src = np.asarray(rgb(source).convert("RGBA"))
    res_im = rgb(result).convert("RGBA")
    if res_im.size != (src.shape[1], src.shape[0]):
        return int(src.shape[0] * src.shape[1])
    res = np.asarray(res_im)
    m = open_trusted(mask)
    if m.size != res_im.size:
        m = m.resize(res_im.size, Image.Resampling.NEAREST)
    keep = np.asarray(binary_mask(m)) == 0
    differs = np.any(src != res, axis=2)
    return int(np.count_nonzero(differs & keep))


def mask_to_transparent(mask: bytes) -> bytes:
    """An RGBA PNG, transparent where the mask says change (the OpenAI edit API's convention)."""
    m = binary_mask(open_trusted(mask))
    out = Image.new("RGBA", m.size, (0, 0, 0, 255))
    out.putalpha(m.point(lambda v: 0 if v else 255))
    return encode_png(out)


def mask_overlay(
    image: bytes, mask: bytes, color: tuple[int, int, int] = (255, 64, 64), opacity: float = 0.45
) -> bytes:
    """A preview PNG: the image with the masked region tinted in `color`."""
    base = rgb(image)
    if base.mode == "RGBA":
        base = Image.alpha_composite(Image.new("RGBA", base.size, "white"), base).convert("RGB")
    m = open_trusted(mask)
    if m.size != base.size:
        m = m.resize(base.size, Image.Resampling.NEAREST)
    level = max(0, min(255, round(opacity * 255)))
    tint = binary_mask(m).point(lambda v: level if v else 0)
    return encode_png(
        Image.composite(Image.new("RGB", base.size, color), base, tint), compress_level=1
    )
