"""Migrations 0013 (cost to here) and 0014 (search) on existing work, on both databases: the
path sums, session totals and search entries they compute for rows written before them are
those the studio writes for new rows."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from db.migrate import alembic_config, pending_diff, upgrade
from studio import search, songs
from studio import sessions as S
from studio import storyboards as sb
from studio.jobs.worker import process_next
from studio.providers.base import ImageRequest, ImageResult
from studio.services import Services
from tests.conftest import make_settings

OWNER = "alice"


def test_existing_work_gets_its_costs_to_here_and_its_search_entries(
    tmp_path: Path, db_url: str, engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    services = Services.build(make_settings(tmp_path, db_url), engine=engine, migrate=False)
    provider = services.provider("local")
    render = provider.generate_image

    def priced(model: str, request: ImageRequest) -> ImageResult:
        result = render(model, request)
        result.cost_actual = 0.01 * len(request.prompt.split())
        return result

    monkeypatch.setattr(provider, "generate_image", priced)

    def run_all() -> None:
        while process_next(services, "t") is not None:
            pass

    params = S.GenerationParams(prompt="a harbour at night", width=64, height=64)
    session, first = S.create_session(services, OWNER, params, idempotency_key="a")
    run_all()
    for prompt, parent in (("a harbour in fog", first.id), ("boats", first.id)):
        S.iterate(
            services,
            OWNER,
            session.id,
            parent,
            S.GenerationParams(prompt=prompt, width=64, height=64),
            idempotency_key=str(uuid.uuid4()),
        )
        run_all()
    songs.create_song_draft(
        services, OWNER, title="Tides", tags=None, text="The harbour sleeps", idempotency_key="s"
    )
    board = sb.create_storyboard(services, OWNER, "Port")
    sb.add_entity(services, OWNER, board.id, kind="character", name="Harbour master")
    run_all()

    sums = sa.text("SELECT id, path_cost, path_ms FROM image_generations ORDER BY step")
    totals = sa.text("SELECT total_cost, costliest_generation_id FROM image_sessions")
    with engine.connect() as conn:
        expected_sums, expected_totals = conn.execute(sums).all(), conn.execute(totals).all()
    found = sorted(h.kind for h in search.search(services, OWNER, "harbour"))
    assert found == ["character", "step", "step", "verse", "verse_prompt"]

    command.downgrade(alembic_config(engine), "0012")
    upgrade(engine)
    with engine.connect() as conn:
        got = conn.execute(sums).all()
        got_totals = conn.execute(totals).all()
    assert [(i, ms) for i, _, ms in got] == [(i, ms) for i, _, ms in expected_sums]
    assert [c for _, c, _ in got] == pytest.approx([c for _, c, _ in expected_sums])
    assert got_totals[0][1] == expected_totals[0][1]
    assert got_totals[0][0] == pytest.approx(expected_totals[0][0])
    assert sorted(h.kind for h in search.search(services, OWNER, "harbour")) == found
    assert search.search(services, "mallory", "harbour") == []
    assert pending_diff(engine) == []
