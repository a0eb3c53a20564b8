"""The studio's page icon, drawn here: a palette of four colours. A local image, so no page
load fetches an icon font from a CDN (which fails offline)."""

from __future__ import annotations

import functools

from PIL import Image, ImageDraw

SIZE = 64
PAINTS = ((230, 80, 80), (245, 190, 60), (70, 170, 110), (70, 120, 220))


@functools.cache
def page_icon() -> Image.Image:
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((2, 6, SIZE - 2, SIZE - 6), fill=(236, 224, 204), outline=(120, 96, 70), width=3)
    draw.ellipse((36, 34, 50, 48), fill=(0, 0, 0, 0))  # the thumb hole
    for (x, y), paint in zip(((14, 20), (28, 13), (44, 17), (15, 36)), PAINTS, strict=True):
        draw.ellipse((x - 6, y - 6, x + 6, y + 6), fill=paint)
    return image
