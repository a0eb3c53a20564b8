"""The offline renderer's videos: short H.264 MP4 clips (WebM/VP9 if this FFmpeg lacks
libx264) with a slow camera move over a render, or a Ken Burns move over a source image."""

from __future__ import annotations

import math
import os
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import av
import numpy as np
from PIL import Image

from studio.providers.base import Heartbeat
from studio.providers.local.painter import (
    disc,
    make_palette,
    mix,
    render_scene,
    scene_rng,
    to_uint8,
)

FPS = 12
HEARTBEAT_EVERY = 12


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


def scene_frames(
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
            disc(frame, cx, cy, r, mix(colour, (255, 255, 255), 0.4), 0.35, r * 0.6)
        yield to_uint8(frame)


def ken_burns_frames(
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
            stream = cast(av.VideoStream, out.add_stream(codec, rate=FPS, options=options))
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
