"""Stored images and videos on pages.

With S3 storage a page hands the browser a short-lived presigned URL, so media bytes never
pass through the app server; with local storage it hands Streamlit the bytes, which its media
file manager serves. `*_source` returns what `st.image` / `st.video` take (URL or bytes), or
None when the file is missing.

Bytes are cached as resources: asset keys are content-addressed, so a key's bytes never change
and can be kept in memory across reruns and sessions (`cache_resource`, not `cache_data`: every
rerun gets the cached object itself, not an unpickled copy). A read that fails is not cached: a
file missing for a moment (or a storage error) is read again on the next view.
"""

from __future__ import annotations

import inspect
from typing import Any

import streamlit as st

from db.schema import ImageAsset
from studio import imaging
from studio.storage.base import StorageError
from studio.ui.common.services import get_services

URL_CACHE_SECONDS = 300  # a link handed out stays valid >= STUDIO_MEDIA_URL_SECONDS - this

_IMAGE_ALT = "alt" in inspect.signature(st.image).parameters  # Streamlit >= 1.67


@st.cache_resource(max_entries=4000, show_spinner=False)
def _thumbnail(bucket: str, key: str, thumbnail_key: str | None) -> bytes:
    storage = get_services().storage
    if thumbnail_key:
        try:
            return storage.get(bucket, thumbnail_key)
        except StorageError:
            pass  # fall back to the file itself
    return storage.get(bucket, key)


@st.cache_resource(max_entries=48, show_spinner=False)
def _full(bucket: str, key: str) -> bytes:
    return get_services().storage.get(bucket, key)


@st.cache_data(ttl=URL_CACHE_SECONDS, max_entries=10000, show_spinner=False)
def _url(bucket: str, key: str) -> str | None:
    return get_services().storage.url(bucket, key)


def _read(read: Any, *args: Any) -> bytes | None:
    try:
        return read(*args)
    except StorageError:
        return None


def _link(bucket: str, key: str) -> str | None:
    try:
        return _url(bucket, key)
    except StorageError:
        return None


def thumbnail(asset: ImageAsset | None) -> bytes | None:
    """The asset's 256 px thumbnail (or the file itself) as bytes, None when it is missing."""
    if asset is None:
        return None
    return _read(_thumbnail, asset.bucket, asset.key, asset.thumbnail_key)


def full_image(asset: ImageAsset | None) -> bytes | None:
    """The asset's stored bytes (for work done here: painting, overlays), None when missing."""
    if asset is None:
        return None
    return _read(_full, asset.bucket, asset.key)


def thumbnail_source(asset: ImageAsset | None) -> bytes | str | None:
    """What shows the asset's thumbnail: a URL when the storage signs one, else bytes."""
    if asset is None:
        return None
    url = _link(asset.bucket, asset.thumbnail_key or asset.key)
    return url if url is not None else thumbnail(asset)


def media_source(asset: ImageAsset | None) -> bytes | str | None:
    """What shows the asset itself (image or video): a URL when the storage signs one, else
    its bytes; None when the file is missing."""
    if asset is None:
        return None
    url = _link(asset.bucket, asset.key)
    return url if url is not None else full_image(asset)


def show_image(source: bytes | str | list[Any], *, alt: str | list[str], **kw: Any) -> None:
    """`st.image` with a text alternative (where Streamlit takes one) for screen readers."""
    if _IMAGE_ALT:
        kw["alt"] = alt
    st.image(source, **kw)


@st.cache_resource(max_entries=16, show_spinner=False)
def _overlay(image_bucket: str, image_key: str, mask_bucket: str, mask_key: str) -> bytes:
    return imaging.mask_overlay(_full(image_bucket, image_key), _full(mask_bucket, mask_key))


def mask_overlay(image: ImageAsset | None, mask: ImageAsset | None) -> bytes | None:
    """The image with its mask tinted (composited here once per pair, then cached)."""
    if image is None or mask is None:
        return None
    return _read(_overlay, image.bucket, image.key, mask.bucket, mask.key)
