"""The storyboard jobs (studio/storyboards/jobs.py) on both databases: the four modes against the
fake Google server (real google-genai SDK; Veo operations pending → done), heartbeats through a
long video job, a crashed video worker's job picked up again, and all-or-nothing commits."""

from __future__ import annotations

import dataclasses
import io
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from db.schema import ImageAsset, Job, StoryboardEntity, UsageLedger
from db.types import utcnow
from studio import storyboards as sb
from studio.jobs.queue import LeaseLost
from studio.jobs.worker import process_next, run_claimed
from studio.services import Services
from tests.conftest import make_settings
from tests.providers.conftest import google_adapter
from tests.providers.fakes import FAKE_MP4, FAKE_PNG, GoogleFake, decode_b64_any

OWNER = "alice"


@pytest.fixture
def google_fake() -> Iterator[GoogleFake]:
    with GoogleFake(pending_polls=2) as fake:
        yield fake


def google_services(
    tmp_path: Path, db_url: str, engine: sa.Engine, fake: GoogleFake, poll: float = 0.02
) -> Services:
    settings = make_settings(
        tmp_path,
        db_url,
        google_api_key=fake.api_key,
        google_vertex_api_key=fake.vertex_key,
        google_base_url=fake.url,
    )
    services = Services.build(settings, engine=engine, migrate=False)
    # Fast polling and no SDK retries against the fake (the defaults poll Veo every 10 s).
    fast = google_adapter(fake, timeout=10, poll_interval=poll)
    services.providers = [
        dataclasses.replace(s, provider=fast) if s.name == "google" else s
        for s in services.providers
    ]
    return services


def scene(services: Services) -> tuple[str, str]:
    board = sb.create_storyboard(services, OWNER, "Savannah")
    entity = sb.add_entity(
        services, OWNER, board.id, kind="scene", name="Lion", description="A lion at golden hour"
    )
    return board.id, entity.id


def entity_view(services: Services, board_id: str, entity_id: str) -> sb.EntityView:
    return sb.get_storyboard(services, OWNER, board_id).entity(entity_id)


def test_google_is_the_default_when_configured(
    tmp_path: Path, db_url: str, engine: sa.Engine, google_fake: GoogleFake
) -> None:
    services = google_services(tmp_path, db_url, engine, google_fake)
    [first, *_] = sb.model_choices(services, "image", "text_to_image")
    assert (first.provider, first.model) == ("google", "gemini-2.5-flash-image")
    [first, *_] = sb.model_choices(services, "video", "image_to_video")
    assert (first.provider, first.model) == ("google", "veo-3.1-fast-generate-preview")
    assert any(c.provider == "local" for c in sb.model_choices(services, "video", "text_to_video"))
    assert first.price.endswith("/ s") and first.estimate and first.estimate > 0


def test_all_four_modes_with_google(
    tmp_path: Path, db_url: str, engine: sa.Engine, google_fake: GoogleFake
) -> None:
    services = google_services(tmp_path, db_url, engine, google_fake)
    board_id, entity_id = scene(services)

    # text-to-image: Gemini generateContent
    sb.request_image(
        services, OWNER, prompt="A lion at golden hour", entity_id=entity_id, idempotency_key="img"
    )
    assert process_next(services, "w").status == "completed"
    sent = google_fake.last(":generateContent")
    assert "gemini-2.5-flash-image" in sent.path
    assert sent.json["contents"][-1]["parts"][0]["text"] == "A lion at golden hour"
    assert sent.json["generationConfig"]["imageConfig"]["aspectRatio"] == "16:9"
    view = entity_view(services, board_id, entity_id)
    stored = Image.open(io.BytesIO(services.storage.get(view.image.bucket, view.image.key)))
    assert (
        stored.convert("RGB").tobytes() == Image.open(io.BytesIO(FAKE_PNG)).convert("RGB").tobytes()
    )

    # image-to-image: the current image goes with the prompt
    sb.request_edit(services, OWNER, prompt="Add rain", entity_id=entity_id, idempotency_key="ed")
    assert process_next(services, "w").status == "completed"
    parts = google_fake.last(":generateContent").json["contents"][-1]["parts"]
    inline = next(p.get("inlineData") or p.get("inline_data") for p in parts if "text" not in p)
    sent_source = Image.open(io.BytesIO(decode_b64_any(inline["data"])))
    assert sent_source.size == (8, 8)

    # text-to-video: Veo predictLongRunning, polled until done (2 pending answers first)
    sb.request_video(
        services,
        OWNER,
        prompt="The lion walks",
        entity_id=entity_id,
        options=sb.VideoOptions("9:16", 6, "1080p"),
        idempotency_key="vid",
    )
    assert process_next(services, "w").status == "completed"
    start = google_fake.last(":predictLongRunning")
    assert "veo-3.1-fast-generate-preview" in start.path
    instance, parameters = start.json["instances"][0], start.json["parameters"]
    assert instance["prompt"] == "The lion walks" and "image" not in instance
    # Veo makes 1080p only at 8 s: the 6 s asked for are sent (and billed) as 8 s.
    assert (parameters["aspectRatio"], parameters["durationSeconds"], parameters["resolution"]) == (
        "9:16",
        8,
        "1080p",
    )
    polls = [r for r in google_fake.requests if r.path.endswith(":fetchPredictOperation")]
    assert len(polls) == 3  # pending, pending, done
    view = entity_view(services, board_id, entity_id)
    assert view.video.bucket == "storyboard-videos" and view.video.mime_type == "video/mp4"
    assert services.storage.get(view.video.bucket, view.video.key) == FAKE_MP4

    # image-to-video: the current image is the Veo source
    sb.request_animate(
        services,
        OWNER,
        entity_id=entity_id,
        prompt="Slow zoom",
        options=sb.VideoOptions("16:9", 4, "720p"),
        idempotency_key="anim",
    )
    assert process_next(services, "w").status == "completed"
    instance = google_fake.last(":predictLongRunning").json["instances"][0]
    assert instance["prompt"] == "Slow zoom"
    assert Image.open(io.BytesIO(decode_b64_any(instance["image"]["bytesBase64Encoded"]))).size == (
        8,
        8,
    )

    with services.db() as db:
        ledger = db.scalars(sa.select(UsageLedger).order_by(UsageLedger.created_at)).all()
    assert [(r.kind, r.provider) for r in ledger] == [
        ("storyboard_image", "google"),
        ("storyboard_image", "google"),
        ("storyboard_video", "google"),
        ("storyboard_video", "google"),
    ]
    assert ledger[2].cost_estimate == ledger[2].cost_actual == pytest.approx(0.15 * 8)
    assert ledger[3].cost_estimate == ledger[3].cost_actual == pytest.approx(0.15 * 4)
    assert ledger[0].usage["candidates_token_count"] == 1290 + 8  # image and text tokens
    assert google_fake.refused == []
    assert len(entity_view(services, board_id, entity_id).history("video")) == 1


def test_a_failed_veo_operation_fails_the_request(
    tmp_path: Path, db_url: str, engine: sa.Engine, google_fake: GoogleFake
) -> None:
    from tests.providers.fakes import Reply

    services = google_services(tmp_path, db_url, engine, google_fake)
    board_id, entity_id = scene(services)
    sb.request_video(services, OWNER, prompt="x", entity_id=entity_id, idempotency_key="v")
    google_fake.enqueue(
        Reply(200, {"name": "n", "done": True, "error": {"code": 3, "message": "Bad prompt."}}),
        path=":fetchPredictOperation",
    )
    assert process_next(services, "w").status == "failed"
    failure = entity_view(services, board_id, entity_id).last_failure("video")
    assert failure.error == "Bad prompt." and failure.state.error_class == "permanent"


def test_video_job_heartbeats_while_veo_works(
    tmp_path: Path, db_url: str, engine: sa.Engine
) -> None:
    """A 2.5 s Veo operation against a 1 s lease: heartbeats keep it; the reaper never takes it."""
    with GoogleFake(pending_polls=10) as fake:
        services = google_services(tmp_path, db_url, engine, fake, poll=0.25)
        services.queue.lease_seconds = 1
        _, entity_id = scene(services)
        gen = sb.request_video(
            services, OWNER, prompt="x", entity_id=entity_id, idempotency_key="long"
        )
        beats: set[object] = set()
        reaped: list[int] = []
        stop = threading.Event()

        def watch() -> None:
            while not stop.is_set():
                reaped.append(services.queue.reap())
                row = services.queue.get(gen.job_id)
                if row.status == "running":
                    beats.add(row.heartbeat_at)
                time.sleep(0.1)

        watcher = threading.Thread(target=watch)
        watcher.start()
        started = time.monotonic()
        try:
            outcome = process_next(services, "w", reap=False)
        finally:
            stop.set()
            watcher.join()
        assert time.monotonic() - started > 2 * services.queue.lease_seconds
        assert outcome.status == "completed"
        assert sum(reaped) == 0 and len(beats) >= 3
        job = services.queue.get(gen.job_id)
        assert job.attempts == 1 and job.status == "completed"


def test_a_crashed_video_workers_job_is_picked_up_again(services: Services) -> None:
    board_id, entity_id = scene(services)
    gen = sb.request_video(
        services,
        OWNER,
        prompt="Waves",
        entity_id=entity_id,
        options=sb.VideoOptions(duration_s=4),
        idempotency_key="crash",
    )
    crashed = services.queue.claim("worker-that-died")
    assert crashed is not None and crashed.id == gen.job_id
    # The worker dies: no more heartbeats, the lease runs out.
    with services.db() as db:
        db.execute(
            sa.update(Job)
            .where(Job.id == gen.job_id)
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    outcome = process_next(services, "second-worker")  # reaps, then claims it again
    assert outcome is not None and outcome.job_id == gen.job_id and outcome.status == "completed"
    job = services.queue.get(gen.job_id)
    assert job.attempts == 2 and job.status == "completed"
    assert entity_view(services, board_id, entity_id).video is not None
    # Should the first worker wake up, its result is refused.
    with pytest.raises(LeaseLost):
        services.queue.finish(crashed, result={"late": True})
    assert services.queue.get(gen.job_id).result["asset_id"]


def test_outputs_and_entity_commit_together_or_not_at_all(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    import studio.jobs.outputs as outputs_module

    board_id, entity_id = scene(services)
    sb.request_image(services, OWNER, prompt="x", entity_id=entity_id, idempotency_key="atomic")

    def broken_ledger(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database hiccup while writing the ledger")

    monkeypatch.setattr(outputs_module, "UsageLedger", broken_ledger)
    outcome = process_next(services, "w")
    assert outcome.status == "pending"  # unknown errors are retried
    with services.db() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(ImageAsset)) == 0
        entity = db.get_one(StoryboardEntity, entity_id)
        assert entity.image_asset_id is None and entity.image_generated_at is None
    monkeypatch.undo()
    with services.db() as db:
        db.execute(sa.update(Job).values(run_after=utcnow()))
    assert process_next(services, "w").status == "completed"
    view = entity_view(services, board_id, entity_id)
    assert view.image is not None and view.image_generation.status == "succeeded"


def test_a_lost_lease_discards_the_result(services: Services) -> None:
    board_id, entity_id = scene(services)
    gen = sb.request_image(services, OWNER, prompt="x", entity_id=entity_id, idempotency_key="l")
    claimed = services.queue.claim("slow-worker")
    services.queue.clear(claimed.id)  # an editor cleared it while the worker was busy
    outcome = run_claimed(services, services.queue, claimed)
    assert outcome.status == "lost"
    with services.db() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(ImageAsset)) == 0
    assert entity_view(services, board_id, entity_id).image is None
    assert services.queue.get(gen.job_id).status == "failed"


def test_cancel_while_a_video_renders(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    from studio.providers.local import LocalProvider

    started, release = threading.Event(), threading.Event()
    real = LocalProvider.finish_video

    def slow(self, model, operation, request, heartbeat=None):  # type: ignore[no-untyped-def]
        started.set()
        release.wait(10)
        return real(self, model, operation, request, heartbeat)

    monkeypatch.setattr(LocalProvider, "finish_video", slow)
    board_id, entity_id = scene(services)
    gen = sb.request_video(
        services,
        OWNER,
        prompt="x",
        entity_id=entity_id,
        options=sb.VideoOptions(duration_s=4),
        idempotency_key="c",
    )
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(process_next(services, "w")))
    worker.start()
    assert started.wait(10)
    assert services.queue.cancel(gen.job_id) == "running"
    release.set()
    worker.join(20)
    assert result[0].status == "canceled"
    view = entity_view(services, board_id, entity_id)
    assert view.video is None and view.generations[0].status == "canceled"


def _due_now(services: Services) -> None:
    with services.db() as db:
        db.execute(sa.update(Job).values(run_after=utcnow()))


def test_a_retried_video_job_resumes_its_operation_instead_of_paying_again(
    tmp_path: Path, db_url: str, engine: sa.Engine, google_fake: GoogleFake
) -> None:
    from studio.jobs.reads import list_jobs
    from tests.providers.fakes import google_error

    services = google_services(tmp_path, db_url, engine, google_fake)
    board_id, entity_id = scene(services)
    gen = sb.request_video(services, OWNER, prompt="x", entity_id=entity_id, idempotency_key="r")
    # The submission goes through; polling then meets an outage: the job goes back to the queue.
    google_fake.enqueue(google_error(503, "The service is unavailable."), path=":fetchPredict")
    assert process_next(services, "w1").status == "pending"
    job = services.queue.get(gen.job_id)
    assert job.provider_operation.endswith("/operations/op-1") and job.provider_operation_at
    assert len(google_fake.submissions) == 1
    _due_now(services)
    assert process_next(services, "w2").status == "completed"
    assert len(google_fake.submissions) == 1  # polled again, never submitted again
    job = services.queue.get(gen.job_id)
    assert job.result["resumed_provider_operation"] is True and job.attempts == 2
    [row] = list_jobs(services.engine)
    assert row.operation_note == "resumed provider operation"
    assert entity_view(services, board_id, entity_id).video is not None
    with services.db() as db:
        ledger = db.scalars(sa.select(UsageLedger)).all()
    assert len(ledger) == 1 and ledger[0].cost_actual == pytest.approx(0.15 * 8)


def test_requeue_resumes_an_operation_unless_it_failed_for_good(
    tmp_path: Path, db_url: str, engine: sa.Engine, google_fake: GoogleFake
) -> None:
    from tests.providers.fakes import Reply, google_error

    services = google_services(tmp_path, db_url, engine, google_fake)
    services.queue.max_attempts = 1
    _, entity_id = scene(services)
    # Polling kept failing until the attempts ran out: requeued, the operation is resumed.
    first = sb.request_video(services, OWNER, prompt="x", entity_id=entity_id, idempotency_key="a")
    google_fake.enqueue(google_error(503, "Unavailable."), path=":fetchPredict")
    assert process_next(services, "w").status == "failed"
    services.queue.requeue(first.job_id)
    assert process_next(services, "w").status == "completed"
    assert len(google_fake.submissions) == 1
    # The operation itself failed: requeued, the job starts a new one.
    second = sb.request_video(services, OWNER, prompt="y", entity_id=entity_id, idempotency_key="b")
    failed = {"name": "n", "done": True, "error": {"code": 3, "message": "Bad prompt."}}
    google_fake.enqueue(Reply(200, failed), path=":fetchPredict")
    assert process_next(services, "w").status == "failed"
    services.queue.requeue(second.job_id)
    assert services.queue.get(second.job_id).provider_operation is None
    assert process_next(services, "w").status == "completed"
    assert len(google_fake.submissions) == 3
