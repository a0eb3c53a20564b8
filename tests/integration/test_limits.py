"""Per-user limits (studio/limits.py) on both databases: one count of requests per hour and one
daily budget across image sessions, storyboards and songs."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from db.schema import Job, Song, SongVerse, StoryboardGeneration, UsageLedger
from studio import limits, songs
from studio import sessions as S
from studio import storyboards as sb
from studio.errors import LimitExceeded
from studio.jobs.worker import process_next
from studio.providers.base import ImageRequest, ImageResult
from studio.providers.local import LocalProvider
from studio.providers.registry import ProviderStatus
from studio.services import Services
from tests.conftest import make_settings

OWNER = "alice"
OTHER = "bob"
PRICE = 0.3


class PricedProvider(LocalProvider):
    """The offline renderer at a price: estimated and charged PRICE per image."""

    def __init__(self, name: str = "priced") -> None:
        self.name, self.label = name, f"Priced ({name})"

    def estimate_cost(self, model, request):  # type: ignore[no-untyped-def]
        return PRICE

    def generate_image(self, model: str, request: ImageRequest) -> ImageResult:
        small = dataclasses.replace(request, width=64, height=64)
        return dataclasses.replace(super().generate_image(model, small), cost_actual=PRICE)


def with_priced(services: Services, name: str = "priced") -> Services:
    services.providers = [
        *[s for s in services.providers if s.name != name],
        ProviderStatus(name, f"Priced ({name})", True, "priced for tests", PricedProvider(name)),
    ]
    return services


def build(tmp_path: Path, db_url: str, engine: sa.Engine, **limits_: object) -> Services:
    return with_priced(
        Services.build(make_settings(tmp_path, db_url, **limits_), engine=engine, migrate=False)
    )


def key() -> str:
    return str(uuid.uuid4())


def step(services: Services, owner: str = OWNER, provider: str = "local") -> None:
    params = S.GenerationParams(
        prompt="a fox", width=64, height=64, provider=provider, model="sketch"
    )
    S.create_session(services, owner, params, idempotency_key=key())


def board_image(services: Services, owner: str = OWNER, provider: str | None = None) -> None:
    sb.request_image(
        services, owner, prompt="a lighthouse", provider=provider, idempotency_key=key()
    )


def song(services: Services, verses: int, owner: str = OWNER) -> Song:
    text = "\n\n".join(f"verse {n}" for n in range(1, verses + 1))
    return songs.create_song_draft(
        services, owner, title="Lanterns", tags="", text=text, idempotency_key=key()
    )


def counts(services: Services) -> dict[str, int]:
    with services.db() as db:
        return {
            model.__tablename__: int(db.scalar(sa.select(sa.func.count()).select_from(model)) or 0)
            for model in (Job, Song, SongVerse, StoryboardGeneration)
        }


def run_all(services: Services) -> None:
    while (outcome := process_next(services, "test")) is not None:
        assert outcome.status == "completed", outcome.message


def test_request_kinds_are_every_owned_job_kind() -> None:
    from studio.services import job_kinds

    assert set(limits.REQUEST_KINDS) == set(job_kinds()) - {"noop"}
    assert {S.JOB_KIND, sb.IMAGE_JOB, sb.VIDEO_JOB, songs.JOB_KIND} == set(limits.REQUEST_KINDS)


def test_sessions_storyboards_and_songs_share_one_hourly_limit(
    tmp_path: Path, db_url: str, engine: sa.Engine
) -> None:
    services = build(tmp_path, db_url, engine, generations_per_hour=3)
    step(services)
    board_image(services)
    song(services, 1)
    before = counts(services)
    with pytest.raises(
        LimitExceeded, match="started 3 generations in the last hour; the limit is 3"
    ):
        step(services)
    with pytest.raises(LimitExceeded, match="the limit is 3"):
        board_image(services)
    with pytest.raises(LimitExceeded, match="the limit is 3"):
        song(services, 1)
    assert counts(services) == before
    # Finished work still counts for the hour; other people have their own limits.
    run_all(services)
    with pytest.raises(LimitExceeded, match="the limit is 3"):
        board_image(services)
    step(services, OTHER)
    board_image(services, OTHER)


def test_sessions_and_storyboards_share_one_budget(
    tmp_path: Path, db_url: str, engine: sa.Engine
) -> None:
    services = build(tmp_path, db_url, engine, daily_budget_usd=1.0)
    step(services, provider="priced")  # 0.30 queued
    board_image(services, provider="priced")  # 0.60 queued
    run_all(services)  # 0.60 spent (in the ledger), nothing queued
    with services.db() as db:
        spent = db.scalar(sa.select(sa.func.sum(UsageLedger.cost_actual)))
    assert spent == pytest.approx(2 * PRICE)
    step(services, provider="priced")  # 0.60 spent + 0.30 queued
    before = counts(services)
    with pytest.raises(
        LimitExceeded,
        match=r"This request \(about \$0.30\) would go over today's "
        r"budget of \$1.00 \(\$0.90 spent or queued\)",
    ):
        board_image(services, provider="priced")
    with pytest.raises(LimitExceeded, match=r"This step \(about \$0.30\) .* budget"):
        step(services, provider="priced")
    assert counts(services) == before
    # A canceled job's estimate is no longer queued; free work never meets the budget.
    with services.db() as db:
        queued = db.scalar(sa.select(Job.id).where(Job.status == "pending"))
    services.queue.cancel(str(queued))
    board_image(services, provider="priced")
    step(services)
    board_image(services)
    step(services, OTHER, provider="priced")


def test_a_song_draft_counts_one_request_per_verse(
    tmp_path: Path, db_url: str, engine: sa.Engine
) -> None:
    services = build(tmp_path, db_url, engine, generations_per_hour=4)
    step(services)
    before = counts(services)
    with pytest.raises(
        LimitExceeded,
        match="This song draft needs 4 generations and you have "
        "started 1 in the last hour; the limit is 4",
    ):
        song(services, 4)
    with pytest.raises(LimitExceeded, match="This song draft needs 5 generations; the limit is 4"):
        song(services, 5)
    assert counts(services) == before
    made = song(services, 3)
    with services.db() as db:
        assert db.scalar(sa.select(sa.func.count()).where(SongVerse.song_id == made.id)) == 3
    with pytest.raises(LimitExceeded, match="the limit is 4"):
        board_image(services)


def test_a_song_draft_over_the_budget_stores_nothing(
    tmp_path: Path, db_url: str, engine: sa.Engine
) -> None:
    services = build(tmp_path, db_url, engine, daily_budget_usd=1.0, openrouter_model="sketch")
    with_priced(services, "openrouter")  # a new song's provider when it is on
    step(services, provider="priced")  # 0.30 queued
    before = counts(services)
    with pytest.raises(LimitExceeded, match=r"This song draft \(about \$0.90\) would go over"):
        song(services, 3)
    assert counts(services) == before
    song(services, 2)  # 0.30 + 0.60 fits
    with services.db() as db:
        estimates = db.scalars(sa.select(Job.cost_estimate).where(Job.kind == songs.JOB_KIND))
        assert list(estimates) == [PRICE, PRICE]
