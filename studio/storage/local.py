"""Files on disk under one root folder: <root>/<bucket>/<key>."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from studio.storage.base import StorageError, StoredFile, check_bucket, check_key


class LocalStorage:
    name = "local"

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, bucket: str, key: str) -> Path:
        path = (self.root / check_bucket(bucket) / check_key(key)).resolve()
        # Belt and braces: even a key that passes the pattern must stay under the root.
        if not path.is_relative_to(self.root):
            raise StorageError(f"Invalid storage key {key!r}.")
        return path

    def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        path = self._path(bucket, key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename, so a reader never sees half a file and a crash leaves no torso.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def get(self, bucket: str, key: str) -> bytes:
        path = self._path(bucket, key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise StorageError(f"The file {bucket}/{key} is missing from storage.") from None

    def exists(self, bucket: str, key: str) -> bool:
        return self._path(bucket, key).is_file()

    def delete(self, bucket: str, key: str) -> None:
        self._path(bucket, key).unlink(missing_ok=True)

    def url(self, bucket: str, key: str) -> str | None:
        return None

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        base = self.root / check_bucket(bucket)
        if not base.is_dir():
            return []
        found = (
            p.relative_to(base).as_posix()
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        )
        return sorted(k for k in found if k.startswith(prefix))

    def listing(self, bucket: str, prefix: str = "") -> list[StoredFile]:
        base = self.root / check_bucket(bucket)
        out = []
        for key in self.keys(bucket, prefix):
            try:
                stat = (base / key).stat()
            except FileNotFoundError:  # deleted since it was listed
                continue
            out.append(StoredFile(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC)))
        return out
