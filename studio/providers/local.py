"""The built-in offline renderer: the studio works with no keys (DESIGN §5).

Images are abstract "illustrations" of the prompt: a palette taken from the prompt's words, a
gradient sky, a sun or moon, layered hills and soft shapes placed by a seeded RNG, and a little
grain. Everything is deterministic for the same (prompt, seed, width, height). Videos are short
H.264 MP4 clips (WebM/VP9 if this FFmpeg lacks libx264) with a slow camera move over that render,
or a Ken Burns move over the source image. No database, no storage, no network.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
import os
import re
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np
from PIL import Image, UnidentifiedImageError

from studio.providers.base import (
    Heartbeat,
    ImageRequest,
    ImageResult,
    ModelInfo,
    ProviderError,
    VideoRequest,
    VideoResult,
)

IMAGE_MODEL = "sketch"
VIDEO_MODEL = "motion"
MAX_SIDE = 8192
MAX_PIXELS = 40_000_000
MAX_IMAGES = 8
# Scenes are drawn at most this many pixels, then scaled up (soft shapes need no more detail).
WORK_PIXELS = 1024 * 1024
PNG_LEVEL = 1  # fast; the studio re-encodes on ingest

FPS = 12
DURATIONS = (4, 6, 8)
ASPECTS = ("16:9", "9:16")
# Nominal sizes of each resolution (landscape); the offline preview is rendered at half of it.
RESOLUTIONS = {"720p": (1280, 720), "1080p": (1920, 1080)}
PREVIEW_DIVISOR = 2
HEARTBEAT_EVERY = 12

Rgb = tuple[float, float, float]

# Words that set hues (degrees). Themes give several hues, in order of importance.
# fmt: off
_HUE_WORDS: dict[str, tuple[float, ...]] = {
    "red": (0,), "crimson": (350,), "scarlet": (5,), "ruby": (345,), "cherry": (350,),
    "orange": (28,), "amber": (38,), "gold": (45,), "golden": (45,), "yellow": (55,),
    "lemon": (58,), "lime": (85,), "green": (125,), "emerald": (145,), "mint": (150,),
    "teal": (175,), "turquoise": (172,), "cyan": (185,), "aqua": (185,), "blue": (215,),
    "azure": (205,), "navy": (228,), "cobalt": (220,), "indigo": (255,), "violet": (272,),
    "lavender": (265,), "purple": (285,), "magenta": (310,), "pink": (330,), "rose": (340,),
    "brown": (25,), "copper": (22,), "rust": (15,),
    "sunset": (22, 340, 270), "sunrise": (35, 12, 200), "dawn": (30, 330, 210),
    "dusk": (275, 20, 235), "forest": (120, 95, 35), "jungle": (130, 80, 55),
    "tree": (115, 30), "trees": (115, 30), "garden": (110, 330, 50), "meadow": (95, 55, 200),
    "ocean": (200, 185, 220), "sea": (205, 180), "lake": (200, 140), "river": (195, 120),
    "water": (195, 175), "beach": (195, 45), "sky": (210, 40), "rain": (215, 200),
    "night": (235, 260, 50), "midnight": (240, 270), "space": (250, 290, 200),
    "galaxy": (270, 300, 200), "stars": (240, 55), "moon": (230, 50),
    "desert": (35, 25, 200), "sand": (40, 30), "fire": (12, 35), "flame": (18, 40),
    "lava": (8, 30), "volcano": (10, 25), "snow": (205, 190), "ice": (195, 210),
    "winter": (210, 190), "autumn": (25, 40, 10), "fall": (28, 10), "spring": (110, 330, 55),
    "summer": (50, 200, 120), "city": (225, 30, 280), "neon": (300, 180, 60),
    "cyberpunk": (300, 190), "mountain": (220, 140), "mountains": (220, 140),
    "storm": (225, 260), "fog": (210,), "mist": (200,), "candy": (330, 190, 55),
}
# fmt: on
_NIGHT_WORDS = {"night", "midnight", "space", "galaxy", "stars", "moon", "dark", "nocturnal"}
_PALE_WORDS = {"snow", "ice", "winter", "fog", "mist", "pastel", "cloud", "clouds", "pale"}


@dataclass(frozen=True)
class Palette:
    """The colours of one scene (0..255 floats)."""

    sky_top: Rgb
    sky_horizon: Rgb
    sun: Rgb
    hills: tuple[Rgb, ...]
    shapes: tuple[Rgb, ...]
    night: bool


# --------------------------------------------------------------------------- provider


class LocalProvider:
    """Offline image and video renderer; free, deterministic, no keys."""

    name = "local"
    label = "Offline renderer"

    def models(self) -> list[ModelInfo]:
        return [
            ModelInfo(
                IMAGE_MODEL,
                "Offline sketch",
                kind="image",
                modes=("text_to_image", "image_to_image", "inpaint"),
                price_note="free, offline",
            ),
            ModelInfo(
                VIDEO_MODEL,
                "Offline motion",
                kind="video",
                modes=("text_to_video", "image_to_video"),
                price_note="free, offline",
            ),
        ]

    def estimate_cost(self, model: str, request: ImageRequest | VideoRequest) -> float:
        return 0.0

    def generate_image(self, model: str, request: ImageRequest) -> ImageResult:
        """Render `request.n` images with seeds seed, seed+1, ... as PNG bytes."""
        _check_model(model, IMAGE_MODEL)
        prompt = _require_prompt(request.prompt)
        if not 1 <= request.n <= MAX_IMAGES:
            raise ProviderError(
                "permanent", f"The offline renderer makes 1 to {MAX_IMAGES} images at a time."
            )
        seed = _seed(request.seed)
        seeds = [seed + i for i in range(request.n)]
        if request.mode == "text_to_image":
            _check_size(request.width, request.height)
            arrays = [render_scene(prompt, s, request.width, request.height) for s in seeds]
            what = "Offline sketch"
        elif request.mode in ("image_to_image", "inpaint"):
            strength = _strength(request)
            source = _source_rgb(request.source, request.mode)
            height, width = source.shape[:2]
            weight = np.float32(strength)
            if request.mode == "inpaint":
                weight = _mask_weights(request.mask, width, height) * np.float32(strength)
            arrays = [blend(source, render_scene(prompt, s, width, height), weight) for s in seeds]
            what = "Offline sketch edit" if request.mode == "image_to_image" else "Offline inpaint"
            what += f" at strength {strength:g}"
        else:
            raise ProviderError("permanent", f"The offline renderer cannot do '{request.mode}'.")
        return ImageResult(
            images=[encode_png(a) for a in arrays],
            mime_type="image/png",
            text=f"{what} of '{_short(prompt)}' ({_seed_label(seeds)}).",
            usage={"renderer": "local"},
            cost_actual=0.0,
        )

    def generate_video(
        self, model: str, request: VideoRequest, heartbeat: Heartbeat | None = None
    ) -> VideoResult:
        """Render a short clip at 12 fps.

        The offline preview is rendered at half the nominal resolution (720p -> 640x360 or
        360x640, 1080p -> 960x540) so an 8 s clip takes a second or two on two cores.
        """
        _check_model(model, VIDEO_MODEL)
        width, height, frames = _video_shape(request)
        seed = _seed(request.seed)
        if request.source is not None:
            source = Image.fromarray(_source_rgb(request.source, "image_to_video"))
            frame_iter = _ken_burns_frames(source, seed, width, height, frames)
        else:
            prompt = _require_prompt(request.prompt)
            frame_iter = _scene_frames(prompt, seed, width, height, frames)
        video, mime = encode_video(frame_iter, width, height, heartbeat)
        return VideoResult(
            video=video,
            mime_type=mime,
            usage={"renderer": "local", "frames": frames},
            cost_actual=0.0,
        )


# --------------------------------------------------------------------------- validation


def _check_model(model: str, expected: str) -> None:
    if model != expected:
        raise ProviderError("permanent", f"The offline renderer has no model '{model}'.")


def _require_prompt(prompt: str | None) -> str:
    text = (prompt or "").strip()
    if not text:
        raise ProviderError("permanent", "Write a prompt first: the prompt is empty.")
    return text


def _seed(seed: int | None) -> int:
    return 0 if seed is None else int(seed)


def _check_size(width: int, height: int) -> None:
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE) or width * height > MAX_PIXELS:
        raise ProviderError(
            "permanent",
            f"Width and height must be 1 to {MAX_SIDE} pixels and at most "
            f"{MAX_PIXELS // 1_000_000} MP in total (got {width}x{height}).",
        )


def _strength(request: ImageRequest) -> float:
    strength = request.strength
    if strength is None:
        strength = 1.0 if request.mode == "inpaint" else 0.6
    if not 0.0 <= strength <= 1.0:
        raise ProviderError("permanent", f"Strength must be between 0 and 1 (got {strength}).")
    return float(strength)


def _decode(data: bytes, what: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ProviderError("permanent", f"The {what} could not be decoded: {exc}") from exc
    return image


def _source_rgb(source: bytes | None, mode: str) -> np.ndarray:
    """Decode the source as an RGB array; transparent areas are flattened onto white."""
    if not source:
        label = mode.replace("_", "-")
        raise ProviderError("permanent", f"{label} needs a source image, and none was given.")
    image = _decode(source, "source image")
    _check_size(*image.size)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if has_alpha:
        rgba = image.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        flat.alpha_composite(rgba)
        image = flat
    return np.asarray(image.convert("RGB"))


def _mask_weights(mask: bytes | None, width: int, height: int) -> np.ndarray:
    """Per-pixel change weights 0..1 from the studio's mask (L-mode, white = change)."""
    if not mask:
        raise ProviderError("permanent", "Inpainting needs a mask, and none was given.")
    image = _decode(mask, "mask")
    if image.size != (width, height):
        raise ProviderError("permanent", "The mask size does not match the image.")
    return np.asarray(image.convert("L"), dtype=np.float32)[..., None] / np.float32(255)


def _video_shape(request: VideoRequest) -> tuple[int, int, int]:
    """(width, height, frame count) of the offline preview, or a permanent error."""
    if request.duration_s not in DURATIONS:
        raise ProviderError(
            "permanent", f"Duration must be one of {DURATIONS} seconds (got {request.duration_s})."
        )
    if request.aspect_ratio not in ASPECTS:
        raise ProviderError(
            "permanent", f"Aspect ratio must be 16:9 or 9:16 (got {request.aspect_ratio})."
        )
    if request.resolution not in RESOLUTIONS:
        raise ProviderError(
            "permanent",
            f"Resolution must be one of {', '.join(RESOLUTIONS)} (got {request.resolution}).",
        )
    long_side, short_side = (s // PREVIEW_DIVISOR for s in RESOLUTIONS[request.resolution])
    if request.aspect_ratio == "16:9":
        return long_side, short_side, request.duration_s * FPS
    return short_side, long_side, request.duration_s * FPS


def _short(prompt: str, limit: int = 80) -> str:
    text = " ".join(prompt.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _seed_label(seeds: list[int]) -> str:
    return f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]}–{seeds[-1]}"


# --------------------------------------------------------------------------- images


def scene_rng(prompt: str, seed: int, width: int, height: int) -> np.random.Generator:
    """The RNG for one scene: sha256 of (prompt, seed, width, height)."""
    key = f"{prompt}\x00{seed}\x00{width}x{height}".encode()
    return np.random.default_rng(int.from_bytes(hashlib.sha256(key).digest()[:16], "big"))


def render_scene(prompt: str, seed: int, width: int, height: int) -> np.ndarray:
    """Render the prompt's scene as a (height, width, 3) uint8 array."""
    rng = scene_rng(prompt, seed, width, height)
    palette = make_palette(prompt, rng)
    scale = min(1.0, math.sqrt(WORK_PIXELS / (width * height)))
    work_w, work_h = max(1, round(width * scale)), max(1, round(height * scale))
    canvas = _draw_scene(palette, rng, work_w, work_h)
    image = _to_uint8(canvas)
    if (work_w, work_h) != (width, height):
        image = np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BICUBIC))
    return _add_grain(image, rng)


def make_palette(prompt: str, rng: np.random.Generator) -> Palette:
    """Colours from the prompt's words (hash-derived when none is known), jittered by the seed."""
    words = re.findall(r"[a-z]+", prompt.lower())
    hues: list[float] = []
    for word in words:
        for hue in _HUE_WORDS.get(word, ()):
            if hue not in hues:
                hues.append(hue)
    if not hues:
        digest = hashlib.sha256(" ".join(words).encode() or prompt.encode()).digest()
        base = digest[0] / 255 * 360
        hues = [base, base + 30 + digest[1] % 60, base + 150 + digest[2] % 60]
    if len(hues) == 1:
        hues += [hues[0] + 35, hues[0] + 180]
    if len(hues) == 2:
        hues.append(hues[0] + 180)
    shift = float(rng.uniform(-18, 18))
    hues = [(h + shift) % 360 for h in hues]
    # The seed decides which of the prompt's hues colour the sky, the land and the accents.
    roles = [int(i) for i in rng.choice(len(hues), 3, replace=False)]
    hues = [hues[i] for i in roles] + [h for i, h in enumerate(hues) if i not in roles]
    night = any(w in _NIGHT_WORDS for w in words)
    pale = any(w in _PALE_WORDS for w in words)
    sat = float(rng.uniform(0.12, 0.4) if pale else rng.uniform(0.45, 0.75))
    sky_h, land_h, accent_h = hues[0], hues[1], hues[2]
    if night:
        sky_top = _hsv(sky_h, 0.7, float(rng.uniform(0.05, 0.35)))
        sky_horizon = _hsv(sky_h + 15, 0.55, float(rng.uniform(0.25, 0.65)))
        sun = _hsv(accent_h, 0.1, 0.97)
    else:
        sky_top = _hsv(sky_h, sat * 0.9, float(rng.uniform(0.5, 0.85)))
        sky_horizon = _hsv(accent_h, sat * 0.45, 0.97)
        sun = _hsv(accent_h + 20, 0.5, 1.0)
    layers = int(rng.integers(2, 5))
    dark = float(rng.uniform(0.25, 0.55)) if night else 1.0
    light, fall = float(rng.uniform(0.6, 0.92)), float(rng.uniform(0.3, 0.6))
    hills = tuple(
        _mix(
            _hsv(land_h + 8 * i, sat + 0.15 * i / layers, dark * (light - fall * i / layers)),
            sky_horizon,
            0.55 * (1 - (i + 1) / layers),
        )
        for i in range(layers)
    )
    shapes = tuple(
        _hsv(hues[i % len(hues)] + float(rng.uniform(-20, 20)), sat * 0.9, 0.95 * dark + 0.05)
        for i in range(len(hues) + 2)
    )
    return Palette(sky_top, sky_horizon, sun, hills, shapes, night)


def _hsv(hue: float, sat: float, val: float) -> Rgb:
    r, g, b = colorsys.hsv_to_rgb((hue % 360) / 360, min(max(sat, 0), 1), min(max(val, 0), 1))
    return (r * 255, g * 255, b * 255)


def _mix(a: Rgb, b: Rgb, t: float) -> Rgb:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


def _draw_scene(palette: Palette, rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Sky, sun or moon, clouds or stars, hills, soft shapes and a vignette, in float32."""
    horizon = float(rng.uniform(0.38, 0.72)) * h
    canvas = _sky(palette, w, h, horizon)
    unit = min(w, h)
    sun_x, sun_y = float(rng.uniform(0.12, 0.88)) * w, float(rng.uniform(0.15, 0.7)) * horizon
    sun_r = float(rng.uniform(0.05, 0.11)) * unit
    _glow(canvas, sun_x, sun_y, sun_r * 3.5, palette.sun, 0.45)
    _disc(canvas, sun_x, sun_y, sun_r, palette.sun, 1.0, max(1.0, sun_r * 0.04))
    if palette.night:
        _stars(canvas, rng, horizon)
    else:
        for _ in range(int(rng.integers(1, 4))):
            _cloud(canvas, rng, horizon, unit)
    _hills(canvas, palette.hills, rng, horizon)
    for _ in range(int(rng.integers(4, 10))):
        colour = palette.shapes[int(rng.integers(len(palette.shapes)))]
        cx, cy = float(rng.uniform(0, w)), float(rng.uniform(0.1, 1.0)) * h
        radius = float(rng.uniform(0.025, 0.1)) * unit
        alpha = float(rng.uniform(0.35, 0.8))
        feather = radius * float(rng.choice([0.08, 0.3, 0.7]))
        if rng.random() < 0.5:
            _disc(canvas, cx, cy, radius, colour, alpha, feather)
        else:
            _blob(canvas, rng, cx, cy, radius, colour, alpha, feather)
    _vignette(canvas)
    return canvas


def _sky(palette: Palette, w: int, h: int, horizon: float) -> np.ndarray:
    t = np.clip(np.arange(h, dtype=np.float32) / max(horizon, 1.0), 0, 1) ** 0.8
    top, bottom = np.array(palette.sky_top, np.float32), np.array(palette.sky_horizon, np.float32)
    column = top + t[:, None] * (bottom - top)
    return np.ascontiguousarray(np.broadcast_to(column[:, None, :], (h, w, 3)))


def _box(canvas: np.ndarray, cx: float, cy: float, reach: float) -> tuple[int, int, int, int]:
    h, w = canvas.shape[:2]
    x0, x1 = max(0, int(cx - reach)), min(w, int(math.ceil(cx + reach)) + 1)
    y0, y1 = max(0, int(cy - reach)), min(h, int(math.ceil(cy + reach)) + 1)
    return x0, x1, y0, y1


def _paint(
    canvas: np.ndarray, box: tuple[int, int, int, int], alpha: np.ndarray, colour: Rgb
) -> None:
    """Blend `colour` into the box of `canvas` with per-pixel `alpha`."""
    x0, x1, y0, y1 = box
    region = canvas[y0:y1, x0:x1]
    region += alpha[..., None] * (np.array(colour, np.float32) - region)


def _distances(box: tuple[int, int, int, int], cx: float, cy: float) -> np.ndarray:
    x0, x1, y0, y1 = box
    xs = np.arange(x0, x1, dtype=np.float32) + 0.5 - cx
    ys = np.arange(y0, y1, dtype=np.float32) + 0.5 - cy
    return np.sqrt(ys[:, None] ** 2 + xs[None, :] ** 2)


def _disc(
    canvas: np.ndarray, cx: float, cy: float, r: float, colour: Rgb, alpha: float, feather: float
) -> None:
    box = _box(canvas, cx, cy, r + feather)
    if box[0] >= box[1] or box[2] >= box[3]:
        return
    d = _distances(box, cx, cy)
    a = np.clip((r + feather / 2 - d) / max(feather, 1.0), 0, 1) * np.float32(alpha)
    _paint(canvas, box, a, colour)


def _glow(canvas: np.ndarray, cx: float, cy: float, r: float, colour: Rgb, alpha: float) -> None:
    box = _box(canvas, cx, cy, r * 1.6)
    if box[0] >= box[1] or box[2] >= box[3]:
        return
    d = _distances(box, cx, cy) / np.float32(r)
    a = np.clip(1 - d * d * np.float32(0.4), 0, 1) ** 2 * np.float32(alpha)
    _paint(canvas, box, a, colour)


def _blob(
    canvas: np.ndarray,
    rng: np.random.Generator,
    cx: float,
    cy: float,
    r: float,
    colour: Rgb,
    alpha: float,
    feather: float,
) -> None:
    """A soft wobbly disc: radius varies with the angle."""
    lobes, phase, wobble = int(rng.integers(3, 7)), float(rng.uniform(0, 6.3)), 0.22
    box = _box(canvas, cx, cy, r * (1 + wobble) + feather)
    if box[0] >= box[1] or box[2] >= box[3]:
        return
    x0, x1, y0, y1 = box
    xs = np.arange(x0, x1, dtype=np.float32) + 0.5 - cx
    ys = np.arange(y0, y1, dtype=np.float32) + 0.5 - cy
    d = np.sqrt(ys[:, None] ** 2 + xs[None, :] ** 2)
    angle = np.arctan2(ys[:, None], xs[None, :])
    edge = r * (1 + wobble * np.sin(angle * lobes + phase))
    a = np.clip((edge + feather / 2 - d) / max(feather, 1.0), 0, 1) * np.float32(alpha)
    _paint(canvas, box, a, colour)


def _cloud(canvas: np.ndarray, rng: np.random.Generator, horizon: float, unit: int) -> None:
    w = canvas.shape[1]
    cx, cy = float(rng.uniform(0, w)), float(rng.uniform(0.1, 0.75)) * horizon
    size = float(rng.uniform(0.04, 0.08)) * unit
    for _ in range(int(rng.integers(3, 6))):
        dx, dy = float(rng.normal(0, 1.4)) * size, float(rng.normal(0, 0.3)) * size
        r = size * float(rng.uniform(0.7, 1.3))
        _disc(canvas, cx + dx, cy + dy, r, (250, 250, 255), 0.55, r * 0.5)


def _stars(canvas: np.ndarray, rng: np.random.Generator, horizon: float) -> None:
    h, w = canvas.shape[:2]
    count = int(w * max(horizon, 1) / 900)
    ys = rng.integers(0, max(1, int(horizon)), count)
    xs = rng.integers(0, w, count)
    shine = rng.uniform(0.3, 1.0, count).astype(np.float32)[:, None]
    canvas[ys, xs] += shine * (np.float32(255) - canvas[ys, xs])


def _hills(
    canvas: np.ndarray, colours: tuple[Rgb, ...], rng: np.random.Generator, horizon: float
) -> None:
    """Layered ridgelines, far to near, each a sum of a few sines with a soft edge."""
    h, w = canvas.shape[:2]
    x = np.linspace(0, 1, w, dtype=np.float32)
    count = len(colours)
    for i, colour in enumerate(colours):
        base = horizon + (h - horizon) * 0.55 * i / count
        amp = (0.05 + 0.12 * rng.random()) * h / (1 + 0.6 * i)
        ridge = np.zeros(w, np.float32)
        for k in range(3):
            freq = float(rng.uniform(0.6, 2.5)) * (k + 1)
            ridge += np.sin(x * freq * 2 * np.pi + float(rng.uniform(0, 6.3))) / (k + 1)
        ridge = base - amp * (ridge / 1.8 + 0.5)
        top = max(0, int(ridge.min()) - 1)
        rows = np.arange(top, h, dtype=np.float32)[:, None] + 0.5
        alpha = np.clip(rows - ridge[None, :] + 0.5, 0, 1)
        # Shade each layer a little darker towards the bottom.
        shade = 1 - 0.18 * (rows - top) / max(h - top, 1)
        target = np.array(colour, np.float32)[None, None, :] * shade[..., None]
        region = canvas[top:]
        region += alpha[..., None] * (target - region)


def _vignette(canvas: np.ndarray) -> None:
    h, w = canvas.shape[:2]
    vx = 1 - 0.18 * np.linspace(-1, 1, w, dtype=np.float32) ** 2
    vy = 1 - 0.22 * np.linspace(-1, 1, h, dtype=np.float32) ** 2
    canvas *= (vy[:, None] * vx[None, :])[..., None]


def _to_uint8(canvas: np.ndarray) -> np.ndarray:
    canvas += np.float32(0.5)
    np.clip(canvas, 0, 255, out=canvas)
    return canvas.astype(np.uint8)


def _add_grain(image: np.ndarray, rng: np.random.Generator, amount: int = 6) -> np.ndarray:
    """Add monochrome grain in row chunks (keeps memory small for big images)."""
    out = np.empty_like(image)
    h, w = image.shape[:2]
    for y0 in range(0, h, 256):
        y1 = min(h, y0 + 256)
        noise = rng.integers(-amount, amount + 1, (y1 - y0, w, 1), dtype=np.int16)
        block = image[y0:y1].astype(np.int16) + noise
        np.clip(block, 0, 255, out=block)
        out[y0:y1] = block
    return out


def blend(source: np.ndarray, render: np.ndarray, weight: np.ndarray | np.float32) -> np.ndarray:
    """(1 - weight) * source + weight * render, exact at weight 0 and 1."""
    src = source.astype(np.float32)
    out = src + np.asarray(weight, np.float32) * (render.astype(np.float32) - src)
    np.rint(out, out=out)
    return out.astype(np.uint8)


def encode_png(array: np.ndarray) -> bytes:
    """PNG bytes at a fast compression level."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=PNG_LEVEL)
    return buffer.getvalue()


# --------------------------------------------------------------------------- video


@dataclass(frozen=True)
class Camera:
    """A move over an image: zoom and centre (in -1..1 of the free room) from start to end."""

    zoom: tuple[float, float]
    pan_x: tuple[float, float]
    pan_y: tuple[float, float]

    def box(
        self, image_w: int, image_h: int, frame_w: int, frame_h: int, t: float
    ) -> tuple[float, float, float, float]:
        """The crop (left, top, right, bottom) at time t in 0..1, eased."""
        e = t * t * (3 - 2 * t)
        aspect = frame_w / frame_h
        cover_w = min(image_w, image_h * aspect)
        zoom = self.zoom[0] + (self.zoom[1] - self.zoom[0]) * e
        bw, bh = cover_w / zoom, cover_w / zoom / aspect
        px = self.pan_x[0] + (self.pan_x[1] - self.pan_x[0]) * e
        py = self.pan_y[0] + (self.pan_y[1] - self.pan_y[0]) * e
        cx = image_w / 2 + px * (image_w - bw) / 2
        cy = image_h / 2 + py * (image_h - bh) / 2
        return (cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2)


def _camera(rng: np.random.Generator, zoom: tuple[float, float]) -> Camera:
    start = (float(rng.uniform(-0.8, 0.8)), float(rng.uniform(-0.6, 0.6)))
    end = (-start[0] * 0.6, float(rng.uniform(-0.6, 0.6)))
    if rng.random() < 0.5:
        zoom = (zoom[1], zoom[0])
    return Camera(zoom, (start[0], end[0]), (start[1], end[1]))


def _video_rng(kind: str, prompt: str, seed: int, width: int, height: int) -> np.random.Generator:
    return scene_rng(f"{kind}\x00{prompt}", seed, width, height)


def _scene_frames(
    prompt: str, seed: int, width: int, height: int, frames: int
) -> Iterator[np.ndarray]:
    """A slow pan and zoom over a render bigger than the frame, with drifting soft motes."""
    big_w, big_h = round(width * 1.5), round(height * 1.5)
    scene = Image.fromarray(render_scene(prompt, seed, big_w, big_h))
    rng = _video_rng("scene", prompt, seed, width, height)
    camera = _camera(rng, (1.0, 1.3))
    palette = make_palette(prompt, rng)
    motes = [
        (
            float(rng.uniform(0, 1)),  # x start
            float(rng.uniform(0.1, 0.9)),  # y start
            float(rng.uniform(-0.12, 0.12)),  # x drift over the clip
            float(rng.uniform(-0.25, -0.05)),  # y drift (upwards)
            float(rng.uniform(0.02, 0.06)) * min(width, height),  # radius
            float(rng.uniform(0, 6.3)),  # wobble phase
            palette.shapes[i % len(palette.shapes)],
        )
        for i in range(int(rng.integers(5, 9)))
    ]
    for i in range(frames):
        t = i / max(frames - 1, 1)
        box = camera.box(big_w, big_h, width, height, t)
        frame = np.array(
            scene.resize((width, height), Image.Resampling.BILINEAR, box=box), np.float32
        )
        for x, y, dx, dy, r, phase, colour in motes:
            wob = math.sin(phase + t * 2 * math.pi) * 0.02
            cx, cy = (x + dx * t + wob) * width, (y + dy * t) * height
            _disc(frame, cx, cy, r, _mix(colour, (255, 255, 255), 0.4), 0.35, r * 0.6)
        yield _to_uint8(frame)


def _ken_burns_frames(
    source: Image.Image, seed: int, width: int, height: int, frames: int
) -> Iterator[np.ndarray]:
    """A slow zoom and pan over the source image."""
    scale = min(1.0, 2.5 * max(width / source.width, height / source.height))
    if scale < 1.0:
        size = (max(1, round(source.width * scale)), max(1, round(source.height * scale)))
        source = source.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    digest = zlib.crc32(source.tobytes()[:65536])
    rng = _video_rng("ken-burns", str(digest), seed, width, height)
    camera = _camera(rng, (1.0, 1.2))
    for i in range(frames):
        t = i / max(frames - 1, 1)
        box = camera.box(source.width, source.height, width, height, t)
        yield np.asarray(source.resize((width, height), Image.Resampling.BILINEAR, box=box))


def video_format() -> tuple[str, str, str]:
    """(codec, container, mime): H.264/MP4 when FFmpeg has libx264, else VP9/WebM."""
    try:
        av.codec.Codec("libx264", "w")
        return "libx264", "mp4", "video/mp4"
    except Exception:  # PyAV raises different errors across versions
        return "libvpx-vp9", "webm", "video/webm"


def encode_video(
    frames: Iterator[np.ndarray], width: int, height: int, heartbeat: Heartbeat | None
) -> tuple[bytes, str]:
    """Encode RGB frames at FPS; returns (bytes, mime). MP4 gets its index at the front."""
    codec, container, mime = video_format()
    options = (
        {"preset": "veryfast", "crf": "23"}
        if codec == "libx264"
        else {"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "crf": "32", "b": "0"}
    )
    with tempfile.TemporaryDirectory(prefix="studio-local-") as tmp:
        path = os.path.join(tmp, f"clip.{container}")
        muxer_options = {"movflags": "+faststart"} if container == "mp4" else {}
        with av.open(path, "w", format=container, options=muxer_options) as out:
            stream = out.add_stream(codec, rate=FPS, options=options)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            for index, array in enumerate(frames):
                if heartbeat is not None and index % HEARTBEAT_EVERY == 0:
                    heartbeat()
                frame = av.VideoFrame.from_ndarray(array, format="rgb24")
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
        if heartbeat is not None:
            heartbeat()
        with open(path, "rb") as handle:
            return handle.read(), mime
