"""Local storage: round trips, atomic writes, and keys that cannot escape the root.

S3 storage is tested against a local S3 server in tests/storage/test_s3.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.storage import LocalStorage, StorageError, make_storage


def test_put_get_exists_delete_keys(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path / "media")
    store.put("session-assets", "ab/abc.png", b"png-bytes", "image/png")
    assert store.exists("session-assets", "ab/abc.png")
    assert store.get("session-assets", "ab/abc.png") == b"png-bytes"
    assert store.keys("session-assets") == ["ab/abc.png"]
    assert store.url("session-assets", "ab/abc.png") is None
    store.delete("session-assets", "ab/abc.png")
    assert not store.exists("session-assets", "ab/abc.png")
    with pytest.raises(StorageError, match="missing"):
        store.get("session-assets", "ab/abc.png")


def test_overwrite_leaves_no_temporary_files(tmp_path: Path) -> None:
    store = LocalStorage(tmp_path)
    store.put("b", "k.bin", b"1", "application/octet-stream")
    store.put("b", "k.bin", b"2", "application/octet-stream")
    assert store.get("b", "k.bin") == b"2"
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["k.bin"]


@pytest.mark.parametrize(
    "key",
    [
        "../escape.png",
        "a/../../escape.png",
        "/etc/passwd",
        "a//b",
        "",
        ".hidden",
        "a\\b",
        "a/./b",
        "x" * 600,
    ],
)
def test_keys_cannot_escape_the_root(tmp_path: Path, key: str) -> None:
    store = LocalStorage(tmp_path / "media")
    with pytest.raises(StorageError):
        store.put("bucket", key, b"x", "text/plain")
    assert not (tmp_path / "escape.png").exists()


@pytest.mark.parametrize("bucket", ["..", "../up", "Upper", "a/b", ""])
def test_bad_buckets_are_refused(tmp_path: Path, bucket: str) -> None:
    with pytest.raises(StorageError):
        LocalStorage(tmp_path).put(bucket, "k.png", b"x", "image/png")


def test_symlink_out_of_root_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "media"
    (root / "bucket").mkdir(parents=True)
    (root / "bucket" / "link").symlink_to(outside)
    with pytest.raises(StorageError):
        LocalStorage(root).put("bucket", "link/file.png", b"x", "image/png")
    assert not (outside / "file.png").exists()


def test_make_storage_builds_local_storage_for_a_folder(tmp_path: Path) -> None:
    store = make_storage(str(tmp_path / "media"))
    assert isinstance(store, LocalStorage) and store.root == (tmp_path / "media").resolve()
