"""Image helpers (DESIGN §6): safe decoding, normalizing, encoding, masks, PNG parameters.

Pure Pillow/numpy: no database, no storage, no Streamlit. Every rejection is an `ImageRejected`
whose `user_message` can be shown as-is.
"""

from __future__ import annotations

import io
import json
import re
import zlib
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

try:  # AVIF decoding ships with Pillow >= 11.2
    from PIL import AvifImagePlugin  # noqa: F401
except ImportError:  # pragma: no cover
    pass

MB = 1024 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
STUDIO_CHUNK = "studio"
PARAMETERS_CHUNK = "parameters"

# Formats we decode, in the order they are tried; a file is judged by its bytes only.
_FORMATS = tuple(
    f for f in ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF", "AVIF") if f in Image.OPEN
)
_NOT_AN_IMAGE = "This file is not an image we can read. Use PNG, JPEG or WebP."
_DAMAGED = "The file is damaged or incomplete."
_EMPTY = "The file is empty."
_MASK_EMPTY = "The mask is empty: paint the area to change."
_MAX_TEXT_CHUNK = 1 * MB
# EXIF orientation -> the transpose that shows the picture upright (as ImageOps.exif_transpose).
_ORIENT = {
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


def _open_checked(data: bytes, limits: ImageLimits) -> ImageFile.ImageFile:
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


def _orientation(im: Image.Image) -> int:
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


def _normalize(im: Image.Image, notices: list[str], *, icc: bytes | None) -> Image.Image:
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
    im = _open_checked(data, limits)
    fmt = "JPEG" if im.format == "MPO" else (im.format or "?")
    notices: list[str] = []
    info = dict(im.info)
    orientation = _orientation(im)
    if _has_gps(im):
        notices.append("Location data (GPS) was removed from the photo.")
    parameters = _parameters_from(data, info, im)
    if _png_bit_depth(data) == 16 and im.mode in ("RGB", "RGBA", "LA"):
        notices.append("Converted from 16 bits per channel to 8.")  # Pillow already reduced it
    out = _normalize(im, notices, icc=info.get("icc_profile"))
    if orientation in _ORIENT:
        out = out.transpose(_ORIENT[orientation])
    out.info = {}
    pristine = (
        fmt == "PNG"
        and out is im
        and _png_bit_depth(data) == 8
        and "transparency" not in info
        and "icc_profile" not in info  # a tagged file is re-encoded, so no iCCP survives
    )
    return LoadedImage(out, fmt, notices, parameters, data if pristine else None)


def _open_trusted(data: bytes) -> Image.Image:
    """Decode bytes we made or stored (results, masks); Pillow's default bomb check applies."""
    try:
        im = Image.open(io.BytesIO(data), formats=_FORMATS)
        im.load()
    except Image.DecompressionBombError:
        raise ImageRejected("The image is too large to open safely.") from None
    except Exception:  # noqa: BLE001
        raise ImageRejected(_unreadable_message(data) if data else _EMPTY) from None
    return im


def _rgb(data: bytes) -> Image.Image:
    return _normalize(_open_trusted(data), [], icc=None)


# ---------------------------------------------------------------------------------------------
# Encoding
# ---------------------------------------------------------------------------------------------


def encode_png(img: Image.Image, *, compress_level: int = 6) -> bytes:
    """PNG with no ancillary metadata (no ICC, EXIF or text chunks).

    Level 6 (zlib's default) is kept for stored files: measured on photo-like and generated
    images it is 1.2–6× slower than level 1 but 9–37% smaller, and a stored file is encoded once
    and then served and sent to providers many times. Throwaway previews use level 1.
    """
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=compress_level, icc_profile=None)
    return buf.getvalue()


def _chunk(ctype: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + ctype + body + zlib.crc32(ctype + body).to_bytes(4, "big")


def _png_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
    """(type, start, end) of each chunk; raises ValueError on a malformed layout."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG")
    chunks, pos = [], len(PNG_SIGNATURE)
    while pos + 12 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        end = pos + 12 + length
        if end > len(data):
            raise ValueError("truncated chunk")
        ctype = data[pos + 4 : pos + 8]
        chunks.append((ctype, pos, end))
        pos = end
        if ctype == b"IEND":
            break
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        raise ValueError("missing IHDR or IEND")
    return chunks


def _strip_png(data: bytes, raw_size: int) -> bytes | None:
    """Keep only IHDR/IDAT/IEND of a plain PNG (CRCs verified); None when a re-encode is due."""
    try:
        chunks = _png_chunks(data)
    except ValueError:
        return None
    view, kept = memoryview(data), [PNG_SIGNATURE]
    for ctype, start, end in chunks:
        if ctype in (b"IHDR", b"IDAT", b"IEND"):
            if zlib.crc32(view[start + 4 : end - 4]) != int.from_bytes(view[end - 4 : end], "big"):
                return None
            kept.append(view[start:end])
        elif ctype == b"acTL" or (ctype[:1].isupper() and ctype != b"PLTE"):
            return None  # animation control or an unknown critical chunk: re-encode
    out = b"".join(kept)
    return out if len(out) < raw_size else None  # an uncompressed PNG is worth re-encoding


def encode_for_storage(loaded: LoadedImage) -> tuple[bytes, str]:
    """Bytes to store and their MIME type: JPEG stays JPEG (q95), anything else PNG. No metadata.

    A plain 8-bit RGB/RGBA PNG whose pixels needed no change keeps its own compressed pixel
    chunks (lossless, and no encode at all); only its metadata chunks are dropped.
    """
    img = loaded.image
    if loaded.source_format == "JPEG" and img.mode == "RGB":
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=95, icc_profile=None, exif=b"", comment=b"")
        return buf.getvalue(), "image/jpeg"
    if loaded.pristine_png is not None:
        raw = img.width * img.height * len(img.getbands())
        stripped = _strip_png(loaded.pristine_png, raw)
        if stripped is not None:
            return stripped, "image/png"
    return encode_png(img), "image/png"


def make_thumbnail(img: Image.Image, long_side: int = 256) -> bytes:
    """A WebP whose long side is `long_side` (never enlarged); alpha kept."""
    if img.mode not in ("RGB", "RGBA"):
        img = img.convert("RGBA" if img.has_transparency_data else "RGB")
    w, h = img.size
    scale = long_side / max(w, h)
    if scale < 1:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        # reducing_gap: a fast integer reduce() first, then Lanczos on the small image.
        img = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    buf = io.BytesIO()
    img.save(buf, "WEBP", quality=80, method=4)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# Masks (L-mode PNG: 255 = change, 0 = keep)
# ---------------------------------------------------------------------------------------------


def _binary(mask: Image.Image) -> Image.Image:
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
    return encode_png(_binary(painted.resize(tuple(size), Image.Resampling.NEAREST)))


def load_mask(data: bytes, size: tuple[int, int], limits: ImageLimits) -> bytes:
    """An uploaded mask, normalized. With real transparency, transparent (alpha<128) = change
    (OpenAI's convention); otherwise light (luminance>=128) = change."""
    im = _open_checked(data, limits)
    orientation = _orientation(im)
    im = _normalize(im, [], icc=None)
    if orientation in _ORIENT:
        im = im.transpose(_ORIENT[orientation])
    if im.size != tuple(size):
        (mw, mh), (w, h) = im.size, size
        raise ImageRejected(
            f"The mask is {mw}×{mh} but the image is {w}×{h}; "
            "paint or upload a mask of the same size."
        )
    alpha = im.getchannel("A") if im.mode == "RGBA" else None
    if alpha is not None and alpha.getextrema()[0] < 255:
        mask = alpha.point(lambda v: 255 if v < 128 else 0)
    else:
        mask = _binary(im)
    if mask.getextrema()[1] == 0:
        raise ImageRejected(_MASK_EMPTY)
    return encode_png(mask)


def mask_is_empty(mask: bytes) -> bool:
    """True when no pixel of the mask asks for a change."""
    return _open_trusted(mask).convert("L").getextrema()[1] < 128


def composite(source: bytes, result: bytes, mask: bytes) -> bytes:
    """The result inside the mask, the source's exact pixels outside it (PNG)."""
    src = _rgb(source)
    res = _rgb(result)
    if res.mode != src.mode:
        res = res.convert(src.mode)
    if res.size != src.size:
        res = res.resize(src.size, Image.Resampling.LANCZOS)
    m = _open_trusted(mask)
    if m.size != src.size:
        m = m.resize(src.size, Image.Resampling.NEAREST)
    # A 0/255 mask makes paste a pure selection: 0 leaves the source's pixel untouched.
    return encode_png(Image.composite(res, src, _binary(m)))


def mask_to_transparent(mask: bytes) -> bytes:
    """An RGBA PNG, transparent where the mask says change (the OpenAI edit API's convention)."""
    m = _binary(_open_trusted(mask))
    out = Image.new("RGBA", m.size, (0, 0, 0, 255))
    out.putalpha(m.point(lambda v: 0 if v else 255))
    return encode_png(out)


def mask_overlay(
    image: bytes, mask: bytes, color: tuple[int, int, int] = (255, 64, 64), opacity: float = 0.45
) -> bytes:
    """A preview PNG: the image with the masked region tinted in `color`."""
    base = _rgb(image)
    if base.mode == "RGBA":
        base = Image.alpha_composite(Image.new("RGBA", base.size, "white"), base).convert("RGB")
    m = _open_trusted(mask)
    if m.size != base.size:
        m = m.resize(base.size, Image.Resampling.NEAREST)
    level = max(0, min(255, round(opacity * 255)))
    tint = _binary(m).point(lambda v: level if v else 0)
    return encode_png(
        Image.composite(Image.new("RGB", base.size, color), base, tint), compress_level=1
    )


# ---------------------------------------------------------------------------------------------
# Generation parameters in PNG text chunks
# ---------------------------------------------------------------------------------------------

_LABELS = {"steps": "Steps", "sampler": "Sampler", "cfg_scale": "CFG scale", "seed": "Seed"}
_TEXT_SKIP = {"prompt", "negative_prompt", "width", "height", "size"}
_PARAM = re.compile(r'\s*([A-Z][\w ]{0,40}):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
_SETTINGS = re.compile(r'(?:\s*[A-Z][\w ]{0,40}:\s*(?:"(?:\\.|[^\\"])+"|[^,]*)(?:,|$))+')


def _setting_value(v: Any) -> str:
    text = str(v)
    return json.dumps(text) if any(c in text for c in ',"\n') else text


def a1111_text(params: dict[str, Any]) -> str:
    """The `parameters` text other tools read: prompt, negative prompt, one settings line."""
    lines = [str(params.get("prompt") or "")]
    if params.get("negative_prompt"):
        lines.append(f"Negative prompt: {params['negative_prompt']}")
    settings = [
        f"{label}: {_setting_value(params[k])}"
        for k, label in _LABELS.items()
        if params.get(k) is not None
    ]
    if params.get("width") and params.get("height"):
        settings.append(f"Size: {params['width']}x{params['height']}")
    elif params.get("size"):
        settings.append(f"Size: {_setting_value(params['size'])}")
    for key, value in params.items():
        if key in _LABELS or key in _TEXT_SKIP or value is None:
            continue
        if isinstance(value, str | int | float | bool):
            settings.append(f"{key.replace('_', ' ').capitalize()}: {_setting_value(value)}")
    if settings:
        lines.append(", ".join(settings))
    return "\n".join(lines)


def _scalar(text: str) -> Any:
    text = text.strip()
    if text.startswith('"'):
        try:
            return json.loads(text)
        except ValueError:
            return text
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return float(text)
    return text


def parse_a1111(text: str) -> dict[str, Any] | None:
    """Parse an A1111-style `parameters` text; None when there is nothing in it."""
    lines = text.strip().split("\n")
    if not text.strip():
        return None
    out: dict[str, Any] = {}
    if len(lines) > 1 and _SETTINGS.fullmatch(lines[-1].strip()):
        for key, value in _PARAM.findall(lines.pop().strip()):
            key = key.strip()
            size = re.fullmatch(r"(\d+)x(\d+)", value.strip()) if key == "Size" else None
            if size:
                out["width"], out["height"] = int(size[1]), int(size[2])
            else:
                out[key.lower().replace(" ", "_")] = _scalar(value)
    prompt, negative, in_negative = [], [], False
    for line in lines:
        if line.startswith("Negative prompt:"):
            in_negative, line = True, line[len("Negative prompt:") :].strip()
        (negative if in_negative else prompt).append(line)
    result: dict[str, Any] = {"prompt": "\n".join(prompt).strip()}
    if in_negative:
        result["negative_prompt"] = "\n".join(negative).strip()
    return result | out


def _text_chunk(key: str, text: str) -> bytes:
    try:
        return _chunk(b"tEXt", key.encode("latin-1") + b"\0" + text.encode("latin-1"))
    except UnicodeEncodeError:
        body = key.encode("latin-1") + b"\0\0\0\0\0" + text.encode("utf-8")
        return _chunk(b"iTXt", body)


def _png_texts(data: bytes) -> dict[str, str]:
    """tEXt/iTXt/zTXt chunks of a PNG, read without decoding pixels (bounded sizes)."""
    texts: dict[str, str] = {}
    for ctype, start, end in _png_chunks(data):
        if ctype not in (b"tEXt", b"iTXt", b"zTXt") or end - start > _MAX_TEXT_CHUNK:
            continue
        body = data[start + 8 : end - 4]
        key, _, rest = body.partition(b"\0")
        name = key.decode("latin-1")
        if ctype == b"tEXt":
            texts[name] = rest.decode("latin-1")
        elif ctype == b"zTXt":
            texts[name] = _inflate(rest[1:]).decode("latin-1")
        else:
            flag, rest = rest[0], rest[2:]
            _lang, _, rest = rest.partition(b"\0")
            _translated, _, rest = rest.partition(b"\0")
            texts[name] = (_inflate(rest) if flag else rest).decode("utf-8", "replace")
    return texts


def _inflate(data: bytes) -> bytes:
    d = zlib.decompressobj()
    out = d.decompress(data, _MAX_TEXT_CHUNK)
    if d.unconsumed_tail:
        raise ValueError("text chunk too large")
    return out


def _user_comment(im: Image.Image) -> str | None:
    raw = im.getexif().get_ifd(0x8769).get(0x9286)
    if not isinstance(raw, bytes) or len(raw) <= 8:
        return raw if isinstance(raw, str) else None
    prefix, body = raw[:8], raw[8:]
    if prefix.startswith(b"UNICODE"):
        enc = "utf-16-le" if body[:1] != b"\0" and body[1:2] == b"\0" else "utf-16-be"
        return body.decode(enc, "replace")
    return body.decode("utf-8", "replace").strip("\0")


def _parameters_from(
    data: bytes, info: dict[str, Any], im: Image.Image | None
) -> dict[str, Any] | None:
    try:
        texts = _png_texts(data) if data.startswith(PNG_SIGNATURE) else {}
        studio = texts.get(STUDIO_CHUNK) or info.get(STUDIO_CHUNK)
        if isinstance(studio, str):
            try:
                parsed = json.loads(studio)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                return parsed
        text = texts.get(PARAMETERS_CHUNK) or info.get(PARAMETERS_CHUNK)
        if not isinstance(text, str) and im is not None and not texts:
            text = _user_comment(im)
        return parse_a1111(text) if isinstance(text, str) else None
    except Exception:  # noqa: BLE001 - parameters are a convenience; garbage means none
        return None


def embed_parameters(png_or_any_image: bytes, params: dict[str, Any]) -> bytes:
    """A PNG carrying `params` as our JSON chunk and an A1111 `parameters` text.

    A PNG is not re-encoded: the chunks are spliced in after IHDR (replacing earlier ones).
    """
    data = png_or_any_image
    try:
        chunks = _png_chunks(data)
    except ValueError:
        data = encode_png(_rgb(data))
        chunks = _png_chunks(data)
    new = _text_chunk(STUDIO_CHUNK, json.dumps(params, default=str)) + _text_chunk(
        PARAMETERS_CHUNK, a1111_text(params)
    )
    parts = [PNG_SIGNATURE]
    for ctype, start, end in chunks:
        body = data[start + 8 : end - 4]
        if ctype in (b"tEXt", b"iTXt", b"zTXt") and body.partition(b"\0")[0] in (
            b"studio",
            b"parameters",
        ):
            continue
        parts.append(data[start:end])
        if ctype == b"IHDR":
            parts.append(new)
    return b"".join(parts)


def read_parameters(data: bytes) -> dict[str, Any] | None:
    """Parameters embedded in an image (ours, or A1111-style); None for none or garbage."""
    if not isinstance(data, bytes | bytearray) or not data:
        return None
    data = bytes(data)
    try:
        if data.startswith(PNG_SIGNATURE):
            return _parameters_from(data, {}, None)
        im = Image.open(io.BytesIO(data), formats=("JPEG", "WEBP"))
        return _parameters_from(data, dict(im.info), im)
    except Exception:  # noqa: BLE001
        return None
