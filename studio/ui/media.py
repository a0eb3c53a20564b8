"""Stored image bytes for pages, cached: asset keys are content-addressed, so a key's bytes
never change and can be kept in memory across reruns and sessions."""

from __future__ import annotations

import streamlit as st

from db.schema import ImageAsset
from studio.storage.base import StorageError
from studio.ui.services import get_services


@st.cache_data(max_entries=4000, show_spinner=False)
def _thumbnail(bucket: str, key: str, thumbnail_key: str | None) -> bytes | None:
    storage = get_services().storage
    for k in (thumbnail_key, key):
        if k:
            try:
                return storage.get(bucket, k)
            except StorageError:
                continue
    return None


@st.cache_data(max_entries=48, show_spinner=False)
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
