"""Asset ingest: validate, store content-addressed bytes + thumbnail, add a row.

Validation happens in `prepare_image` before anything is written. Files are keyed by the sha256 of
the stored bytes, so the same bytes are stored once; every use is its own `ImageAsset` row.
A row's transaction may still roll back after the bytes were written: such files are harmless
orphans (content-addressed, reusable by the next identical ingest).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from db.schema import ASSET_ROLES, ImageAsset
from studio.errors import Invalid
from studio.imaging import (
    ImageLimits,
    encode_for_storage,
    encode_png,
    load_image,
    make_thumbnail,
)
from studio.storage import Storage, StorageError

_EXT = {"image/png": "png", "image/jpeg": "jpg"}


@dataclass
class PreparedImage:
    data: bytes
    mime_type: str
    width: int
    height: int
    sha256: str
    ext: str
    thumbnail: bytes
    notices: list[str]
    parameters: dict[str, Any] | None


@dataclass
class IngestResult:
    asset: ImageAsset
    notices: list[str]
    parameters: dict[str, Any] | None
    deduplicated: bool


def content_key(sha256: str, ext: str) -> str:
    return f"{sha256[:2]}/{sha256}.{ext}"


def thumbnail_key(sha256: str) -> str:
    return f"thumbs/{sha256[:2]}/{sha256}.webp"


def prepare_image(data: bytes, limits: ImageLimits) -> PreparedImage:
    """Decode once, then encode for storage, hash and thumbnail. Pure: writes nothing."""
    loaded = load_image(data, limits)
    stored, mime = encode_for_storage(loaded)
    return PreparedImage(
        data=stored,
        mime_type=mime,
        width=loaded.image.width,
        height=loaded.image.height,
        sha256=hashlib.sha256(stored).hexdigest(),
        ext=_EXT[mime],
        thumbnail=make_thumbnail(loaded.image),
        notices=loaded.notices,
        parameters=loaded.parameters,
    )


def prepare_mask(data: bytes, limits: ImageLimits) -> PreparedImage:
    """A mask stays an L-mode 0/255 PNG (white = change) instead of becoming RGB."""
    loaded = load_image(data, limits)
    mask = loaded.image.convert("L").point(lambda v: 255 if v >= 128 else 0)
    stored = encode_png(mask)
    return PreparedImage(
        data=stored,
        mime_type="image/png",
        width=mask.width,
        height=mask.height,
        sha256=hashlib.sha256(stored).hexdigest(),
        ext="png",
        thumbnail=make_thumbnail(mask),
        notices=[],
        parameters=None,
    )


def _put_once(storage: Storage, bucket: str, key: str, data: bytes, mime: str) -> bool:
    """Write unless present; True when the key already existed."""
    if storage.exists(bucket, key):
        return True
    storage.put(bucket, key, data, mime)
    return False


def store_prepared(
    storage: Storage, prepared: PreparedImage | PreparedVideo, bucket: str
) -> tuple[str, str | None]:
    """Write the file and its thumbnail (a video's poster; skipping what is there); returns
    (key, thumbnail_key), the latter None for a video without a poster."""
    key = content_key(prepared.sha256, prepared.ext)
    _put_once(storage, bucket, key, prepared.data, prepared.mime_type)
    if prepared.thumbnail is None:
        return key, None
    thumb = thumbnail_key(prepared.sha256)
    _put_once(storage, bucket, thumb, prepared.thumbnail, "image/webp")
    return key, thumb


def _check_role(role: str) -> None:
    if role not in ASSET_ROLES:
        raise ValueError(f"Unknown asset role {role!r}; expected one of {ASSET_ROLES}.")


def asset_row(
    prepared: PreparedImage | PreparedVideo,
    *,
    key: str,
    thumbnail_key: str | None,
    owner_id: str,
    role: str,
    bucket: str,
    storage_name: str,
    session_id: str | None = None,
    generation_id: str | None = None,
) -> ImageAsset:
    """The row for one use of stored bytes, an image or (role "video") a video."""
    _check_role(role)
    return ImageAsset(
        owner_id=owner_id,
        session_id=session_id,
        generation_id=generation_id,
        role=role,
        storage_provider=storage_name,
        bucket=bucket,
        key=key,
        mime_type=prepared.mime_type,
        size_bytes=len(prepared.data),
        width=prepared.width,
        height=prepared.height,
        sha256=prepared.sha256,
        thumbnail_key=thumbnail_key,
    )


def ingest_image(
    db: Session,
    storage: Storage,
    data: bytes,
    *,
    owner_id: str,
    role: str,
    bucket: str,
    limits: ImageLimits,
    session_id: str | None = None,
    generation_id: str | None = None,
) -> IngestResult:
    """Validate, store (once per content) and add an ImageAsset row; flushes, never commits.

    A rejection (`ImageRejected`) happens before anything is written. Role "mask" keeps the
    studio's L-mode mask format.
    """
    _check_role(role)
    prepared = prepare_mask(data, limits) if role == "mask" else prepare_image(data, limits)
    deduplicated = storage.exists(bucket, content_key(prepared.sha256, prepared.ext))
    key, thumb = store_prepared(storage, prepared, bucket)
    asset = asset_row(
        prepared,
        key=key,
        thumbnail_key=thumb,
        owner_id=owner_id,
        role=role,
        bucket=bucket,
        storage_name=storage.name,
        session_id=session_id,
        generation_id=generation_id,
    )
    db.add(asset)
    db.flush()
    return IngestResult(asset, prepared.notices, prepared.parameters, deduplicated)


def ingest_file(
    db: Session,
    storage: Storage,
    data: bytes,
    *,
    mime_type: str,
    owner_id: str,
    role: str,
    bucket: str,
    ext: str,
    session_id: str | None = None,
    generation_id: str | None = None,
    width: int | None = None,
    height: int | None = None,
) -> ImageAsset:
    """Store a non-image file (e.g. a video) content-addressed, with no thumbnail."""
    _check_role(role)
    ext = ext.lower().lstrip(".")
    if not re.fullmatch(r"[a-z0-9]{1,10}", ext):
        raise ValueError(f"Invalid file extension {ext!r}.")
    if not data:
        raise Invalid("The file is empty.")
    sha = hashlib.sha256(data).hexdigest()
    key = content_key(sha, ext)
    _put_once(storage, bucket, key, data, mime_type)
    asset = ImageAsset(
        owner_id=owner_id,
        session_id=session_id,
        generation_id=generation_id,
        role=role,
        storage_provider=storage.name,
        bucket=bucket,
        key=key,
        mime_type=mime_type,
        size_bytes=len(data),
        width=width,
        height=height,
        sha256=sha,
        thumbnail_key=None,
    )
    db.add(asset)
    db.flush()
    return asset


def read_bytes(storage: Storage, asset: ImageAsset) -> bytes:
    return storage.get(asset.bucket, asset.key)


def read_thumbnail(storage: Storage, asset: ImageAsset) -> bytes:
    """The thumbnail, or the full file when there is none (or it went missing)."""
    if asset.thumbnail_key:
        try:
            return storage.get(asset.bucket, asset.thumbnail_key)
        except StorageError:
            pass
    return read_bytes(storage, asset)


# ---------------------------------------------------------------------------------------------
# Videos (storyboards): content-addressed like images, with a poster frame as the thumbnail
# ---------------------------------------------------------------------------------------------

_VIDEO_EXT = {"video/mp4": "mp4", "video/webm": "webm", "video/quicktime": "mov"}


@dataclass
class PreparedVideo:
    data: bytes
    mime_type: str
    ext: str
    sha256: str
    width: int | None
    height: int | None
    duration_s: float | None
    thumbnail: bytes | None  # a WebP poster of the first frame, when the video decodes


def sniff_video(data: bytes) -> str | None:
    """The video type judged by its bytes (MP4/QuickTime `ftyp`, WebM/Matroska EBML)."""
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return "video/quicktime" if data[8:10] == b"qt" else "video/mp4"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    return None


def _probe_video(data: bytes) -> tuple[int | None, int | None, float | None, bytes | None]:
    """(width, height, seconds, poster) through PyAV; Nones when it cannot be decoded."""
    import io

    import av

    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            stream = container.streams.video[0]
            seconds = None
            if stream.duration is not None and stream.time_base is not None:
                seconds = float(stream.duration * stream.time_base)
            elif container.duration is not None:
                seconds = container.duration / 1_000_000
            poster = None
            for frame in container.decode(stream):
                poster = make_thumbnail(frame.to_image())
                break
            return stream.width or None, stream.height or None, seconds, poster
    except Exception:  # a provider's clip we cannot decode is still stored and served as is
        return None, None, None, None


def prepare_video(data: bytes, mime_type: str | None = None) -> PreparedVideo:
    """Check that the bytes are a video, hash them and take a poster frame. Writes nothing."""
    if not data:
        raise Invalid("The video is empty.")
    mime = sniff_video(data) or (mime_type if mime_type in _VIDEO_EXT else None)
    if mime is None:
        raise Invalid("The provider returned something that is not an MP4 or WebM video.")
    width, height, seconds, poster = _probe_video(data)
    return PreparedVideo(
        data=data,
        mime_type=mime,
        ext=_VIDEO_EXT[mime],
        sha256=hashlib.sha256(data).hexdigest(),
        width=width,
        height=height,
        duration_s=seconds,
        thumbnail=poster,
    )
