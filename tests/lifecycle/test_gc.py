"""`studio gc` (studio/lifecycle/gc.py): files no row references and rows whose file is missing,
on local disk and on S3 (moto on 127.0.0.1), and a worker killed between storing an output and
committing it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from db.schema import ImageAsset, ImageGeneration
from db.types import utcnow
from studio import sessions as S
from studio.cli import main as studio_main
from studio.jobs.worker import process_next
from studio.lifecycle import gc
from studio.services import Services
from tests.conftest import make_settings
from tests.helpers.noise_provider import use_noise_provider

ROOT = Path(__file__).resolve().parents[2]
OWNER = "local"


def params(prompt: str = "a lighthouse") -> S.GenerationParams:
    return S.GenerationParams(prompt=prompt, width=64, height=64)


def make_step(services: Services, prompt: str = "a lighthouse") -> None:
    S.create_session(services, OWNER, params(prompt), idempotency_key=str(uuid.uuid4()))
    while process_next(services, "test") is not None:
        pass


def age_everything(root: Path, hours: float = 2) -> None:
    """Make every stored file look `hours` old (gc --delete spares younger ones)."""
    old = (utcnow() - timedelta(hours=hours)).timestamp()
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (old, old))


def test_a_clean_studio_has_nothing_to_collect(services: Services) -> None:
    make_step(services)
    report = gc.collect(services)
    assert not report.found and report.orphans == [] and report.missing == []


def test_gc_lists_orphans_and_missing_files_and_deletes_only_old_orphans(
    services: Services, tmp_path: Path
) -> None:
    make_step(services)
    bucket = services.settings.sessions_bucket
    services.storage.put(bucket, "zz/orphan.png", b"nobody's", "image/png")
    with services.db() as db:
        asset = db.scalars(sa.select(ImageAsset).where(ImageAsset.role == "output")).one()
        lost_key, asset_id = asset.key, asset.id
    services.storage.delete(bucket, lost_key)

    report = gc.collect(services)
    assert report.found
    assert [(o.bucket, o.file.key) for o in report.orphans] == [(bucket, "zz/orphan.png")]
    assert [(m.asset_id, m.key, m.what) for m in report.missing] == [(asset_id, lost_key, "file")]

    young = gc.collect(services, delete=True)  # the orphan is seconds old: work in flight?
    assert young.deleted == [] and young.kept_young == 1
    assert services.storage.exists(bucket, "zz/orphan.png")

    age_everything(tmp_path / "media")
    done = gc.collect(services, delete=True)
    assert done.deleted == [(bucket, "zz/orphan.png")]
    assert not services.storage.exists(bucket, "zz/orphan.png")
    assert gc.collect(services).orphans == []


def test_the_gc_command_exits_1_when_it_finds_something(
    services: Services, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUDIO_DATABASE_URL", services.settings.database_url)
    monkeypatch.setenv("STUDIO_STORAGE_URL", services.settings.storage_url)
    make_step(services)
    assert studio_main(["gc"]) == 0
    services.storage.put(services.settings.sessions_bucket, "zz/orphan.png", b"x", "image/png")
    assert studio_main(["gc"]) == 1
    out = capsys.readouterr().out
    assert "orphan  session-assets/zz/orphan.png" in out
    assert "1 file(s) no row references, 0 row(s) whose file is missing." in out


@pytest.mark.slow
def test_a_worker_killed_between_storing_and_committing_leaves_exactly_one_orphan(
    tmp_path: Path, db_url: str, engine: sa.Engine
) -> None:
    settings = make_settings(tmp_path, db_url, lease_seconds=1)
    services = Services.build(settings, engine=engine, migrate=False)
    use_noise_provider(services)
    make_step(services, "a first image")  # a finished step whose files must stay
    session, gen = S.create_session(services, OWNER, params("a harbour"), idempotency_key="crash")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "STUDIO_DATABASE_URL": db_url,
        "STUDIO_STORAGE_URL": settings.storage_url,
        "STUDIO_EMBEDDED_WORKER": "false",
        "STUDIO_LEASE_SECONDS": "1",
    }
    victim = subprocess.run(
        [sys.executable, "-m", "tests.helpers.gc_crash_worker"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert victim.returncode == -9, victim.stdout + victim.stderr  # SIGKILL
    assert b"STORED" in victim.stdout

    orphans = gc.collect(services).orphans
    assert len(orphans) == 2  # the output and its thumbnail, which no row references
    assert {o.file.key.startswith("thumbs/") for o in orphans} == {True, False}

    # the job comes back after its lease and succeeds with different bytes
    import time

    deadline = time.monotonic() + 30
    while services.queue.reap() == 0:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert process_next(services, "rescuer").status == "completed"  # type: ignore[union-attr]
    with services.db() as db:
        assert db.get(ImageGeneration, gen.id).completed_at is not None  # type: ignore[union-attr]

    report = gc.collect(services)
    assert {(o.bucket, o.file.key) for o in report.orphans} == {
        (o.bucket, o.file.key) for o in orphans
    }  # exactly the killed worker's files
    assert report.missing == []
    before = set(services.storage.keys(settings.sessions_bucket))
    age_everything(tmp_path / "media")
    deleted = gc.collect(services, delete=True).deleted
    assert set(deleted) == {(o.bucket, o.file.key) for o in orphans}
    after = set(services.storage.keys(settings.sessions_bucket))
    assert before - after == {o.file.key for o in orphans}  # and nothing else
    assert not gc.collect(services).found
    S.get_session(services, OWNER, session.id)  # every row still finds its file


# ---------------------------------------------------------------------------------------------
# S3
# ---------------------------------------------------------------------------------------------

moto_server = pytest.importorskip("moto.server", reason="S3 tests need moto[server] (.[dev])")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_services(
    endpoint: str, tmp_path: Path, db_url: str, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> Services:
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    import boto3

    name = f"studio-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=name)
    settings = make_settings(
        tmp_path, db_url, storage_url=f"s3://{name}/studio", s3_endpoint_url=endpoint
    )
    return Services.build(settings, engine=engine, migrate=False)


def test_gc_on_s3(s3_services: Services) -> None:
    services = s3_services
    make_step(services)
    bucket = services.settings.sessions_bucket
    assert not gc.collect(services).found
    services.storage.put(bucket, "zz/orphan.png", b"nobody's", "image/png")
    report = gc.collect(services)
    assert [(o.bucket, o.file.key) for o in report.orphans] == [(bucket, "zz/orphan.png")]
    assert gc.collect(services, delete=True).deleted == []  # just written
    later: Any = utcnow() + timedelta(hours=2)
    assert gc.collect(services, delete=True, now=later).deleted == [(bucket, "zz/orphan.png")]
    assert not gc.collect(services).found
