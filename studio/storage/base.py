"""The storage interface: buckets of keys holding bytes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from studio.errors import StudioError

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
_KEY_PART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


class StorageError(StudioError):
    """A key or bucket was refused, or the store failed."""


def check_bucket(bucket: str) -> str:
    if not _BUCKET.match(bucket):
        raise StorageError(f"Invalid bucket name {bucket!r}.")
    return bucket


def check_key(key: str) -> str:
    """Keys are relative paths of plain segments: no '..', no absolute paths, no backslashes."""
    parts = key.split("/")
    if not key or len(key) > 500 or any(not _KEY_PART.match(p) or p in (".", "..") for p in parts):
        raise StorageError(f"Invalid storage key {key!r}.")
    return key


@dataclass(frozen=True)
class StoredFile:
    """One file of a bucket as listed: its key, size and when it was last written (UTC)."""

    key: str
    size: int
    modified: datetime


class Storage(Protocol):
    """Where asset bytes live. Implementations: LocalStorage, S3Storage."""

    name: str

    def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, bucket: str, key: str) -> bytes: ...

    def exists(self, bucket: str, key: str) -> bool: ...

    def delete(self, bucket: str, key: str) -> None: ...

    def url(self, bucket: str, key: str) -> str | None:
        """A URL a browser can fetch, or None when bytes must be served by the app."""
        ...

    def keys(self, bucket: str, prefix: str = "") -> list[str]: ...

    def listing(self, bucket: str, prefix: str = "") -> list[StoredFile]:
        """Every file of `bucket` under `prefix`, with its size and time (for `studio gc`)."""
        ...
