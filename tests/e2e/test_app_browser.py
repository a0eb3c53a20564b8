"""The real app in headless Chromium: the home page, and the Jobs page's Clear dialog."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from db.engine import make_engine
from studio.jobs.queue import JobQueue
from tests.e2e.conftest import ARTIFACTS

pytestmark = pytest.mark.browser


def test_home_page_shows_the_studio(studio_app, page) -> None:  # type: ignore[no-untyped-def]
    page.goto(studio_app.url)
    page.get_by_role("heading", name="Image Studio").wait_for()
    picker = page.get_by_role("combobox", name="Model")
    expect(picker).to_have_value("Offline renderer · Offline sketch — free")
    page.get_by_text("OPENAI_API_KEY is not set", exact=False).first.wait_for()
    page.get_by_text("No sessions yet.").wait_for()
    page.screenshot(path=str(ARTIFACTS / "home.png"), full_page=True)
    assert (
        "Image Studio" in page.title()
        or page.get_by_role("heading", name="Image Studio").is_visible()
    )


def test_jobs_clear_confirm_dialog(studio_app, page) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(studio_app.db_url)
    queue = JobQueue(engine)
    job = queue.enqueue("noop", label="stuck render")
    claimed = queue.claim("worker-that-hung")
    assert claimed is not None and claimed.id == job.id

    page.goto(f"{studio_app.url}/jobs")
    page.get_by_role("heading", name="Jobs").wait_for()
    page.get_by_role("button", name="Clear…").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("revokes its worker's lease").wait_for()
    page.screenshot(path=str(ARTIFACTS / "jobs-clear-dialog.png"))
    dialog.get_by_role("button", name="Clear job").click()
    dialog.wait_for(state="detached")
    page.get_by_text("Cleared stuck render.").wait_for()

    row = queue.get(job.id)
    assert row.status == "failed" and row.lease_token is None
    assert "Cleared by Local user" in (row.last_error or "")  # the acting person, recorded
    assert (row.editor_action, row.editor_id) == ("cleared", "local")
    engine.dispose()


def test_a_deep_link_as_first_request_runs_the_real_navigation(studio_app, page) -> None:  # type: ignore[no-untyped-def]
    """The very first request of a fresh server is a bookmark to /jobs: the page must still run
    under app.py (its navigation and start-up), not as a stray script of a pages/ folder."""
    page.goto(f"{studio_app.url}/jobs")
    page.get_by_role("heading", name="Jobs").wait_for()
    sidebar = page.get_by_test_id("stSidebarNav")
    sidebar.get_by_text("Storyboards").wait_for()
    assert sidebar.get_by_text("app", exact=True).count() == 0


def _assert_studio_navigation(page) -> None:  # type: ignore[no-untyped-def]
    """The sidebar is app.py's navigation (sections, no "app" entry), not Streamlit's list of
    the pages/ folder."""
    sidebar = page.get_by_test_id("stSidebarNav")
    sidebar.get_by_text("Admin", exact=True).wait_for()
    sidebar.get_by_text("Storyboards").wait_for()
    assert sidebar.get_by_text("app", exact=True).count() == 0


def _app_services(studio_app):  # type: ignore[no-untyped-def]
    from studio.config import Settings
    from studio.services import Services

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=studio_app.db_url,
        storage_url=str(studio_app.media),
        embedded_worker=False,
    )
    return Services.build(settings, migrate=False)


def test_a_session_link_as_first_request_opens_the_session(studio_app, page) -> None:  # type: ignore[no-untyped-def]
    from studio import sessions
    from studio.config import DEMO_OWNER

    services = _app_services(studio_app)
    params = sessions.GenerationParams(prompt="a lighthouse at dusk", provider="local")
    made, _ = sessions.create_session(services, DEMO_OWNER, params, idempotency_key="first")
    services.close()

    page.goto(f"{studio_app.url}/session?session={made.id}")
    page.get_by_role("heading", name="a lighthouse at dusk").wait_for()
    _assert_studio_navigation(page)
    assert "session=" in page.url


def test_a_storyboard_link_as_first_request_opens_the_storyboard(studio_app, page) -> None:  # type: ignore[no-untyped-def]
    from studio import storyboards
    from studio.config import DEMO_OWNER

    services = _app_services(studio_app)
    board = storyboards.create_storyboard(services, DEMO_OWNER, "The keeper's night")
    storyboards.add_entity(services, DEMO_OWNER, board.id, kind="scene", name="Harbour at dawn")
    services.close()

    page.goto(f"{studio_app.url}/storyboards?storyboard={board.id}")
    page.get_by_text("Harbour at dawn").first.wait_for()
    _assert_studio_navigation(page)
    assert f"storyboard={board.id}" in page.url
