"""The offline renderer: deterministic images, honest edits, playable clips."""

from __future__ import annotations

import io

import av
import numpy as np
import pytest
from PIL import Image

import studio.providers.local.video as local_video
from studio.providers.base import (
    ErrorClass,
    ImageRequest,
    Provider,
    ProviderError,
    VideoRequest,
)
from studio.providers.local import LocalProvider

PROMPT = "a red fox in a snowy forest at sunset"


@pytest.fixture
def provider() -> LocalProvider:
    return LocalProvider()


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGB"))


def png(array: np.ndarray, mode: str | None = None) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buffer, format="PNG")
    return buffer.getvalue()


def noise_image(width: int, height: int, seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def text_request(**overrides: object) -> ImageRequest:
    fields: dict[str, object] = {
        "mode": "text_to_image",
        "prompt": PROMPT,
        "width": 96,
        "height": 64,
        "seed": 42,
    }
    fields.update(overrides)
    return ImageRequest(**fields)  # type: ignore[arg-type]


def render(provider: LocalProvider, **overrides: object) -> np.ndarray:
    result = provider.generate_image("sketch", text_request(**overrides))
    return pixels(result.images[0])


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


# --------------------------------------------------------------------------- basics


def test_identity_models_and_cost(provider: LocalProvider) -> None:
    as_protocol: Provider = provider
    assert as_protocol.name == "local"
    assert provider.label == "Offline renderer"
    models = {m.id: m for m in provider.models()}
    assert models["sketch"].kind == "image"
    assert models["sketch"].modes == ("text_to_image", "image_to_image", "inpaint")
    assert models["motion"].kind == "video"
    assert models["motion"].modes == ("text_to_video", "image_to_video")
    assert all(m.price_note == "free, offline" for m in models.values())
    assert provider.estimate_cost("sketch", text_request()) == 0.0
    assert provider.estimate_cost("motion", VideoRequest(prompt="x")) == 0.0


def test_text_to_image_result_shape(provider: LocalProvider) -> None:
    result = provider.generate_image("sketch", text_request())
    assert result.mime_type == "image/png"
    assert result.images[0].startswith(b"\x89PNG\r\n\x1a\n")
    assert result.usage == {"renderer": "local"}
    assert result.cost_actual == 0.0
    assert result.text is not None and PROMPT in result.text and "seed 42" in result.text


# --------------------------------------------------------------------------- determinism


def test_same_inputs_give_identical_bytes(provider: LocalProvider) -> None:
    first = provider.generate_image("sketch", text_request())
    second = LocalProvider().generate_image("sketch", text_request())
    assert first.images == second.images


def test_seed_none_means_seed_zero(provider: LocalProvider) -> None:
    unseeded = provider.generate_image("sketch", text_request(seed=None)).images
    assert unseeded == provider.generate_image("sketch", text_request(seed=0)).images


@pytest.mark.parametrize("prompt", [PROMPT, "ocean at night with stars", "a cat reading a book"])
def test_different_seeds_are_visibly_different(provider: LocalProvider, prompt: str) -> None:
    size = {"width": 256, "height": 256, "prompt": prompt}
    for seed in (1, 2, 3):
        a, b = render(provider, seed=seed, **size), render(provider, seed=seed + 100, **size)
        assert mean_abs_diff(a, b) > 20  # grain alone gives about 4


def test_different_prompts_differ(provider: LocalProvider) -> None:
    a = render(provider, prompt="a blue ocean", width=256, height=256)
    b = render(provider, prompt="a green forest", width=256, height=256)
    assert mean_abs_diff(a, b) > 20


def test_size_is_honoured(provider: LocalProvider) -> None:
    assert render(provider, width=120, height=80).shape == (80, 120, 3)
    assert render(provider, width=33, height=71).shape == (71, 33, 3)


def test_big_images_are_upscaled_deterministically(provider: LocalProvider) -> None:
    a = render(provider, width=1400, height=900)
    assert a.shape == (900, 1400, 3)
    assert np.array_equal(a, render(provider, width=1400, height=900))


def test_n_two_gives_two_different_images_with_consecutive_seeds(
    provider: LocalProvider,
) -> None:
    result = provider.generate_image("sketch", text_request(n=2, seed=5))
    assert len(result.images) == 2
    first, second = (pixels(b) for b in result.images)
    assert mean_abs_diff(first, second) > 20
    assert np.array_equal(second, render(provider, seed=6))
    assert result.text is not None and "5" in result.text and "6" in result.text


# --------------------------------------------------------------------------- image to image


def edit_request(source: bytes, **overrides: object) -> ImageRequest:
    return text_request(mode="image_to_image", source=source, **overrides)


def test_strength_zero_returns_the_source_exactly(provider: LocalProvider) -> None:
    source = noise_image(80, 60)
    result = provider.generate_image("sketch", edit_request(png(source), strength=0.0))
    assert np.array_equal(pixels(result.images[0]), source)


def test_strength_one_is_the_text_to_image_render_at_the_source_size(
    provider: LocalProvider,
) -> None:
    source = noise_image(80, 60)
    edited = provider.generate_image("sketch", edit_request(png(source), strength=1.0))
    expected = render(provider, width=80, height=60)  # the request asks 96x64; source wins
    assert np.array_equal(pixels(edited.images[0]), expected)


def test_middle_strength_blends(provider: LocalProvider) -> None:
    source = noise_image(80, 60)
    out = pixels(
        provider.generate_image("sketch", edit_request(png(source), strength=0.5)).images[0]
    )
    target = render(provider, width=80, height=60)
    expected = (source.astype(np.float32) + target.astype(np.float32)) / 2
    assert out.shape == source.shape
    assert np.abs(out.astype(np.float32) - expected).max() <= 1.0


def test_opaque_rgba_source_is_kept_at_strength_zero(provider: LocalProvider) -> None:
    rgb = noise_image(40, 30)
    rgba = np.dstack([rgb, np.full((30, 40), 255, np.uint8)])
    result = provider.generate_image("sketch", edit_request(png(rgba), strength=0.0))
    assert np.array_equal(pixels(result.images[0]), rgb)


def test_transparent_source_is_flattened_onto_white(provider: LocalProvider) -> None:
    rgba = np.zeros((30, 40, 4), np.uint8)
    result = provider.generate_image("sketch", edit_request(png(rgba), strength=0.0))
    assert (pixels(result.images[0]) == 255).all()


# --------------------------------------------------------------------------- inpaint


def mask_png(width: int, height: int, box: tuple[int, int, int, int], value: int = 255) -> bytes:
    mask = np.zeros((height, width), np.uint8)
    x0, y0, x1, y1 = box
    mask[y0:y1, x0:x1] = value
    return png(mask, mode="L")


def test_inpaint_changes_only_masked_pixels(provider: LocalProvider) -> None:
    source = noise_image(90, 70)
    mask = mask_png(90, 70, (20, 10, 60, 50))
    request = text_request(mode="inpaint", source=png(source), mask=mask, strength=1.0, seed=3)
    out = pixels(provider.generate_image("sketch", request).images[0])
    inside = pixels(mask)[..., 0] > 0
    assert out.shape == source.shape
    assert np.array_equal(out[~inside], source[~inside])
    assert (out[inside] != source[inside]).any(axis=-1).mean() > 0.5
    rendered = render(provider, width=90, height=70, seed=3)
    assert np.array_equal(out[inside], rendered[inside])


def test_inpaint_soft_mask_and_partial_strength_keep_outside(provider: LocalProvider) -> None:
    source = noise_image(64, 48)
    mask = np.zeros((48, 64), np.uint8)
    mask[:, 32:] = np.linspace(0, 255, 32, dtype=np.uint8)[None, :]
    request = text_request(
        mode="inpaint", source=png(source), mask=png(mask, mode="L"), strength=0.6
    )
    out = pixels(provider.generate_image("sketch", request).images[0])
    assert np.array_equal(out[mask == 0], source[mask == 0])
    assert (out[mask == 255] != source[mask == 255]).any()


def test_inpaint_mask_size_mismatch_is_permanent(provider: LocalProvider) -> None:
    request = text_request(
        mode="inpaint", source=png(noise_image(64, 48)), mask=mask_png(32, 32, (0, 0, 8, 8))
    )
    with pytest.raises(ProviderError) as error:
        provider.generate_image("sketch", request)
    assert error.value.error_class is ErrorClass.PERMANENT
    assert error.value.message == "The mask size does not match the image."


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "request_",
    [
        text_request(prompt=""),
        text_request(prompt="   "),
        text_request(mode="image_to_image"),
        text_request(mode="inpaint", mask=b"not used"),
        text_request(mode="inpaint", source=png(noise_image(8, 8))),
        text_request(mode="image_to_image", source=b"not an image"),
        text_request(mode="image_to_image", source=png(noise_image(8, 8)), strength=1.5),
        text_request(width=0),
        text_request(n=0),
    ],
    ids=[
        "empty-prompt",
        "blank-prompt",
        "img2img-no-source",
        "inpaint-no-source",
        "inpaint-no-mask",
        "undecodable-source",
        "strength-out-of-range",
        "zero-width",
        "no-images",
    ],
)
def test_bad_image_requests_are_permanent_errors(
    provider: LocalProvider, request_: ImageRequest
) -> None:
    with pytest.raises(ProviderError) as error:
        provider.generate_image("sketch", request_)
    assert error.value.error_class is ErrorClass.PERMANENT
    assert error.value.message


def test_missing_source_message_is_clear(provider: LocalProvider) -> None:
    with pytest.raises(ProviderError, match="source image"):
        provider.generate_image("sketch", text_request(mode="image_to_image"))
    with pytest.raises(ProviderError, match="prompt is empty"):
        provider.generate_image("sketch", text_request(prompt=""))


def test_unknown_model_is_permanent(provider: LocalProvider) -> None:
    with pytest.raises(ProviderError) as error:
        provider.generate_image("motion", text_request())
    assert error.value.error_class is ErrorClass.PERMANENT


# --------------------------------------------------------------------------- video


def decode_video(data: bytes) -> tuple[str, int, int, list[np.ndarray]]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(stream)]
        return stream.codec_context.name, stream.width, stream.height, frames


EXPECTED_CODEC = {"libx264": "h264", "libvpx-vp9": "vp9"}


def test_text_to_video_decodes_with_expected_frames(provider: LocalProvider) -> None:
    beats: list[int] = []
    request = VideoRequest(prompt=PROMPT, duration_s=4, aspect_ratio="16:9", seed=1)
    result = provider.generate_video("motion", request, heartbeat=lambda: beats.append(1))
    codec, _, mime = local_video.video_format()
    assert result.mime_type == mime
    assert result.usage == {"renderer": "local", "frames": 48}
    assert result.cost_actual == 0.0
    name, width, height, frames = decode_video(result.video)
    assert name == EXPECTED_CODEC[codec]
    assert (width, height) == (640, 360)
    assert len(frames) == 4 * 12
    assert frames[0].shape == (360, 640, 3)
    assert mean_abs_diff(frames[0], frames[-1]) > 2  # the camera moves
    assert len(beats) >= 4


def test_image_to_video_is_portrait_ken_burns(provider: LocalProvider) -> None:
    source = png(render(provider, width=300, height=200))
    beats: list[int] = []
    request = VideoRequest(prompt="", source=source, aspect_ratio="9:16", duration_s=6)
    result = provider.generate_video("motion", request, heartbeat=lambda: beats.append(1))
    _, width, height, frames = decode_video(result.video)
    assert (width, height) == (360, 640)
    assert len(frames) == 6 * 12
    assert result.usage["frames"] == 72
    assert len(beats) >= 6


def test_video_is_deterministic(provider: LocalProvider) -> None:
    request = VideoRequest(prompt="ocean", duration_s=4, seed=9)
    _, _, _, first = decode_video(provider.generate_video("motion", request).video)
    _, _, _, second = decode_video(provider.generate_video("motion", request).video)
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))


def test_webm_fallback_when_no_h264(
    provider: LocalProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(local_video, "video_format", lambda: ("libvpx-vp9", "webm", "video/webm"))
    result = provider.generate_video("motion", VideoRequest(prompt="forest", duration_s=4))
    assert result.mime_type == "video/webm"
    name, width, height, frames = decode_video(result.video)
    assert (name, width, height, len(frames)) == ("vp9", 640, 360, 48)


@pytest.mark.parametrize(
    "request_",
    [
        VideoRequest(prompt="x", duration_s=5),
        VideoRequest(prompt="x", aspect_ratio="4:3"),  # type: ignore[arg-type]
        VideoRequest(prompt="x", resolution="4k"),  # type: ignore[arg-type]
        VideoRequest(prompt=""),
        VideoRequest(prompt="x", source=b"not an image"),
    ],
    ids=["duration", "aspect", "resolution", "empty-prompt", "bad-source"],
)
def test_bad_video_requests_are_permanent_errors(
    provider: LocalProvider, request_: VideoRequest
) -> None:
    with pytest.raises(ProviderError) as error:
        provider.generate_video("motion", request_)
    assert error.value.error_class is ErrorClass.PERMANENT
