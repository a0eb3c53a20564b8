"""The offline renderer's painter: abstract "illustrations" of a prompt.

A palette taken from the prompt's words, a gradient sky, a sun or moon, layered hills and soft
shapes placed by a seeded RNG, and a little grain. Deterministic for the same (prompt, seed,
width, height).
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import math
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image

# Scenes are drawn at most this many pixels, then scaled up (soft shapes need no more detail).
WORK_PIXELS = 1024 * 1024
PNG_LEVEL = 1  # fast; the studio re-encodes on ingest

HEARTBEAT_EVERY = 12

Rgb = tuple[float, float, float]

# Words that set hues (degrees). Themes give several hues, in order of importance.
# A table: a row per colour family reads better than one entry a line, so the formatter keeps out.
# fmt: off
HUE_WORDS: dict[str, tuple[float, ...]] = {
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
    image = to_uint8(canvas)
    if (work_w, work_h) != (width, height):
        image = np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.BICUBIC))
    return _add_grain(image, rng)


def make_palette(prompt: str, rng: np.random.Generator) -> Palette:
    """Colours from the prompt's words (hash-derived when none is known), jittered by the seed."""
    words = re.findall(r"[a-z]+", prompt.lower())
    hues: list[float] = []
    for word in words:
        for hue in HUE_WORDS.get(word, ()):
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
        mix(
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


def mix(a: Rgb, b: Rgb, t: float) -> Rgb:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t)


def _draw_scene(palette: Palette, rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Sky, sun or moon, clouds or stars, hills, soft shapes and a vignette, in float32."""
    horizon = float(rng.uniform(0.38, 0.72)) * h
    canvas = _sky(palette, w, h, horizon)
    unit = min(w, h)
    sun_x, sun_y = float(rng.uniform(0.12, 0.88)) * w, float(rng.uniform(0.15, 0.7)) * horizon
    sun_r = float(rng.uniform(0.05, 0.11)) * unit
    _glow(canvas, sun_x, sun_y, sun_r * 3.5, palette.sun, 0.45)
    disc(canvas, sun_x, sun_y, sun_r, palette.sun, 1.0, max(1.0, sun_r * 0.04))
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
            disc(canvas, cx, cy, radius, colour, alpha, feather)
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


def disc(
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
        disc(canvas, cx + dx, cy + dy, r, (250, 250, 255), 0.55, r * 0.5)


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


def to_uint8(canvas: np.ndarray) -> np.ndarray:
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
