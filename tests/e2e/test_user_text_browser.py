"""People's text is shown as text in a real browser: markdown in a prompt, a title, a name, a
description, a job's label or an error makes no request. And no page load reaches beyond the
machine (the page icon is the studio's own, not a font from a CDN).

Every page is opened with work whose text carries a markdown image pointing at a TEST-NET
address; the browser must never ask for it (nor for anything not served by the app)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from studio import sessions, songs
from studio import storyboards as sb
from studio.config import DEMO_OWNER, Settings
from studio.jobs.worker import process_next
from studio.services import Services
from tests.e2e.conftest import ARTIFACTS, settle

pytestmark = pytest.mark.browser

BAIT = "http://203.0.113.9"  # TEST-NET-3: nothing answers there, any request to it is a leak


def bait(what: str) -> str:
    return f"![{what}]({BAIT}/{what}.png) <img src='{BAIT}/{what}-tag.png'>"


def seed(studio_app) -> dict[str, str]:  # type: ignore[no-untyped-def]
    services = Services.build(
        Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=studio_app.db_url,
            storage_url=str(studio_app.media),
            embedded_worker=False,
        ),
        migrate=False,
    )
    session, _ = sessions.create_session(
        services,
        DEMO_OWNER,
        sessions.GenerationParams(prompt=f"a fox {bait('prompt')}", width=256, height=256),
        idempotency_key="fox",
    )
    assert process_next(services, "test").status == "completed"
    board = sb.create_storyboard(services, DEMO_OWNER, f"Board {bait('board')}")
    scene = sb.add_entity(
        services,
        DEMO_OWNER,
        board.id,
        kind="scene",
        name=f"Cliff {bait('name')}",
        description=f"Waves {bait('description')}",
    )
    sb.request_video(
        services,
        DEMO_OWNER,
        prompt=f"waves {bait('video')}",
        entity_id=scene.id,
        idempotency_key="v",
    )
    job = services.queue.claim("test")
    assert job is not None
    services.queue.fail(job, error_class="permanent", message=f"Refused: {bait('error')}")
    songs.create_song_draft(
        services,
        DEMO_OWNER,
        title=f"Song {bait('song')}",
        tags="folk",
        text=f"First verse {bait('verse')}",
        idempotency_key="song",
    )
    services.close()
    return {"session": session.id, "board": board.id, "job": job.id}


def test_no_page_makes_a_request_beyond_the_app(studio_app, page) -> None:  # type: ignore[no-untyped-def]
    ids = seed(studio_app)
    app_host = urlsplit(studio_app.url).netloc
    leaks: list[str] = []
    page.on(
        "request",
        lambda r: (
            leaks.append(r.url)
            if urlsplit(r.url).scheme in ("http", "https") and urlsplit(r.url).netloc != app_host
            else None
        ),
    )
    visits = [
        ("", "Image Studio"),
        (f"/session?session={ids['session']}", "Step 1"),
        (f"/storyboards?storyboard={ids['board']}", "Board"),
        ("/jobs", "Jobs"),
        ("/songs", "Songs"),
        ("/monitoring", "Monitoring"),
    ]
    for path, heading in visits:
        page.goto(f"{studio_app.url}{path}")
        page.get_by_role("heading", name=heading).first.wait_for()
        settle(page)
        page.wait_for_timeout(500)
    # the failed job's error, as the Jobs page shows it for the chosen job
    page.goto(f"{studio_app.url}/jobs")
    page.get_by_role("combobox", name="Job").click()
    page.get_by_role("option", name="failed", exact=False).click()
    page.get_by_text("Refused:", exact=False).first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "user-text-jobs.png"), full_page=True)
    page.goto(f"{studio_app.url}/session?session={ids['session']}")
    page.get_by_text(f"{BAIT}/prompt.png", exact=False).first.wait_for()  # shown as text
    page.screenshot(path=str(ARTIFACTS / "user-text-session.png"), full_page=True)
    assert leaks == []
