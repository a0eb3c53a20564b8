"""A provider like a real one in one respect: the same request returns different bytes each time
(the offline renderer is deterministic). Used by the storage garbage-collection tests."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
from PIL import Image

from studio.providers.base import ImageRequest, ImageResult
from studio.providers.local import LocalProvider
from studio.services import Services


class NoiseProvider(LocalProvider):
    def generate_image(self, model: str, request: ImageRequest) -> ImageResult:
        result = super().generate_image(model, request)
        images = []
        for data in result.images:
            with Image.open(io.BytesIO(data)) as img:
                size = img.size
            pixels = np.random.default_rng().integers(0, 256, (size[1], size[0], 3), np.uint8)
            buf = io.BytesIO()
            Image.fromarray(pixels, "RGB").save(buf, "PNG")
            images.append(buf.getvalue())
        result.images = images
        return result


def use_noise_provider(services: Services) -> None:
    """Make the services' offline renderer return noise (different bytes every call)."""
    services.providers = [
        dataclasses.replace(s, provider=NoiseProvider()) if s.name == "local" else s
        for s in services.providers
    ]
