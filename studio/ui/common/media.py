"""Stored image bytes for pages, cached: asset keys are content-addressed, so a key's bytes
never change and can be kept in memory across reruns and sessions. `cache_resource`, not
`cache_data`: bytes are immutable, so every rerun gets the cached object itself instead of an
unpickled copy of a multi-megabyte image."""

from __future__ import annotations

import streamlit as st

from db.schema import ImageAsset
from studio import imaging
from studio.storage.base import StorageError
from studio.ui.common.services import get_services


@st.cache_resource(max_entries=4000, show_spinner=False)
def _thumbnail(bucket: str, key: str, thumbnail_key: str | None) -> bytes | None:
    storage = get_services().storage
    for k in (thumbnail_key, key):
        if k:
            try:
                return storage.get(bucket, k)
            except StorageError:
                continue
    return None


@st.cache_resource(max_entries=48, show_spinner=False)
def _full(bucket: str, key: str) -> bytes | None:
    try:
        return get_services().storage.get(bucket, key)
    except StorageError:
        return None


def thumbnail(asset: ImageAsset | None) -> bytes | None:
    """The asset's 256 px thumbnail (or the file itself), None when it is missing."""
    if asset is None:
        return None
    return _thumbnail(asset.bucket, asset.key, asset.thumbnail_key)


def full_image(asset: ImageAsset | None) -> bytes | None:
    """The asset's stored bytes, None when the file is missing."""
    if asset is None:
        return None
    return _full(asset.bucket, asset.key)


@st.cache_resource(max_entries=16, show_spinner=False)
def _overlay(image_bucket: str, image_key: str, mask_bucket: str, mask_key: str) -> bytes | None:
    image, mask = _full(image_bucket, image_key), _full(mask_bucket, mask_key)
    if image is None or mask is None:
        return None
    return imaging.mask_overlay(image, mask)


def mask_overlay(image: ImageAsset | None, mask: ImageAsset | None) -> bytes | None:
    """The image with its mask tinted (composited once per pair, then cached)."""
    if image is None or mask is None:
        return None
    return _overlay(image.bucket, image.key, mask.bucket, mask.key)
