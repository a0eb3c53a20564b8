"""Object storage: local disk by default, S3-compatible when STUDIO_STORAGE_URL=s3://..."""

from __future__ import annotations

from studio.storage.base import Storage, StorageError
from studio.storage.local import LocalStorage

__all__ = ["LocalStorage", "Storage", "StorageError", "make_storage"]


def make_storage(storage_url: str, *, s3_endpoint_url: str | None = None) -> Storage:
    """Build the store named by `storage_url` (a folder, or s3://bucket-prefix)."""
    if storage_url.startswith("s3://"):
        raise StorageError(
            "S3-compatible storage is not available in this version yet; "
            "set STUDIO_STORAGE_URL to a folder (the default is var/media)."
        )
    return LocalStorage(storage_url)
