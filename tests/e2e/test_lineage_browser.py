"""Lineage and search in a real browser, as a person uses them: two steps → what changed from
the parent (the new words marked) → replay the branch → both replayed steps finish in order →
search from Home finds the prompt and its link opens that exact step."""

from __future__ import annotations

import re
import time

import pytest
import sqlalchemy as sa

from db.schema import ImageGeneration
from studio.config import Settings
from studio.services import Services
from tests.e2e.conftest import ARTIFACTS, settle

pytestmark = [pytest.mark.browser, pytest.mark.embedded_worker]


def _finished(studio_app, steps: int, timeout_s: float = 90) -> dict[int, ImageGeneration]:  # type: ignore[no-untyped-def]
    services = Services.build(
        Settings(
            _env_file=None,
            database_url=studio_app.db_url,  # type: ignore[call-arg]
            storage_url=str(studio_app.media),
            embedded_worker=False,
        ),
        migrate=False,
    )
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with services.db() as db:
                gens = {g.step: g for g in db.scalars(sa.select(ImageGeneration)).all()}
                for g in gens.values():
                    db.expunge(g)
            if len(gens) >= steps and all(g.completed_at for g in gens.values()):
                return gens
            time.sleep(0.5)
    finally:
        services.engine.dispose()
    raise AssertionError(f"{steps} steps did not finish")


def _shown(page, step: int, timeout_s: float = 60) -> None:  # type: ignore[no-untyped-def]
    """The page shows `step` selected and every step so far succeeded (it refreshes itself)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (
            page.get_by_role("heading", name=f"Step {step} ·").count()
            and page.get_by_text("succeeded", exact=False).count() >= step
        ):
            settle(page)
            return
        time.sleep(0.5)
    raise AssertionError(f"step {step} is not shown as finished")


def test_see_what_changed_replay_the_branch_and_find_it(studio_app, page) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": 1400, "height": 2400})
    page.goto(studio_app.url)
    prompt = page.get_by_placeholder("Describe the image you want", exact=False)
    prompt.fill("a lighthouse on a cliff")
    prompt.press("Control+Enter")
    page.get_by_role("heading", name="a lighthouse on a cliff").wait_for(timeout=30_000)
    _finished(studio_app, 1)
    _shown(page, 1)

    change = page.get_by_placeholder("What should change?", exact=False)
    change.fill("a lighthouse on a cliff in winter")
    change.press("Control+Enter")
    _finished(studio_app, 2)
    _shown(page, 2)

    # What changed: the added words are marked.
    page.get_by_text("What changed from step 1", exact=False).first.click()
    settle(page)
    page.get_by_text("+winter", exact=False).first.wait_for()
    page.get_by_text("+in", exact=False).first.wait_for()  # (the other fields: a data grid)
    page.get_by_text("to here:", exact=False).first.wait_for()  # cost and time to here
    page.screenshot(path=str(ARTIFACTS / "lineage-1-what-changed.png"), full_page=True)

    # Replay the branch: the plan and its estimate first, then two new steps in order.
    page.get_by_text("Replay this branch with…", exact=False).first.click()
    settle(page)
    page.get_by_text("Replays 2 steps (step 1 → step 2)", exact=False).first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "lineage-2-replay-plan.png"), full_page=True)
    page.get_by_role("button", name=re.compile(r"Replay 2 steps$")).click()
    gens = _finished(studio_app, 4)
    assert gens[3].parent_generation_id is None and gens[4].parent_generation_id == gens[3].id
    assert (gens[3].prompt, gens[4].prompt) == (gens[1].prompt, gens[2].prompt)
    assert gens[4].params["seed"] == gens[2].params["seed"]
    assert gens[3].completed_at <= gens[4].started_at  # in order
    page.get_by_text("4 steps · branches indented", exact=False).first.wait_for(timeout=60_000)
    settle(page)
    page.screenshot(path=str(ARTIFACTS / "lineage-3-replayed.png"), full_page=True)

    # Find it from Home; the result opens the exact step.
    page.goto(studio_app.url)
    box = page.get_by_placeholder("Find a prompt", exact=False)
    box.fill("winter")
    box.press("Enter")
    page.get_by_role("heading", name="Search").wait_for()
    settle(page)
    page.get_by_text("2 results", exact=False).first.wait_for()
    link = page.get_by_role("link", name=re.compile(r"step 4$")).first
    link.wait_for()
    page.get_by_role("img", name="Session step", exact=False).first.wait_for()  # thumbnails
    page.screenshot(path=str(ARTIFACTS / "lineage-4-search.png"), full_page=True)
    link.click()
    page.get_by_role("heading", name="Step 4 ·").wait_for(timeout=30_000)
    assert "step=4" in page.url
