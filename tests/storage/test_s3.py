"""S3-compatible storage (studio/storage/s3.py) against a real S3 server on 127.0.0.1 (moto).

No internet and no real keys: the server runs in this process on a free loopback port, and every
test sees dummy AWS credentials only.
"""

from __future__ import annotations

import socket
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from studio import sessions as S
from studio.jobs.worker import process_next
from studio.services import Services
from studio.storage import StorageError, make_storage
from studio.storage.s3 import S3Storage, parse_s3_url
from tests.conftest import make_settings

moto_server = pytest.importorskip("moto.server", reason="S3 tests need moto[server] (.[dev])")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def dummy_aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials only: no profile, no instance metadata, no proxy for 127.0.0.1."""
    for var in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_CA_BUNDLE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
        "AWS_REGION",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def admin(endpoint: str) -> Any:
    """A plain boto3 client on the test server, for setting up and inspecting buckets."""
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture
def bucket(admin: Any) -> str:
    """A fresh S3 bucket on the test server."""
    name = f"studio-{uuid.uuid4().hex[:12]}"
    admin.create_bucket(Bucket=name)
    return name


@pytest.fixture
def store(endpoint: str, bucket: str) -> S3Storage:
    storage = make_storage(f"s3://{bucket}/studio", s3_endpoint_url=endpoint)
    assert isinstance(storage, S3Storage) and storage.name == "s3"
    return storage


def raw_keys(store: S3Storage) -> list[str]:
    listed = store._client.list_objects_v2(Bucket=store.s3_bucket)
    return sorted(o["Key"] for o in listed.get("Contents", []))


# ---------------------------------------------------------------------------------------------


def test_put_get_exists_delete_round_trip(store: S3Storage) -> None:
    store.put("session-assets", "ab/abc.png", b"png-bytes", "image/png")
    assert store.exists("session-assets", "ab/abc.png")
    assert store.get("session-assets", "ab/abc.png") == b"png-bytes"
    s3_key = "studio/session-assets/ab/abc.png"
    head = store._client.head_object(Bucket=store.s3_bucket, Key=s3_key)
    assert head["ContentType"] == "image/png"

    store.put("session-assets", "ab/abc.png", b"new-bytes", "image/png")  # overwrite
    assert store.get("session-assets", "ab/abc.png") == b"new-bytes"

    store.delete("session-assets", "ab/abc.png")
    assert not store.exists("session-assets", "ab/abc.png")
    store.delete("session-assets", "ab/abc.png")  # deleting twice is fine, as on disk
    assert raw_keys(store) == []


def test_missing_key_raises_the_same_error_as_local_storage(
    store: S3Storage, tmp_path: Path
) -> None:
    local = make_storage(str(tmp_path / "media"))
    with pytest.raises(StorageError) as on_disk:
        local.get("session-assets", "ab/gone.png")
    with pytest.raises(StorageError) as on_s3:
        store.get("session-assets", "ab/gone.png")
    assert type(on_s3.value) is type(on_disk.value)
    assert on_s3.value.user_message == on_disk.value.user_message
    assert on_s3.value.user_message == (
        "The file session-assets/ab/gone.png is missing from storage."
    )
    assert not store.exists("session-assets", "ab/gone.png")


def test_studio_buckets_are_prefixes_inside_one_s3_bucket(store: S3Storage) -> None:
    store.put("session-assets", "ab/one.png", b"1", "image/png")
    store.put("session-assets", "ab/two.png", b"2", "image/png")
    store.put("session-assets", "cd/three.png", b"3", "image/png")
    store.put("storyboard-images", "ab/other.png", b"4", "image/png")

    assert store.keys("session-assets") == ["ab/one.png", "ab/two.png", "cd/three.png"]
    assert store.keys("session-assets", "ab/") == ["ab/one.png", "ab/two.png"]
    assert store.keys("session-assets", "ab/t") == ["ab/two.png"]
    assert store.keys("storyboard-images") == ["ab/other.png"]
    assert store.keys("verse-illustrations") == []
    assert raw_keys(store) == [
        "studio/session-assets/ab/one.png",
        "studio/session-assets/ab/two.png",
        "studio/session-assets/cd/three.png",
        "studio/storyboard-images/ab/other.png",
    ]


def test_keys_are_listed_past_one_page(store: S3Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    names = [f"k{i:02d}.png" for i in range(7)]
    for name in reversed(names):
        store.put("session-assets", name, b"", "image/png")
    store.put("session-assets-2", "k99.png", b"", "image/png")  # a sibling bucket, not listed
    store._client.put_object(Bucket=store.s3_bucket, Key="studio/session-assets/folder/")
    monkeypatch.setattr(store, "list_page_size", 2)
    assert store.keys("session-assets") == names


def test_url_is_a_presigned_link_the_server_honours(store: S3Storage) -> None:
    store.put("session-assets", "ab/abc.png", b"png-bytes", "image/png")
    url = store.url("session-assets", "ab/abc.png")
    assert url is not None and "X-Amz-Signature=" in url
    assert "/studio/session-assets/ab/abc.png" in url
    with urllib.request.urlopen(url, timeout=10) as response:  # a loopback server
        assert response.read() == b"png-bytes"


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
def test_key_checks_still_apply(store: S3Storage, key: str) -> None:
    with pytest.raises(StorageError, match="Invalid storage key"):
        store.put("session-assets", key, b"x", "text/plain")
    with pytest.raises(StorageError, match="Invalid storage key"):
        store.get("session-assets", key)
    with pytest.raises(StorageError, match="Invalid storage key"):
        store.exists("session-assets", key)
    with pytest.raises(StorageError, match="Invalid storage key"):
        store.delete("session-assets", key)
    assert raw_keys(store) == []


@pytest.mark.parametrize("studio_bucket", ["..", "../up", "Upper", "a/b", ""])
def test_bucket_checks_still_apply(store: S3Storage, studio_bucket: str) -> None:
    with pytest.raises(StorageError, match="Invalid bucket"):
        store.put(studio_bucket, "k.png", b"x", "image/png")
    with pytest.raises(StorageError, match="Invalid bucket"):
        store.keys(studio_bucket)
    assert raw_keys(store) == []


def test_a_bucket_that_does_not_exist_is_a_clear_error(endpoint: str) -> None:
    store = make_storage("s3://no-such-studio-bucket", s3_endpoint_url=endpoint)
    for call in (
        lambda: store.put("session-assets", "ab/abc.png", b"x", "image/png"),
        lambda: store.get("session-assets", "ab/abc.png"),
        lambda: store.keys("session-assets"),
    ):
        with pytest.raises(StorageError) as caught:
            call()
        message = caught.value.user_message
        assert "'no-such-studio-bucket' does not exist" in message
        assert "STUDIO_STORAGE_URL" in message and "STUDIO_S3_ENDPOINT_URL" in message
        assert endpoint in message


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_endpoint_is_a_clear_error() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    store = S3Storage("s3://studio-media", endpoint_url=dead, max_attempts=2, connect_timeout=1)
    with pytest.raises(StorageError) as caught:
        store.put("session-assets", "ab/abc.png", b"x", "image/png")
    message = caught.value.user_message
    assert f"Could not reach the S3 endpoint {dead}" in message
    assert "STUDIO_STORAGE_URL / STUDIO_S3_ENDPOINT_URL" in message
    assert caught.value.error_class == "temporary"  # a job that hits it is retried later


def test_missing_credentials_are_a_clear_error(
    endpoint: str, bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    store = make_storage(f"s3://{bucket}", s3_endpoint_url=endpoint)
    with pytest.raises(StorageError, match="no usable credentials.*AWS_ACCESS_KEY_ID"):
        store.get("session-assets", "ab/abc.png")


def test_refused_credentials_are_a_clear_error(store: S3Storage) -> None:
    # moto accepts any key, so feed the mapping the error a real store returns.
    refused = ClientError(
        {"Error": {"Code": "InvalidAccessKeyId", "Message": "The key does not exist."}},
        "PutObject",
    )
    message = store._error(refused, "store", "session-assets", "ab/abc.png").user_message
    assert "S3 refused to store session-assets/ab/abc.png" in message
    assert "InvalidAccessKeyId" in message and "AWS_ACCESS_KEY_ID" in message
    assert "STUDIO_STORAGE_URL / STUDIO_S3_ENDPOINT_URL" in message


@pytest.mark.parametrize(
    "url, message",
    [
        ("s3://", "invalid S3 bucket"),
        ("s3://Upper_Case", "invalid S3 bucket"),
        ("s3://ab", "invalid S3 bucket"),
        ("s3://key:secret@bucket", "no credentials"),
        ("s3://bucket/../up", "invalid prefix"),
        ("s3://bucket/a//b", "invalid prefix"),
    ],
)
def test_bad_storage_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        make_storage(url)


def test_storage_url_prefix_is_optional() -> None:
    assert parse_s3_url("s3://studio-media") == ("studio-media", "")
    assert parse_s3_url("s3://studio-media/") == ("studio-media", "")
    assert parse_s3_url("s3://studio-media/prod/eu") == ("studio-media", "prod/eu")


def test_a_bad_endpoint_url_is_a_clear_error() -> None:
    with pytest.raises(StorageError, match="STUDIO_S3_ENDPOINT_URL .* not a usable endpoint"):
        make_storage("s3://studio-media", s3_endpoint_url="not a url")


def test_missing_boto3_asks_for_the_s3_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules["studio.storage.s3"], "boto3", None)
    with pytest.raises(StorageError, match=r"pip install 'image-studio\[s3\]'"):
        make_storage("s3://studio-media")


# ---------------------------------------------------------------------------------------------


def test_session_generation_stores_its_output_in_s3(
    tmp_path: Path, db_url: str, endpoint: str, bucket: str
) -> None:
    settings = make_settings(
        tmp_path, db_url, storage_url=f"s3://{bucket}/run", s3_endpoint_url=endpoint
    )
    services = Services.build(settings)
    try:
        assert isinstance(services.storage, S3Storage)
        session, gen = S.create_session(
            services,
            "alice",
            S.GenerationParams(prompt="a lighthouse on a cliff", width=64, height=64),
            idempotency_key=str(uuid.uuid4()),
        )
        outcome = process_next(services, "test")
        assert outcome is not None and outcome.status == "completed"

        view = S.get_session(services, "alice", session.id)
        [output] = view.generations[0].outputs
        assert output.bucket == settings.sessions_bucket
        stored = services.storage.get(output.bucket, output.key)
        assert stored.startswith(b"\x89PNG")
        assert not (tmp_path / "media").exists()  # nothing went to the local disk
        s3_keys = raw_keys(services.storage)  # type: ignore[arg-type]
        assert f"run/{output.bucket}/{output.key}" in s3_keys
        assert f"run/{output.bucket}/{output.thumbnail_key}" in s3_keys
    finally:
        services.close()
