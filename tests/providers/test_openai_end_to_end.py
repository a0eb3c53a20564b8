"""A session generation through the queue against the fake OpenAI server (real `openai` SDK)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from db.schema import ImageGeneration, UsageLedger
from studio import assets, sessions
from studio.jobs.worker import process_next
from studio.services import Services
from tests.conftest import make_settings
from tests.providers.fakes import FAKE_PNG, OpenAIFake


@pytest.fixture
def openai_fake() -> Iterator[OpenAIFake]:
    with OpenAIFake() as fake:
        yield fake


def test_session_generation_with_openai(
    tmp_path: Path, db_url: str, engine: sa.Engine, openai_fake: OpenAIFake
) -> None:
    settings = make_settings(
        tmp_path, db_url, openai_api_key="test", openai_base_url=f"{openai_fake.url}/v1"
    )
    services = Services.build(settings, engine=engine, migrate=False)
    params = sessions.GenerationParams(
        prompt="a lighthouse in a storm",
        provider="openai",
        model="gpt-image-2",
        width=1024,
        height=1024,
        seed=7,
    )
    session, generation = sessions.create_session(
        services, "local", params, idempotency_key="e2e-1"
    )

    outcome = process_next(services, "test-worker")
    assert outcome is not None and outcome.status == "completed", outcome

    sent = openai_fake.last("/v1/images/generations").json
    assert sent["model"] == "gpt-image-2" and sent["prompt"].startswith("a lighthouse in a storm")

    view = sessions.get_session(services, "local", session.id)
    step = view.by_id[generation.id]
    assert step.status == "succeeded"
    stored = assets.read_bytes(services.storage, step.output)
    expected = Image.open(io.BytesIO(FAKE_PNG)).convert("RGB")
    got = Image.open(io.BytesIO(stored)).convert("RGB")
    assert got.size == expected.size and got.tobytes() == expected.tobytes()

    with services.db() as db:
        gen = db.get(ImageGeneration, generation.id)
        ledger = db.scalars(sa.select(UsageLedger)).one()
    # The usage the API reported, at $5 per 1M text-in and $30 per 1M image-out tokens.
    usage = ledger.usage
    text_in = usage["input_tokens_details"]["text_tokens"]
    image_out = usage["output_tokens_details"]["image_tokens"]
    assert image_out == 4160  # a 1024² image at quality "auto", which came back as high
    assert gen.cost_actual == pytest.approx((text_in * 5 + image_out * 30) / 1_000_000)
    assert ledger.provider == "openai" and ledger.model == "gpt-image-2"
    assert ledger.cost_actual == pytest.approx(gen.cost_actual)
    assert usage["total_tokens"] == text_in + image_out
    assert openai_fake.refused == []
