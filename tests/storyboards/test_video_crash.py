"""Pay once for a video: a real `studio worker` process is killed (SIGKILL) while it polls a
Veo operation on the fake; another worker resumes that operation. The fake counts submissions."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa

from db.schema import ImageAsset, Job, UsageLedger
from studio import storyboards as sb
from studio.jobs.reads import list_jobs
from studio.services import Services
from tests.conftest import make_settings
from tests.providers.fakes import FAKE_MP4, GoogleFake

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _worker(name: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-c", "from studio.cli import main; raise SystemExit(main())"]
    command += ["worker", "--concurrency", "1", "--name", name]
    with log.open("ab") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def _until(what: str, check: Callable[[], bool], timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.1)


def test_a_killed_worker_never_pays_twice_for_a_video(
    tmp_path: Path, db_url: str, engine: sa.Engine
) -> None:
    with GoogleFake(pending_polls=10**6) as fake:  # the video stays "in progress" until told
        settings = make_settings(
            tmp_path, db_url, google_vertex_api_key=fake.vertex_key, google_base_url=fake.url
        )
        services = Services.build(settings, engine=engine, migrate=False)
        board = sb.create_storyboard(services, "local", "Harbour")
        scene = sb.add_entity(services, "local", board.id, kind="scene", name="Quay")
        gen = sb.request_video(
            services, "local", prompt="Boats at dawn", entity_id=scene.id,
            provider="google", model="veo-3.1-fast-generate-preview", idempotency_key="crash-1",
        )  # fmt: skip
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "STUDIO_DATABASE_URL": db_url,
            "STUDIO_STORAGE_URL": settings.storage_url,
            "STUDIO_EMBEDDED_WORKER": "false",
            "STUDIO_LEASE_SECONDS": "2",
            "STUDIO_VIDEO_POLL_SECONDS": "0.2",
            "GOOGLE_VERTEX_API_KEY": fake.vertex_key,
            "GOOGLE_BASE_URL": fake.url,
        }
        log = tmp_path / "workers.log"

        victim = _worker("victim", env, log)
        try:
            _until(
                "the victim polls its submitted operation", lambda: fake.count(":fetchPredict") >= 2
            )
            stored = services.queue.get(gen.job_id).provider_operation
            assert stored is not None and len(fake.submissions) == 1
        finally:
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait(30)
        fake.operations[stored] = 0  # Veo finishes the video meanwhile

        rescuer = _worker("rescuer", env, log)
        try:
            _until(
                "the job completes", lambda: services.queue.get(gen.job_id).status == "completed"
            )
        finally:
            rescuer.send_signal(signal.SIGTERM)
            rescuer.wait(60)

        output = log.read_text()
        assert len(fake.submissions) == 1, output  # paid once
        job = services.queue.get(gen.job_id)
        assert job.attempts == 2 and job.provider_operation == stored
        assert job.result["resumed_provider_operation"] is True
        [row] = [r for r in list_jobs(services.engine) if r.id == gen.job_id]
        assert row.operation_note == "resumed provider operation"
        with services.db() as db:
            videos = db.scalars(
                sa.select(ImageAsset).where(ImageAsset.mime_type.like("video/%"))
            ).all()
            ledger = db.scalars(sa.select(UsageLedger)).all()
            completed = db.scalar(
                sa.select(sa.func.count()).select_from(Job).where(Job.status == "completed")
            )
        assert (
            len(videos) == 1 and services.storage.get(videos[0].bucket, videos[0].key) == FAKE_MP4
        )
        assert len(ledger) == 1 and ledger[0].cost_actual == pytest.approx(0.15 * 8)
        assert completed == 1
        assert "Traceback" not in output, output
