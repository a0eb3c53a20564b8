"""Encoding for storage: PNG (keeping verified compressed data when only metadata must go),
JPEG, and thumbnails."""

from __future__ import annotations

import io
import zlib
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from studio.imaging.decode import LoadedImage

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

try:  # AVIF decoding ships with Pillow >= 11.2
    from PIL import AvifImagePlugin  # noqa: F401
except ImportError:  # pragma: no cover
    pass

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


def png_chunk(ctype: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + ctype + body + zlib.crc32(ctype + body).to_bytes(4, "big")


def png_chunks(data: bytes) -> list[tuple[bytes, int, int]]:
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
        chunks = png_chunks(data)
    except ValueError:
        return None
    view, kept = memoryview(data), [PNG_SIGNATURE]
    for ctype, start, end in chunks:
        if ctype in (b"IHDR", b"IDAT", b"IEND"):
            if zlib.crc32(view[start + 4 : end - 4]) != int.from_bytes(view[end - 4 : end], "big"):
                return None
            kept.append(bytes(view[start:end]))
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
