"""The real app in headless Chromium: create a 3-verse song on the Songs page, process its
verse jobs from the Jobs page, and see the three illustrations on the song."""

from __future__ import annotations

import pytest

from db.engine import make_engine
from studio.jobs.queue import JobQueue
from tests.e2e.conftest import ARTIFACTS, doc_screenshot

pytestmark = pytest.mark.browser

TITLE = "Lanterns on the River"
LYRICS = """The lanterns drift on the river tonight,
golden and slow in the summer night air.

A girl in a red coat counts them aloud,
one for each year that her brother's been gone.

And out past the bridge where the willows bend low,
the last lantern flickers, then follows the tide."""


def nav(page, name: str):  # type: ignore[no-untyped-def]
    """A link of the sidebar navigation."""
    return page.get_by_test_id("stSidebarNavItems").get_by_role("link", name=name, exact=True)


def test_create_song_process_verses_and_see_illustrations(studio_app, page) -> None:  # type: ignore[no-untyped-def]
    # Open the app at its root first, so the navigation (sections, wide layout) is in place.
    page.goto(studio_app.url)
    page.get_by_role("heading", name="Image Studio").wait_for()
    nav(page, "Songs").click()
    page.get_by_role("heading", name="Songs").wait_for()
    page.get_by_text("No songs yet").wait_for()

    page.get_by_role("textbox", name="Title").fill(TITLE)
    page.get_by_role("textbox", name="Tags").fill("Folk, night, folk")
    page.get_by_role("textbox", name="Song text").fill(LYRICS)
    page.get_by_test_id("stFormSubmitButton").get_by_role("button").click()
    page.get_by_role("heading", name=TITLE).wait_for()
    page.get_by_text("Verse 1 waits for a free worker").wait_for()
    page.get_by_test_id("stDataFrame").wait_for()
    page.get_by_test_id("stMetric").first.wait_for()
    page.wait_for_timeout(1000)  # let the last elements settle before the screenshot
    page.screenshot(path=str(ARTIFACTS / "songs-draft.png"), full_page=True)

    engine = make_engine(studio_app.db_url)
    queue = JobQueue(engine)
    try:
        nav(page, "Jobs").click()
        page.get_by_role("heading", name="Jobs").wait_for()
        for n in (1, 2, 3):
            page.get_by_role("button", name="Process next job").click()
            page.get_by_text(f"Verse {n} · {TITLE}: completed").wait_for()
        page.screenshot(path=str(ARTIFACTS / "songs-jobs-processed.png"), full_page=True)
        with engine.connect() as conn:
            statuses = conn.exec_driver_sql(
                "SELECT sequence, status FROM jobs WHERE kind = 'verse_illustration' "
                "ORDER BY sequence"
            ).all()
        assert [tuple(r) for r in statuses] == [
            (1, "completed"),
            (2, "completed"),
            (3, "completed"),
        ]
        assert queue.claim("nobody") is None
    finally:
        engine.dispose()

    page.set_viewport_size({"width": 1400, "height": 2600})
    nav(page, "Songs").click()
    page.get_by_text("All 3 verses are illustrated.").wait_for()
    images = page.locator('[data-testid="stImage"] img')
    page.wait_for_function(
        """() => {
            const imgs = [...document.querySelectorAll('[data-testid="stImage"] img')];
            return imgs.filter(i => i.complete && i.naturalWidth > 0 && i.clientWidth > 300)
                       .length >= 3;
        }"""
    )
    large = images.evaluate_all(
        "imgs => imgs.filter(i => i.naturalWidth > 0 && i.clientWidth > 300).length"
    )
    assert large == 3  # one illustration per verse
    for n in (1, 2, 3):
        assert page.get_by_text(f"Offline sketch for verse {n}").count() == 1
    page.screenshot(path=str(ARTIFACTS / "songs-illustrated.png"), full_page=True)
    doc_screenshot(page, "song.png")
