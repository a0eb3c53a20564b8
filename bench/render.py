"""Bench: the offline renderer's 1024x1024 text-to-image vs a plain PNG encode of that image.

The render side is the provider's whole `generate_image` call (scene drawing + grain + PNG
encode at compress_level=1); the baseline is Pillow's PNG encode at its default settings of the
rendered image itself. Both are best of 5. Goal: ratio <= 2.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image  # noqa: E402

from studio.providers.base import ImageRequest  # noqa: E402
from studio.providers.local import LocalProvider, render_scene  # noqa: E402

PROMPT = "a red fox in a snowy forest at sunset"
SEED = 42
SIZE = 1024
REPEATS = 5


def best_ms(action: Callable[[], object], repeats: int = REPEATS) -> float:
    """The fastest of `repeats` runs, in milliseconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def png_default(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def main() -> None:
    provider = LocalProvider()
    request = ImageRequest(
        mode="text_to_image", prompt=PROMPT, width=SIZE, height=SIZE, seed=SEED, n=1
    )
    image = Image.fromarray(render_scene(PROMPT, SEED, SIZE, SIZE))
    provider.generate_image("sketch", request)  # warm up imports and caches

    render_ms = best_ms(lambda: provider.generate_image("sketch", request))
    scene_ms = best_ms(lambda: render_scene(PROMPT, SEED, SIZE, SIZE))
    png_ms = best_ms(lambda: png_default(image))
    output_bytes = len(provider.generate_image("sketch", request).images[0])

    print(f"inputs: prompt={PROMPT!r} seed={SEED} size={SIZE}x{SIZE} n=1, best of {REPEATS}")
    print(
        f"render: LocalProvider.generate_image (scene + grain + PNG compress_level=1) "
        f"{render_ms:.1f} ms, of which scene drawing {scene_ms:.1f} ms; output {output_bytes} B"
    )
    print(
        f"baseline: Pillow PNG encode at default settings of the same {SIZE}x{SIZE} RGB image "
        f"{png_ms:.1f} ms; output {len(png_default(image))} B"
    )
    print(
        f"RESULT render_ms={render_ms:.1f} png_encode_ms={png_ms:.1f} ratio={render_ms / png_ms:.2f}"
    )


if __name__ == "__main__":
    main()
