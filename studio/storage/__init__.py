"""Object storage: local disk by default, S3-compatible when STUDIO_STORAGE_URL=s3://..."""

from __future__ import annotations

from studio.storage.base import Storage, StorageError, StoredFile
from studio.storage.local import LocalStorage

__all__ = ["LocalStorage", "Storage", "StorageError", "StoredFile", "make_storage"]


def make_storage(
    storage_url: str,
    *,
    s3_endpoint_url: str | None = None,
    s3_region: str | None = None,
    url_expires_seconds: int = 900,
) -> Storage:
    """Build the store named by `storage_url`: a folder, or s3://bucket[/prefix]. With S3,
    `url` hands out presigned links valid for `url_expires_seconds`."""
    if storage_url.startswith("s3://"):
        # Imported here so that boto3 stays optional for local storage.
        from studio.storage.s3 import S3Storage

        return S3Storage(
            storage_url,
            endpoint_url=s3_endpoint_url,
            region=s3_region,
            url_expires_seconds=url_expires_seconds,
        )
    return LocalStorage(storage_url)
