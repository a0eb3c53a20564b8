"""Ingest: bad uploads leave no trace; good ones are stored once, cleaned, with a thumbnail."""

from __future__ import annotations

import dataclasses
import io
import zlib
from collections.abc import Callable

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image

from db.schema import ImageAsset
from studio.assets import (
    IngestResult,
    ingest_file,
    ingest_image,
    prepare_image,
    read_bytes,
    read_thumbnail,
)
from studio.imaging import ImageLimits, ImageRejected
from studio.services import Services

OWNER = "user-1"


def encode(img: Image.Image, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def decode(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def photo(w: int = 64, h: int = 48, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def png_claiming(width: int, height: int) -> bytes:
    """A real small PNG whose IHDR claims another size, with a correct CRC."""
    data = bytearray(encode(photo(8, 8)))
    data[16:24] = width.to_bytes(4, "big") + height.to_bytes(4, "big")
    data[29:33] = zlib.crc32(bytes(data[12:29])).to_bytes(4, "big")
    return bytes(data)


def gif_with_frames(n: int) -> bytes:
    frames = [Image.new("RGB", (16, 16), (i * 2, 0, 255 - i * 2)) for i in range(n)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=40)


def limits(services: Services, **overrides: int) -> ImageLimits:
    return dataclasses.replace(ImageLimits.from_settings(services.settings), **overrides)


def ingest(services: Services, data: bytes, lim: ImageLimits | None = None) -> IngestResult:
    with services.db() as db:
        result = ingest_image(
            db,
            services.storage,
            data,
            owner_id=OWNER,
            role="input",
            bucket=services.settings.sessions_bucket,
            limits=lim or limits(services),
        )
        db.expunge(result.asset)
    return result


def asset_count(services: Services) -> int:
    with services.db() as db:
        return db.scalar(sa.select(sa.func.count()).select_from(ImageAsset)) or 0


BAD_UPLOADS: dict[str, tuple[Callable[[], bytes], dict[str, int], str]] = {
    "empty file": (lambda: b"", {}, "The file is empty."),
    "text named .png": (
        lambda: b"Dear diary, today I renamed notes.txt to notes.png",
        {},
        "This file is not an image we can read. Use PNG, JPEG or WebP.",
    ),
    "truncated png": (
        lambda: encode(photo(200, 200))[:5000],
        {},
        "The file is damaged or incomplete.",
    ),
    "png bomb header": (
        lambda: png_claiming(30000, 30000),
        {},
        "The image is 30000×30000 pixels; the limit is 40 megapixels.",
    ),
    "svg": (
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><rect/></svg>',
        {},
        "Vector drawings (SVG) are not supported; export the drawing as PNG, JPEG or WebP.",
    ),
    "gif with 100 frames": (
        lambda: gif_with_frames(100),
        {},
        "Animated images are not supported; export a single frame.",
    ),
    "over the byte limit": (
        lambda: encode(photo(64, 64)),
        {"max_bytes": 4096},
        "The file is 12.1 KB; the limit is 4 KB.",
    ),
    "webp side over the limit": (
        lambda: encode(Image.new("RGB", (300, 40)), "WEBP"),
        {"max_side": 256},
        "The image is 300×40 pixels; the longest side may be at most 256 pixels.",
    ),
    "png side over the limit": (
        lambda: png_claiming(9000, 100),
        {},
        "The image is 9000×100 pixels; the longest side may be at most 8192 pixels.",
    ),
}


@pytest.mark.parametrize("case", list(BAD_UPLOADS))
def test_bad_upload_is_refused_and_leaves_nothing_behind(services: Services, case: str) -> None:
    make, overrides, message = BAD_UPLOADS[case]

    with pytest.raises(ImageRejected) as err:
        ingest(services, make(), limits(services, **overrides))

    assert err.value.user_message == message
    assert services.storage.keys(services.settings.sessions_bucket) == []
    assert asset_count(services) == 0


def test_cmyk_jpeg_is_stored_as_rgb_with_a_notice(services: Services) -> None:
    data = encode(Image.new("CMYK", (40, 30), (0, 255, 255, 0)), "JPEG", quality=95)

    result = ingest(services, data)

    stored = decode(read_bytes(services.storage, result.asset))
    assert stored.mode == "RGB" and stored.format == "JPEG"
    r, g, b = stored.getpixel((20, 15))
    assert r > 200 and g < 60 and b < 60  # still red, not inverted
    assert "Converted from CMYK to RGB." in result.notices


def test_sixteen_bit_png_is_stored_as_eight_bit(services: Services) -> None:
    ramp = np.tile((np.arange(64, dtype=np.uint32) * 1040).astype(np.uint16), (8, 1))
    data = encode(Image.fromarray(ramp))
    assert data[24] == 16  # bit depth in IHDR

    result = ingest(services, data)

    stored_bytes = read_bytes(services.storage, result.asset)
    assert stored_bytes[24] == 8
    assert decode(stored_bytes).mode == "RGB"
    assert any("16 bits" in n for n in result.notices)


def test_jpeg_with_gps_is_stored_without_any_exif(services: Services) -> None:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = "N", (51.0, 30.0, 12.5)
    data = encode(photo(), "JPEG", quality=90, exif=exif)

    result = ingest(services, data)

    stored = read_bytes(services.storage, result.asset)
    assert not decode(stored).getexif()
    assert b"Exif" not in stored and b"PhoneMaker" not in stored
    assert result.asset.mime_type == "image/jpeg" and result.asset.key.endswith(".jpg")


def test_same_bytes_twice_is_two_rows_and_one_stored_file(services: Services) -> None:
    data = encode(photo(seed=5))
    bucket = services.settings.sessions_bucket

    first = ingest(services, data)
    second = ingest(services, data)

    assert (first.deduplicated, second.deduplicated) == (False, True)
    assert first.asset.id != second.asset.id
    assert first.asset.key == second.asset.key
    assert first.asset.key == f"{first.asset.sha256[:2]}/{first.asset.sha256}.png"
    assert services.storage.keys(bucket) == sorted([first.asset.key, first.asset.thumbnail_key])
    assert asset_count(services) == 2


def test_thumbnail_is_in_storage_after_ingest(services: Services) -> None:
    result = ingest(services, encode(photo(1200, 600)))
    asset = result.asset

    assert asset.thumbnail_key == f"thumbs/{asset.sha256[:2]}/{asset.sha256}.webp"
    assert services.storage.exists(asset.bucket, asset.thumbnail_key)
    thumb = decode(read_thumbnail(services.storage, asset))
    assert thumb.format == "WEBP" and thumb.size == (256, 128)
    assert (asset.width, asset.height, asset.storage_provider) == (1200, 600, "local")
    assert asset.size_bytes == len(read_bytes(services.storage, asset))


def test_row_records_what_was_stored(services: Services) -> None:
    data = encode(photo())
    prepared = prepare_image(data, limits(services))

    result = ingest(services, data)

    assert result.asset.sha256 == prepared.sha256
    assert read_bytes(services.storage, result.asset) == prepared.data
    assert result.asset.owner_id == OWNER and result.asset.role == "input"


def test_mask_ingest_keeps_an_l_mode_mask(services: Services) -> None:
    mask = Image.new("L", (32, 32), 0)
    mask.paste(255, (0, 0, 16, 32))
    with services.db() as db:
        result = ingest_image(
            db,
            services.storage,
            encode(mask),
            owner_id=OWNER,
            role="mask",
            bucket=services.settings.sessions_bucket,
            limits=limits(services),
        )
        stored = decode(read_bytes(services.storage, result.asset))
    assert stored.mode == "L"
    assert np.array_equal(np.asarray(stored), np.asarray(mask))


def test_video_file_is_stored_content_addressed_without_thumbnail(services: Services) -> None:
    data = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 10
    bucket = services.settings.storyboard_videos_bucket
    with services.db() as db:
        asset = ingest_file(
            db,
            services.storage,
            data,
            mime_type="video/mp4",
            owner_id=OWNER,
            role="video",
            bucket=bucket,
            ext="mp4",
        )
        again = ingest_file(
            db,
            services.storage,
            data,
            mime_type="video/mp4",
            owner_id=OWNER,
            role="video",
            bucket=bucket,
            ext="mp4",
        )
        assert asset.key == again.key and asset.key.endswith(".mp4")
        assert asset.thumbnail_key is None and asset.width is None
        assert read_thumbnail(services.storage, asset) == data
    assert services.storage.keys(bucket) == [asset.key]
    assert asset_count(services) == 2
