"""Safe decoding: limits, decompression bombs, damaged files, EXIF orientation, colour
profiles and odd modes normalized, private metadata dropped."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import cache
from typing import Any

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

from studio.errors import Invalid
from studio.imaging.encode import PNG_SIGNATURE
from studio.imaging.parameters import parameters_from

try:  # AVIF decoding ships with Pillow >= 11.2
    from PIL import AvifImagePlugin  # noqa: F401
except ImportError:  # pragma: no cover
    pass

MB = 1024 * 1024

# Formats we decode, in the order they are tried; a file is judged by its bytes only.
_FORMATS = tuple(
    f for f in ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF", "AVIF") if f in Image.OPEN
)
_NOT_AN_IMAGE = "This file is not an image we can read. Use PNG, JPEG or WebP."
_DAMAGED = "The file is damaged or incomplete."
_EMPTY = "The file is empty."
MASK_EMPTY = "The mask is empty: paint the area to change."
# EXIF orientation -> the transpose that shows the picture upright (as ImageOps.exif_transpose).
ORIENT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageRejected(Invalid):
    """An upload or image that we refuse; nothing was stored."""


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int
    max_side: int

    @classmethod
    def from_settings(cls, settings: Any) -> ImageLimits:
        return cls(
            max_bytes=settings.max_upload_bytes,
            max_pixels=settings.max_image_pixels,
            max_side=settings.max_image_side,
        )


@dataclass
class LoadedImage:
    """A decoded, upright RGB/RGBA image with no metadata left on it."""

    image: Image.Image
    source_format: str
    notices: list[str]
    parameters: dict[str, Any] | None
    # The original bytes when they are a plain 8-bit RGB/RGBA PNG whose pixels needed no change:
    # storage can then keep its pixel chunks as they are instead of re-encoding.
    pristine_png: bytes | None = field(default=None, repr=False)


# ---------------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------------


def _fmt_bytes(n: int, digits: int = 1) -> str:
    for unit, size in (("MB", MB), ("KB", 1024)):
        if n >= size:
            text = f"{n / size:.{digits}f}".rstrip("0").rstrip(".")
            return f"{text} {unit}"
    return f"{n} bytes"


def _fmt_pixels(n: int) -> str:
    if n >= 1_000_000:
        return f"{round(n / 1_000_000, 1):g} megapixels"
    return f"{n:,} pixels"


def _size_message(n: int, limit: int) -> str:
    size = _fmt_bytes(n)
    if size == _fmt_bytes(limit):
        size = _fmt_bytes(n, digits=3)
    return f"The file is {size}; the limit is {_fmt_bytes(limit)}."


def _unreadable_message(data: bytes) -> str:
    head = data[:1024].lstrip().lower()
    if b"<svg" in head or (head.startswith(b"<?xml") and b"svg" in head):
        return "Vector drawings (SVG) are not supported; export the drawing as PNG, JPEG or WebP."
    if data[4:8] == b"ftyp" and any(b in data[8:40] for b in (b"heic", b"heix", b"hevc", b"heim")):
        return "HEIC photos are not supported; export the photo as JPEG or PNG."
    return _NOT_AN_IMAGE


# ---------------------------------------------------------------------------------------------
# Decoding
# ---------------------------------------------------------------------------------------------


def _identify(data: bytes) -> ImageFile.ImageFile:
    """Read only the header. Pillow's own bomb check is skipped here because we apply ours,
    with the real dimensions, before any pixel is decoded (without touching MAX_IMAGE_PIXELS)."""
    prefix, recognised = data[:16], False
    for fmt in _FORMATS:
        entry = Image.OPEN.get(fmt)
        if entry is None:
            continue
        factory, accept = entry
        if accept is not None:
            verdict = accept(prefix)
            if not verdict or isinstance(verdict, str):
                continue
        recognised = True
        try:
            return factory(io.BytesIO(data), "")
        except Image.DecompressionBombError:
            raise ImageRejected("The image is too large to open safely.") from None
        except Exception:  # noqa: BLE001 - any failure to parse a header means "not readable"
            continue
    message = _unreadable_message(data)
    raise ImageRejected(_DAMAGED if recognised and message == _NOT_AN_IMAGE else message)


def _check_dimensions(size: tuple[int, int], limits: ImageLimits) -> None:
    w, h = size
    if w < 1 or h < 1:
        raise ImageRejected(_DAMAGED)
    if w * h > limits.max_pixels:
        raise ImageRejected(
            f"The image is {w}×{h} pixels; the limit is {_fmt_pixels(limits.max_pixels)}."
        )
    if max(w, h) > limits.max_side:
        raise ImageRejected(
            f"The image is {w}×{h} pixels; the longest side may be at most "
            f"{limits.max_side} pixels."
        )


def open_checked(data: bytes, limits: ImageLimits) -> ImageFile.ImageFile:
    """Header checks (bytes, size, frames), then the one full decode."""
    if not data:
        raise ImageRejected(_EMPTY)
    if len(data) > limits.max_bytes:
        raise ImageRejected(_size_message(len(data), limits.max_bytes))
    im = _identify(data)
    _check_dimensions(im.size, limits)
    try:
        frames = getattr(im, "n_frames", 1) if im.format == "TIFF" else 1
        animated = im.format != "MPO" and bool(getattr(im, "is_animated", False))
    except Exception:  # noqa: BLE001
        raise ImageRejected(_DAMAGED) from None
    if frames > 1:
        raise ImageRejected("The file has several pages; export a single image.")
    if animated:
        raise ImageRejected("Animated images are not supported; export a single frame.")
    try:
        im.load()
    except (Image.DecompressionBombError, MemoryError):
        raise ImageRejected("The image is too large to open safely.") from None
    except Exception:  # noqa: BLE001 - truncated data, bad CRC, bad zlib stream, ...
        raise ImageRejected(_DAMAGED) from None
    return im


def exif_orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(0x0112, 1))
    except Exception:  # noqa: BLE001 - broken EXIF is ignored, like the rest of it
        return 1


def _has_gps(im: Image.Image) -> bool:
    try:
        return bool(im.getexif().get_ifd(0x8825))
    except Exception:  # noqa: BLE001
        return False


def _png_bit_depth(data: bytes) -> int | None:
    return data[24] if data.startswith(PNG_SIGNATURE) and data[12:16] == b"IHDR" else None


def _deep_to_l(im: Image.Image) -> Image.Image:
    """16-bit or float grayscale to 8-bit L, scaling (Pillow's convert would clip)."""
    arr = np.asarray(im)
    if im.mode == "F":
        arr = arr * 255.0 if float(arr.max(initial=0)) <= 1.0 else arr
    elif im.mode.startswith("I;16"):
        arr = arr.astype(np.uint32) >> 8
    else:
        top = int(arr.max(initial=0))
        if top > 65535:
            arr = arr.astype(np.float64) * (255.0 / top)
        elif top > 255:
            arr = arr.astype(np.uint32) >> 8
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


@cache
def _srgb() -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(im: Image.Image, icc: bytes, notices: list[str]) -> Image.Image | None:
    """Convert RGB/RGBA/CMYK pixels from their embedded profile to sRGB; None if not needed."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        space = profile.profile.xcolor_space.strip()
        name = (ImageCms.getProfileDescription(profile) or "").strip()
    except Exception:  # noqa: BLE001
        notices.append("The embedded colour profile could not be read and was ignored.")
        return None
    wanted = {"RGB": "RGB", "RGBA": "RGB", "CMYK": "CMYK"}.get(im.mode)
    if space != wanted or (space == "RGB" and "srgb" in name.lower()):
        return None
    alpha = im.getchannel("A") if im.mode == "RGBA" else None
    try:
        out = ImageCms.profileToProfile(im.convert(wanted), profile, _srgb(), outputMode="RGB")
    except Exception:  # noqa: BLE001
        notices.append("The embedded colour profile could not be applied and was ignored.")
        return None
    assert out is not None
    if space == "RGB":
        notices.append(
            f"Converted colours from the embedded profile ({name or 'unnamed'}) to sRGB."
        )
    if alpha is not None:
        out.putalpha(alpha)
    return out


def normalize(im: Image.Image, notices: list[str], *, icc: bytes | None) -> Image.Image:
    """Any decoded mode to RGB or RGBA (alpha kept when the image has any)."""
    if im.mode in ("I", "I;16", "I;16L", "I;16B", "I;16N", "F"):
        notices.append("Converted from 16 bits per channel to 8.")
        im = _deep_to_l(im)
    converted = _to_srgb(im, icc, notices) if icc and im.mode in ("RGB", "RGBA", "CMYK") else None
    if im.mode == "CMYK":
        notices.append("Converted from CMYK to RGB.")
    if converted is not None:
        return converted
    target = "RGBA" if im.has_transparency_data else "RGB"
    if im.mode == target:
        return im
    try:
        return im.convert(target)
    except ValueError:
        raise ImageRejected(
            f"The image uses a colour format we cannot convert ({im.mode}); "
            "export it as an RGB PNG or JPEG."
        ) from None


def load_image(data: bytes, limits: ImageLimits) -> LoadedImage:
    """Decode and validate an upload: upright, sRGB, RGB/RGBA, metadata dropped."""
    im = open_checked(data, limits)
    fmt = "JPEG" if im.format == "MPO" else (im.format or "?")
    notices: list[str] = []
    info = dict(im.info)
    orientation = exif_orientation(im)
    if _has_gps(im):
        notices.append("Location data (GPS) was removed from the photo.")
    parameters = parameters_from(data, info, im)
    if _png_bit_depth(data) == 16 and im.mode in ("RGB", "RGBA", "LA"):
        notices.append("Converted from 16 bits per channel to 8.")  # Pillow already reduced it
    out = normalize(im, notices, icc=info.get("icc_profile"))
    if orientation in ORIENT:
        out = out.transpose(ORIENT[orientation])
    out.info = {}
    pristine = (
        fmt == "PNG"
        and out is im
        and _png_bit_depth(data) == 8
        and "transparency" not in info
        and "icc_profile" not in info  # a tagged file is re-encoded, so no iCCP survives
    )
    return LoadedImage(out, fmt, notices, parameters, data if pristine else None)


def open_trusted(data: bytes) -> Image.Image:
    """Decode bytes we made or stored (results, masks); Pillow's default bomb check applies."""
    try:
        im = Image.open(io.BytesIO(data), formats=_FORMATS)
        im.load()
    except Image.DecompressionBombError:
        raise ImageRejected("The image is too large to open safely.") from None
    except Exception:  # noqa: BLE001
        raise ImageRejected(_unreadable_message(data) if data else _EMPTY) from None
    return im


def rgb(data: bytes) -> Image.Image:
    return normalize(open_trusted(data), [], icc=None)
