"""Pages with S3 storage: images come from short-lived presigned links the browser fetches
from the store itself; the app server reads no media bytes to show them."""

from __future__ import annotations

import shutil
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from studio import sessions
from studio.config import DEMO_OWNER, Settings
from studio.jobs.worker import process_next
from studio.services import Services
from studio.storage.s3 import S3Storage
from tests.storage.test_s3 import admin, bucket, dummy_aws_env, endpoint  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def s3_services(
    tmp_path: Path,
    sqlite_template: Path,
    monkeypatch: pytest.MonkeyPatch,
    endpoint: str,  # noqa: F811
    bucket: str,  # noqa: F811
) -> Services:
    db = tmp_path / "app.db"
    shutil.copy(sqlite_template, db)
    monkeypatch.setenv("STUDIO_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("STUDIO_STORAGE_URL", f"s3://{bucket}/pages")
    monkeypatch.setenv("STUDIO_S3_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("STUDIO_MEDIA_URL_SECONDS", "900")
    monkeypatch.setenv("STUDIO_EMBEDDED_WORKER", "false")
    monkeypatch.chdir(ROOT)
    return Services.build(Settings(_env_file=None), migrate=False)  # type: ignore[call-arg]


def test_the_session_page_shows_images_from_presigned_links(
    s3_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    session, _ = sessions.create_session(
        s3_services,
        DEMO_OWNER,
        sessions.GenerationParams(prompt="a lighthouse", width=128, height=128),
        idempotency_key="s3",
    )
    assert process_next(s3_services, "test").status == "completed"
    reads: list[str] = []
    original_get = S3Storage.get

    def counting_get(self: S3Storage, studio_bucket: str, key: str) -> bytes:
        reads.append(key)
        return original_get(self, studio_bucket, key)

    monkeypatch.setattr(S3Storage, "get", counting_get)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.query_params["session"] = session.id
    app.switch_page("pages/session.py").run()
    assert not app.exception
    urls = [img.url for element in app.get("image") + app.get("imgs") for img in element.proto.imgs]
    assert len(urls) >= 2  # the viewer and the history's thumbnail
    for url in urls:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        assert query["X-Amz-Expires"] == ["900"] and "X-Amz-Signature" in query
        with urllib.request.urlopen(url, timeout=10) as answer:  # the browser's fetch
            assert answer.read(4) in (b"\x89PNG", b"RIFF")  # the image, or its WebP thumbnail
    assert reads == [], "no media bytes passed through the app server"
