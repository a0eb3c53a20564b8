"""Generation parameters in PNG text chunks: our JSON chunk and the `parameters` text
other tools read (and parse), embedded on download and read back on upload."""

from __future__ import annotations

import io
import json
import re
import zlib
from collections.abc import Mapping
from typing import Any

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

from studio.imaging.encode import PNG_SIGNATURE, encode_png, png_chunk, png_chunks

STUDIO_CHUNK = "studio"
PARAMETERS_CHUNK = "parameters"
MAX_TEXT_CHUNK = 1024 * 1024

try:  # AVIF decoding ships with Pillow >= 11.2
    from PIL import AvifImagePlugin  # noqa: F401
except ImportError:  # pragma: no cover
    pass

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
    prompt: list[str] = []
    negative: list[str] = []
    in_negative = False
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
        return png_chunk(b"tEXt", key.encode("latin-1") + b"\0" + text.encode("latin-1"))
    except UnicodeEncodeError:
        body = key.encode("latin-1") + b"\0\0\0\0\0" + text.encode("utf-8")
        return png_chunk(b"iTXt", body)


def _png_texts(data: bytes) -> dict[str, str]:
    """tEXt/iTXt/zTXt chunks of a PNG, read without decoding pixels (bounded sizes)."""
    texts: dict[str, str] = {}
    for ctype, start, end in png_chunks(data):
        if ctype not in (b"tEXt", b"iTXt", b"zTXt") or end - start > MAX_TEXT_CHUNK:
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
    out = d.decompress(data, MAX_TEXT_CHUNK)
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


def parameters_from(
    data: bytes, info: Mapping[Any, Any], im: Image.Image | None
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
        chunks = png_chunks(data)
    except ValueError:  # a stored JPEG or WebP: the download is a PNG of the same pixels
        with Image.open(io.BytesIO(data)) as im:
            keep = im.mode if im.mode in ("RGB", "RGBA", "L", "LA") else "RGBA"
            data = encode_png(im.convert(keep))
        chunks = png_chunks(data)
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
            return parameters_from(data, {}, None)
        im = Image.open(io.BytesIO(data), formats=("JPEG", "WEBP"))
        return parameters_from(data, im.info, im)
    except Exception:  # noqa: BLE001
        return None
