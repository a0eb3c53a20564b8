"""Ingest cost vs Pillow's bare decode + re-encode of the same PNG.

Run: .venv/bin/python bench/ingest.py
Ingest = `prepare_image` (decode, validate, normalize, encode for storage, sha256, thumbnail)
plus writing the image and thumbnail to a fresh temporary LocalStorage.
Bare = Image.open(...).load() and save as PNG with Pillow's default settings.
Both are timed best-of-N in this process, after one warm-up run each.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SIDE = 2048
RUNS = 5
SEED = 20240601


def photo_png(side: int = SIDE, seed: int = SEED) -> bytes:
    """A deterministic photo-like PNG: smooth colour gradients with sensor-like noise."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side].astype(np.float32)
    r = 128 + 100 * np.sin(x / 300) * np.cos(y / 450)
    g = 128 + 90 * np.sin((x + y) / 500)
    b = 128 + 80 * np.cos(np.hypot(x - 0.45 * side, y - 0.55 * side) / 200)
    pixels = np.stack([r, g, b], axis=-1) + rng.normal(0, 6, (side, side, 3))
    buf = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def best_ms(fn: Callable[[], object], runs: int = RUNS) -> float:
    fn()  # warm-up: imports, profile caches, allocator
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> None:
    import PIL
    from PIL import Image

    from studio.assets import PreparedImage, prepare_image, store_prepared
    from studio.config import Settings
    from studio.imaging import (
        ImageLimits,
        encode_for_storage,
        load_image,
        make_thumbnail,
    )
    from studio.storage import LocalStorage

    data = photo_png()
    limits = ImageLimits.from_settings(Settings(_env_file=None))  # type: ignore[call-arg]
    tmp = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    counter = iter(range(1_000_000))

    def fresh_storage() -> LocalStorage:
        # A new folder per run, so dedupe never skips the write being measured.
        return LocalStorage(tmp / f"run{next(counter)}")

    def ingest() -> None:
        store_prepared(fresh_storage(), prepare_image(data, limits), "bench")

    def ingest_reencode() -> None:
        # The same work when the PNG cannot be kept as-is (e.g. rotated, palette, 16-bit).
        loaded = dataclasses.replace(load_image(data, limits), pristine_png=None)
        stored, mime = encode_for_storage(loaded)
        prepared = PreparedImage(
            stored,
            mime,
            loaded.image.width,
            loaded.image.height,
            hashlib.sha256(stored).hexdigest(),
            "png",
            make_thumbnail(loaded.image),
            [],
            None,
        )
        store_prepared(fresh_storage(), prepared, "bench")

    def bare() -> None:
        img = Image.open(io.BytesIO(data))
        img.load()
        img.save(io.BytesIO(), "PNG")

    prepared = prepare_image(data, limits)
    print(
        f"input: {SIDE}x{SIDE} RGB photo-like PNG (gradients + noise, seed {SEED}), "
        f"{len(data):,} bytes; Pillow {PIL.__version__}; best of {RUNS} runs after a warm-up"
    )
    print(
        f"ingest: prepare_image + store_prepared to a temp LocalStorage -> stored "
        f"{len(prepared.data):,} bytes ({prepared.mime_type}), "
        f"thumbnail {len(prepared.thumbnail):,} bytes"
    )
    print("bare: Image.open(...).load() + save PNG with default settings")

    try:
        ingest_ms = best_ms(ingest)
        bare_ms = best_ms(bare)
        reencode_ms = best_ms(ingest_reencode)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"info: ingest when the PNG must be re-encoded (level 6): {reencode_ms:.1f} ms "
        f"(ratio {reencode_ms / bare_ms:.2f})"
    )
    print(f"RESULT ingest_ms={ingest_ms:.1f} bare_ms={bare_ms:.1f} ratio={ingest_ms / bare_ms:.2f}")


if __name__ == "__main__":
    main()
