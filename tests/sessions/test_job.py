"""The `session_generation` job (studio/sessions/job.py) on both databases."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import numpy as np
import pytest
import sqlalchemy as sa
from PIL import Image

from db.schema import ImageAsset, ImageGeneration, Job, UsageLedger
from db.types import utcnow
from studio import sessions as S
from studio.jobs.worker import JobOutcome, process_next
from studio.providers.base import ImageRequest, ImageResult, ProviderError
from studio.providers.local import LocalProvider
from studio.services import Services
from studio.sessions.job import GONE

OWNER = "alice"


def params(prompt: str = "a lighthouse on a cliff", **kw: object) -> S.GenerationParams:
    kw.setdefault("width", 64)
    kw.setdefault("height", 64)
    return S.GenerationParams(prompt=prompt, **kw)  # type: ignore[arg-type]


def key() -> str:
    return str(uuid.uuid4())


def run_one(services: Services, **kw: object) -> JobOutcome:
    outcome = process_next(services, "test", **kw)  # type: ignore[arg-type]
    assert outcome is not None
    return outcome


def generation(services: Services, gen_id: str) -> S.GenerationView:
    """The step as its page shows it (state from its job)."""
    with services.db() as db:
        session_id = db.get_one(ImageGeneration, gen_id).session_id
    return S.get_session(services, OWNER, session_id).by_id[gen_id]


def rows(services: Services, model: type) -> list:
    with services.db() as db:
        return list(db.scalars(sa.select(model)).all())


def pixels(services: Services, asset: ImageAsset) -> np.ndarray:
    return np.asarray(
        Image.open(io.BytesIO(services.storage.get(asset.bucket, asset.key))).convert("RGB")
    )


def png(color: tuple[int, int, int], w: int = 64, h: int = 64) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), color).save(buf, "PNG")
    return buf.getvalue()


def raising(error_class: str, message: str, **kw: object):  # type: ignore[no-untyped-def]
    def generate(self, model, request):  # type: ignore[no-untyped-def]
        raise ProviderError(error_class, message, **kw)  # type: ignore[arg-type]

    return generate


def make_due(services: Services, job_id: str) -> None:
    with services.db() as db:
        db.execute(
            sa.update(Job).where(Job.id == job_id).values(run_after=utcnow() - timedelta(seconds=1))
        )


# ---------------------------------------------------------------------------------------------


def test_job_moves_through_stages_and_commits_everything_together(services: Services) -> None:
    session, gen = S.create_session(services, OWNER, params(), idempotency_key=key())
    stages: list[str] = []
    outcome = run_one(services, on_stage=lambda job, stage: stages.append(stage))
    assert outcome.status == "completed" and outcome.label == f"Step 1 · {session.title}"
    assert stages == ["processing", "generating", "uploading"]

    done = generation(services, gen.id)
    assert done.status == "succeeded" and done.error is None
    produced = done.generation
    assert produced.started_at is not None and produced.completed_at >= produced.started_at
    assert produced.duration_ms is not None and produced.duration_ms >= 0
    [output] = [a for a in rows(services, ImageAsset) if a.role == "output"]
    assert output.generation_id == gen.id and output.session_id == session.id
    assert output.owner_id == OWNER and output.thumbnail_key
    assert services.storage.exists(output.bucket, output.key)

    job = services.queue.get(gen.job_id)
    assert job.status == "completed" and job.stage == "completed"
    assert job.result["asset_ids"] == [output.id] and job.cost_actual == 0.0
    [ledger] = rows(services, UsageLedger)
    assert (ledger.job_id, ledger.owner_id, ledger.kind) == (job.id, OWNER, "session_generation")
    assert (ledger.provider, ledger.model, ledger.units, ledger.cost_actual) == (
        "local",
        "sketch",
        1.0,
        0.0,
    )
    view = S.get_session(services, OWNER, session.id)
    assert view.session.thumbnail_asset_id == output.id


def test_several_images_per_step(services: Services) -> None:
    session, gen = S.create_session(services, OWNER, params(n=2, seed=5), idempotency_key=key())
    run_one(services)
    view = S.get_session(services, OWNER, session.id)
    outputs = view.generations[0].outputs
    assert len(outputs) == 2 and outputs[0].sha256 != outputs[1].sha256
    assert view.thumbnail.id == outputs[-1].id
    [ledger] = rows(services, UsageLedger)
    assert ledger.units == 2.0


def test_permanent_provider_error_fails_the_step(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        LocalProvider, "generate_image", raising("permanent", "The prompt was refused.")
    )
    session, gen = S.create_session(services, OWNER, params(), idempotency_key=key())
    outcome = run_one(services)
    assert outcome.status == "failed"
    failed = generation(services, gen.id)
    assert (failed.status, failed.error, failed.error_class) == (
        "failed",
        "The prompt was refused.",
        "permanent",
    )
    assert failed.generation.completed_at is None, "it produced nothing"
    job = services.queue.get(gen.job_id)
    assert job.status == "failed" and job.failure_stage == "generating" and job.attempts == 1
    assert rows(services, UsageLedger) == []
    assert [a for a in rows(services, ImageAsset) if a.role == "output"] == []
    view = S.get_session(services, OWNER, session.id)
    assert (
        view.generations[0].status == "failed"
        and view.generations[0].error == "The prompt was refused."
    )
    assert view.thumbnail is None and view.latest is None


def test_temporary_provider_error_is_retried(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = LocalProvider.generate_image
    monkeypatch.setattr(
        LocalProvider, "generate_image", raising("temporary", "The provider timed out.")
    )
    session, gen = S.create_session(services, OWNER, params(), idempotency_key=key())
    assert run_one(services).status == "pending"
    waiting = generation(services, gen.id)
    assert (waiting.status, waiting.error, waiting.error_class) == (
        "queued",
        "The provider timed out.",
        "temporary",
    )
    assert services.queue.get(gen.job_id).status == "pending"
    assert process_next(services, "test") is None  # backing off

    monkeypatch.setattr(LocalProvider, "generate_image", original)
    make_due(services, gen.job_id)
    assert run_one(services).status == "completed"
    done = generation(services, gen.id)
    assert done.status == "succeeded" and done.error is None and done.error_class is None
    assert services.queue.get(gen.job_id).attempts == 2


def test_rate_limit_keeps_the_step_queued(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        LocalProvider,
        "generate_image",
        raising("rate_limit", "Too many requests.", retry_after_s=5),
    )
    _, gen = S.create_session(services, OWNER, params(), idempotency_key=key())
    assert run_one(services).status == "pending"
    waiting = generation(services, gen.id)
    assert (waiting.status, waiting.error_class) == ("queued", "rate_limit")


def test_temporary_errors_fail_the_step_after_the_last_attempt(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LocalProvider, "generate_image", raising("temporary", "Server error 503."))
    _, gen = S.create_session(services, OWNER, params(), idempotency_key=key())
    statuses = []
    for _ in range(services.settings.max_attempts):
        make_due(services, gen.job_id)
        statuses.append(run_one(services).status)
    assert statuses == ["pending"] * (services.settings.max_attempts - 1) + ["failed"]
    final = generation(services, gen.id)
    assert (final.status, final.error, final.error_class) == (
        "failed",
        "Server error 503.",
        "temporary",
    )


def test_inpaint_keeps_unmasked_pixels_whatever_the_provider_does(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    session, first = S.create_session(services, OWNER, params(), idempotency_key=key())
    run_one(services)
    seen: list[ImageRequest] = []

    def repaint_everything(self, model, request):  # type: ignore[no-untyped-def]
        seen.append(request)  # a provider that ignores the mask and repaints the whole image
        return ImageResult(images=[png((255, 0, 255))], cost_actual=0.0)

    monkeypatch.setattr(LocalProvider, "generate_image", repaint_everything)
    mask = np.zeros((64, 64), np.uint8)
    mask[16:48, 16:48] = 255
    buf = io.BytesIO()
    Image.fromarray(mask).save(buf, "PNG")
    child = S.iterate(
        services,
        OWNER,
        session.id,
        first.id,
        params("a magenta square"),
        idempotency_key=key(),
        mask=buf.getvalue(),
    )
    assert run_one(services).status == "completed"
    [request] = seen
    assert request.mode == "inpaint" and request.source and request.mask
    assert (request.width, request.height) == (64, 64)

    view = S.get_session(services, OWNER, session.id)
    parent_out = view.by_id[first.id].output
    child_out = view.by_id[child.id].output
    before, after = pixels(services, parent_out), pixels(services, child_out)
    inside = mask.astype(bool)
    assert np.array_equal(before[~inside], after[~inside])
    assert (after[inside] == (255, 0, 255)).all()


def test_unknown_cost_keeps_the_estimate(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(LocalProvider, "estimate_cost", lambda self, model, request: 0.04)
    original = LocalProvider.generate_image

    def no_cost(self, model, request):  # type: ignore[no-untyped-def]
        result = original(self, model, request)
        result.cost_actual = None
        return result

    monkeypatch.setattr(LocalProvider, "generate_image", no_cost)
    _, gen = S.create_session(services, OWNER, params(), idempotency_key=key())
    assert gen.cost_estimate == 0.04
    run_one(services)
    done = generation(services, gen.id)
    assert (done.status, done.generation.cost_estimate, done.generation.cost_actual) == (
        "succeeded",
        0.04,
        None,
    )
    [ledger] = rows(services, UsageLedger)
    assert (ledger.cost_estimate, ledger.cost_actual) == (0.04, None)


def test_lost_lease_commits_nothing(services: Services) -> None:
    session, gen = S.create_session(services, OWNER, params(), idempotency_key=key())

    def clear_midway(job, stage):  # type: ignore[no-untyped-def]
        if stage == "uploading":
            services.queue.clear(job.id, reason="Cleared by an editor: stuck.")

    outcome = run_one(services, on_stage=clear_midway)
    assert outcome.status == "lost"
    assert [a for a in rows(services, ImageAsset) if a.role == "output"] == []
    assert rows(services, UsageLedger) == []
    assert generation(services, gen.id).status != "succeeded"
    # the page shows what happened to the job, and the step can be deleted
    view = S.get_session(services, OWNER, session.id)
    assert view.generations[0].status == "failed"
    assert view.generations[0].error == "Cleared by an editor: stuck."
    assert view.thumbnail is None
    S.delete_generation(services, OWNER, gen.id)
    assert S.get_session(services, OWNER, session.id).generations == []


def test_deleted_step_fails_its_job(services: Services) -> None:
    _, gen = S.create_session(services, OWNER, params(), idempotency_key=key())
    with services.db() as db:
        db.execute(sa.delete(ImageGeneration).where(ImageGeneration.id == gen.id))
    outcome = run_one(services)
    assert (outcome.status, outcome.message) == ("failed", GONE)


def test_provider_switched_off_fails_the_step(services: Services) -> None:
    _, gen = S.create_session(services, OWNER, params(), idempotency_key=key())
    with services.db() as db:
        db.execute(
            sa.update(ImageGeneration).where(ImageGeneration.id == gen.id).values(provider="openai")
        )
    assert run_one(services).status == "failed"
    failed = generation(services, gen.id)
    assert failed.status == "failed"
    assert failed.error == "The provider OpenAI is off: OPENAI_API_KEY is not set."


def test_no_image_from_the_provider_fails_the_step(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        LocalProvider, "generate_image", lambda self, model, request: ImageResult(images=[])
    )
    _, gen = S.create_session(services, OWNER, params(), idempotency_key=key())
    assert run_one(services).status == "failed"
    assert generation(services, gen.id).error == "The provider returned no image."


def test_requeued_failed_step_runs_again(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = LocalProvider.generate_image
    monkeypatch.setattr(LocalProvider, "generate_image", raising("permanent", "Refused."))
    _, gen = S.create_session(services, OWNER, params(), idempotency_key=key())
    run_one(services)
    assert generation(services, gen.id).status == "failed"
    monkeypatch.setattr(LocalProvider, "generate_image", original)
    services.queue.requeue(gen.job_id)  # an editor on the Jobs page
    assert run_one(services).status == "completed"
    assert generation(services, gen.id).status == "succeeded"
