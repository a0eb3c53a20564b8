"""Image helpers: what a person would notice about uploads, masks, thumbnails and downloads."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
from PIL import Image

from studio.imaging import (
    ImageLimits,
    ImageRejected,
    canvas_to_mask,
    composite,
    embed_parameters,
    encode_for_storage,
    load_image,
    load_mask,
    make_thumbnail,
    mask_is_empty,
    mask_overlay,
    mask_to_transparent,
    read_parameters,
)

MB = 1024 * 1024
LIMITS = ImageLimits(max_bytes=20 * MB, max_pixels=40_000_000, max_side=8192)


def encode(img: Image.Image, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def noise(w: int, h: int, seed: int = 0, channels: int = 3) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, channels), dtype=np.uint8))


def exif_with_gps(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    if orientation:
        exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (51.0, 30.0, 12.5)  # latitude
    gps[3], gps[4] = "W", (0.0, 7.0, 39.0)  # longitude
    return exif


def icc_swapped_primaries() -> bytes:
    """A minimal RGB display profile whose red and blue primaries are swapped, gamma 1."""

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ \0\0\0\0" + s15(x) + s15(y) + s15(z)

    text = b"Swapped test profile\0"
    desc = b"desc\0\0\0\0" + struct.pack(">I", len(text)) + text + b"\0" * 12 + b"\0" * 67
    curve = b"curv\0\0\0\0\0\0\0\0"  # zero entries: identity
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.1431, 0.0606, 0.7141)),  # sRGB's blue
        (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", xyz(0.4361, 0.2225, 0.0139)),  # sRGB's red
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, body = b"", b""
    for sig, data in tags:
        data += b"\0" * (-len(data) % 4)
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    size = offset + len(body)
    header = (
        struct.pack(">I", size)
        + b"\0" * 4
        + bytes([2, 0x10, 0, 0])
        + b"mntrRGB XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 24
        + b"\0" * 4
        + s15(0.9642)
        + s15(1.0)
        + s15(0.8249)
        + b"\0" * 48
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


# --- uploads -------------------------------------------------------------------------------------


def test_exif_orientation_6_shows_the_photo_upright() -> None:
    # A landscape sensor image, red on the left, blue on the right, taken with the phone turned.
    img = Image.new("RGB", (40, 20), "blue")
    img.paste((255, 0, 0), (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = 6
    loaded = load_image(encode(img, "JPEG", quality=95, exif=exif), LIMITS)

    assert loaded.image.size == (20, 40)
    top, bottom = loaded.image.getpixel((10, 5)), loaded.image.getpixel((10, 35))
    assert top[0] > 200 and top[2] < 60  # the red half is now on top
    assert bottom[2] > 200 and bottom[0] < 60
    stored, _ = encode_for_storage(loaded)
    assert decode(stored).size == (20, 40)
    assert 0x0112 not in decode(stored).getexif()  # not rotated a second time by viewers


def test_gps_and_camera_exif_are_gone_from_stored_bytes() -> None:
    data = encode(noise(64, 48), "JPEG", quality=90, exif=exif_with_gps())
    assert decode(data).getexif().get_ifd(0x8825)  # the upload really carries a location

    loaded = load_image(data, LIMITS)
    stored, mime = encode_for_storage(loaded)

    assert mime == "image/jpeg"
    assert not decode(stored).getexif()
    assert b"Exif" not in stored and b"PhoneMaker" not in stored
    assert any("GPS" in n for n in loaded.notices)


def test_png_metadata_chunks_are_dropped_but_pixels_kept() -> None:
    img = noise(32, 32, channels=4)
    info = Image.Exif()
    info[0x010F] = "PhoneMaker"
    from PIL.PngImagePlugin import PngInfo

    text = PngInfo()
    text.add_text("Author", "Jane Doe, 12 Home Street")
    data = encode(img, pnginfo=text, exif=info)

    stored, mime = encode_for_storage(load_image(data, LIMITS))

    assert mime == "image/png"
    assert b"Jane Doe" not in stored and b"eXIf" not in stored and b"tEXt" not in stored
    assert np.array_equal(np.asarray(decode(stored)), np.asarray(img))


def test_embedded_colour_profile_is_converted_to_srgb_then_dropped() -> None:
    # Pure red in a profile whose red primary is sRGB's blue must look blue after ingest.
    data = encode(Image.new("RGB", (8, 8), (255, 0, 0)), icc_profile=icc_swapped_primaries())

    loaded = load_image(data, LIMITS)
    stored, _ = encode_for_storage(loaded)

    r, g, b = loaded.image.getpixel((4, 4))
    assert b > 200 and r < 40
    assert "icc_profile" not in decode(stored).info and b"iCCP" not in stored
    assert any("sRGB" in n for n in loaded.notices)


def test_sixteen_bit_grey_png_is_scaled_not_clipped() -> None:
    ramp = (np.arange(256, dtype=np.uint32) * 257).astype(np.uint16)  # 0..65535
    data = encode(Image.fromarray(np.tile(ramp, (4, 1))))

    loaded = load_image(data, LIMITS)

    row = np.asarray(loaded.image)[0, :, 0]
    assert loaded.image.mode == "RGB"
    assert row[0] == 0 and row[128] == 128 and row[255] == 255  # a ramp, not a white sheet
    assert any("16 bits" in n for n in loaded.notices)


def test_phone_multi_picture_jpeg_is_not_refused_as_animated() -> None:
    data = encode(
        noise(40, 30, seed=1), "MPO", save_all=True, append_images=[noise(40, 30, seed=2)]
    )
    assert Image.open(io.BytesIO(data)).format == "MPO"

    loaded = load_image(data, LIMITS)

    assert loaded.source_format == "JPEG" and loaded.image.size == (40, 30)
    assert encode_for_storage(loaded)[1] == "image/jpeg"


def test_size_messages_read_like_sentences() -> None:
    with pytest.raises(ImageRejected) as too_big:
        load_image(b"\0" * int(25.3 * MB), LIMITS)
    assert too_big.value.user_message == "The file is 25.3 MB; the limit is 20 MB."

    wide = encode(Image.new("RGB", (300, 10)), "WEBP")
    with pytest.raises(ImageRejected) as too_wide:
        load_image(wide, ImageLimits(max_bytes=MB, max_pixels=10**9, max_side=200))
    assert too_wide.value.user_message == (
        "The image is 300×10 pixels; the longest side may be at most 200 pixels."
    )


# --- thumbnails ----------------------------------------------------------------------------------


def test_thumbnail_long_side_is_256_and_alpha_is_kept() -> None:
    thumb = decode(make_thumbnail(noise(1000, 500, channels=4)))
    assert thumb.format == "WEBP"
    assert thumb.size == (256, 128)
    assert thumb.mode == "RGBA"

    portrait = decode(make_thumbnail(noise(300, 900)))
    assert portrait.size == (85, 256)

    tiny = decode(make_thumbnail(noise(40, 30)))
    assert tiny.size == (40, 30)  # never blown up


# --- masks -------------------------------------------------------------------------------------


def test_composite_keeps_source_pixels_exactly_outside_the_mask() -> None:
    source = noise(64, 48, seed=1)
    result = noise(32, 24, seed=2)  # providers may answer at another size
    mask = Image.new("L", (64, 48), 0)
    mask.paste(255, (10, 10, 40, 30))

    out = np.asarray(decode(composite(encode(source), encode(result), encode(mask))))

    keep = np.asarray(mask) == 0
    assert out.shape == (48, 64, 3)
    assert np.array_equal(out[keep], np.asarray(source)[keep])
    resized = np.asarray(result.resize((64, 48), Image.Resampling.LANCZOS))
    assert np.array_equal(out[~keep], resized[~keep])


def test_composite_is_exact_for_jpeg_sources_too() -> None:
    source_bytes = encode(noise(50, 50, seed=3), "JPEG", quality=80)
    mask = Image.new("L", (50, 50), 0)
    mask.paste(200, (0, 0, 25, 50))  # soft values still count as "change"

    out = np.asarray(decode(composite(source_bytes, encode(noise(50, 50, seed=4)), encode(mask))))

    assert np.array_equal(out[:, 25:], np.asarray(decode(source_bytes).convert("RGB"))[:, 25:])


def test_canvas_strokes_scale_to_the_source_size() -> None:
    canvas = np.zeros((50, 100, 4), dtype=np.uint8)  # the canvas is shown at 100×50
    canvas[10:20, 30:60] = (255, 255, 255, 1)  # faint stroke still counts

    mask = decode(canvas_to_mask(canvas, (400, 200)))

    arr = np.asarray(mask)
    assert mask.mode == "L" and mask.size == (400, 200)
    assert set(np.unique(arr)) == {0, 255}
    assert arr[40:80, 120:240].min() == 255
    assert arr[:40].max() == 0 and arr[80:].max() == 0
    assert arr[:, :120].max() == 0 and arr[:, 240:].max() == 0

    from_pil = decode(canvas_to_mask(Image.fromarray(canvas, "RGBA"), (400, 200)))
    assert np.array_equal(np.asarray(from_pil), arr)


def test_uploaded_mask_of_another_size_is_refused_with_both_sizes() -> None:
    with pytest.raises(ImageRejected) as err:
        load_mask(encode(Image.new("L", (512, 512), 255)), (1024, 768), LIMITS)
    assert err.value.user_message == (
        "The mask is 512×512 but the image is 1024×768; paint or upload a mask of the same size."
    )


def test_uploaded_mask_conventions_and_empty_mask() -> None:
    white_on_black = Image.new("L", (20, 10), 0)
    white_on_black.paste(255, (0, 0, 10, 10))
    mask = np.asarray(decode(load_mask(encode(white_on_black), (20, 10), LIMITS)))
    assert mask[:, :10].min() == 255 and mask[:, 10:].max() == 0

    openai_style = Image.new("RGBA", (20, 10), (0, 0, 0, 255))
    openai_style.paste((0, 0, 0, 0), (10, 0, 20, 10))  # transparent = change
    mask = np.asarray(decode(load_mask(encode(openai_style), (20, 10), LIMITS)))
    assert mask[:, 10:].min() == 255 and mask[:, :10].max() == 0

    with pytest.raises(ImageRejected) as empty:
        load_mask(encode(Image.new("L", (20, 10), 0)), (20, 10), LIMITS)
    assert empty.value.user_message == "The mask is empty: paint the area to change."
    assert mask_is_empty(encode(Image.new("L", (5, 5), 0)))
    assert not mask_is_empty(encode(white_on_black))


def test_mask_to_transparent_makes_the_change_area_transparent() -> None:
    mask = Image.new("L", (30, 20), 0)
    mask.paste(255, (0, 0, 15, 20))

    out = decode(mask_to_transparent(encode(mask)))

    alpha = np.asarray(out.getchannel("A"))
    assert out.mode == "RGBA" and out.size == (30, 20)
    assert alpha[:, :15].max() == 0 and alpha[:, 15:].min() == 255


def test_mask_overlay_tints_only_the_changed_region() -> None:
    image = Image.new("RGB", (20, 20), (0, 0, 255))
    mask = Image.new("L", (20, 20), 0)
    mask.paste(255, (0, 0, 10, 20))

    out = decode(mask_overlay(encode(image), encode(mask)))

    assert out.getpixel((15, 5)) == (0, 0, 255)
    r, _, b = out.getpixel((5, 5))
    assert r > 80 and b < 200


# --- parameters ----------------------------------------------------------------------------------


PARAMS = {
    "prompt": "a lighthouse at dusk, oil painting",
    "negative_prompt": "blurry",
    "steps": 30,
    "seed": 42,
    "width": 1024,
    "height": 1024,
    "model": "x",
    "provider": "local",
    "extra": {"strength": 0.6},
}


def test_parameters_roundtrip_and_are_readable_by_other_tools() -> None:
    source = encode(noise(16, 16))

    out = embed_parameters(source, PARAMS)

    assert read_parameters(out) == PARAMS
    assert load_image(out, LIMITS).parameters == PARAMS
    text = decode(out).text["parameters"]
    assert text.splitlines() == [
        "a lighthouse at dusk, oil painting",
        "Negative prompt: blurry",
        "Steps: 30, Seed: 42, Size: 1024x1024, Model: x, Provider: local",
    ]
    assert np.array_equal(np.asarray(decode(out)), np.asarray(decode(source)))
    again = embed_parameters(out, {**PARAMS, "seed": 7})
    assert read_parameters(again)["seed"] == 7
    assert again.count(b"studio\0") == 1


def test_parameters_from_other_tools_and_garbage() -> None:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(
        "parameters",
        "a cat\nNegative prompt: dog\nSteps: 20, CFG scale: 7.5, Seed: 3, Size: 512x768",
    )
    parsed = read_parameters(encode(noise(8, 8), pnginfo=info))
    assert parsed == {
        "prompt": "a cat",
        "negative_prompt": "dog",
        "steps": 20,
        "cfg_scale": 7.5,
        "seed": 3,
        "width": 512,
        "height": 768,
    }
    assert read_parameters(encode(noise(8, 8))) is None
    for garbage in (
        b"",
        b"not an image",
        b"\x89PNG\r\n\x1a\n\0\0\xff\xffIHDR",
        encode(noise(8, 8))[:30],
    ):
        assert read_parameters(garbage) is None
    jpeg = embed_parameters(encode(noise(8, 8), "JPEG"), {"prompt": "from a jpeg"})
    assert read_parameters(jpeg) == {"prompt": "from a jpeg"}
