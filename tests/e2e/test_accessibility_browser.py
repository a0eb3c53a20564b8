"""An axe-core audit (axe-playwright-python bundles it) of every page in Chromium, with work on
them: no critical or serious violation in the studio's own elements (images have text
alternatives, text has enough contrast, buttons have names), and headings in order.

What belongs to Streamlit's own chrome is left out of the audit, each with its reason."""

from __future__ import annotations

import json

import pytest

from studio import sessions, songs
from studio import storyboards as sb
from studio.config import DEMO_OWNER, Settings
from studio.jobs.worker import process_next
from studio.lifecycle import trash
from studio.services import Services
from tests.e2e.conftest import ARTIFACTS, settle

pytestmark = pytest.mark.browser

STREAMLIT_CHROME = {
    # The sidebar navigation of st.navigation: Streamlit puts its section headers inside the
    # <ul> beside the <li> items (axe: list, listitem). Not the studio's markup to change.
    '[data-testid="stSidebarNav"]': "Streamlit's page navigation list",
}
CHECKED = {"critical", "serious"}
ALSO_CHECKED = {"heading-order"}  # moderate for axe, but people navigate by headings


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

    def run() -> None:
        outcome = process_next(services, "test")
        assert outcome is not None and outcome.status == "completed", outcome

    params = sessions.GenerationParams(prompt="a lighthouse at dusk", width=256, height=256)
    session, first = sessions.create_session(services, DEMO_OWNER, params, idempotency_key="a")
    run()
    sessions.iterate(
        services,
        DEMO_OWNER,
        session.id,
        first.id,
        sessions.GenerationParams(prompt="the same in winter", width=256, height=256),
        idempotency_key="b",
    )
    run()
    board = sb.create_storyboard(services, DEMO_OWNER, "The Keeper")
    scene = sb.add_entity(
        services, DEMO_OWNER, board.id, kind="scene", name="Cliff", description="A cliff"
    )
    for key, prompt in (("i1", "A lighthouse"), ("i2", "A lighthouse at night")):
        sb.request_image(
            services, DEMO_OWNER, prompt=prompt, entity_id=scene.id, idempotency_key=key
        )
        run()
    sb.request_animate(
        services, DEMO_OWNER, prompt="The beam turns", entity_id=scene.id, idempotency_key="v"
    )
    run()
    songs.create_song_draft(
        services,
        DEMO_OWNER,
        title="Morning road",
        tags="folk",
        text="One\n\nTwo",
        idempotency_key="s",
    )
    run()
    gone = sessions.GenerationParams(prompt="a deleted dune", width=64, height=64)
    deleted, _ = sessions.create_session(services, DEMO_OWNER, gone, idempotency_key="gone")
    run()
    trash.delete(services, DEMO_OWNER, "session", deleted.id)
    services.close()
    return {"session": session.id, "board": board.id}


def audit(page, where: str) -> list[str]:  # type: ignore[no-untyped-def]
    from axe_playwright_python.sync_playwright import Axe

    settle(page)
    page.wait_for_timeout(500)
    context = {"exclude": [[selector] for selector in STREAMLIT_CHROME]}
    results = Axe().run(page, context=context, options={"resultTypes": ["violations"]})
    found = []
    for v in results.response["violations"]:
        if v["impact"] in CHECKED or v["id"] in ALSO_CHECKED:
            nodes = [n["html"][:160] for n in v["nodes"]]
            found.append(f"{where}: {v['id']} ({v['impact']}): {json.dumps(nodes)}")
    return found


def test_every_page_passes_an_axe_audit(studio_app, page) -> None:  # type: ignore[no-untyped-def]
    ids = seed(studio_app)
    found: list[str] = []
    visits = [
        ("", "Your sessions"),
        (f"/session?session={ids['session']}", "History"),
        (f"/storyboards?storyboard={ids['board']}", "Cliff"),
        ("/jobs", "Jobs"),
        ("/songs", "Morning road"),
        ("/monitoring", "By kind of work"),
        ("/search?q=lighthouse", "Search"),
        ("/trash", "Recently deleted"),
    ]
    for path, heading in visits:
        page.goto(f"{studio_app.url}{path}")
        page.get_by_role("heading", name=heading).first.wait_for()
        found += audit(page, path or "/")
    # what opens on the pages: compare and paint on the session, a history on a storyboard
    page.goto(f"{studio_app.url}/session?session={ids['session']}")
    page.get_by_role("heading", name="History").wait_for()
    page.get_by_text("What changed from step 1").first.click()
    page.get_by_text("Replay this branch with…").click()
    page.get_by_text("Replays 2 steps", exact=False).first.wait_for()
    settle(page)
    found += audit(page, "session, what changed and replay")
    page.goto(f"{studio_app.url}/session?session={ids['session']}")
    page.get_by_role("heading", name="History").wait_for()
    page.get_by_text("Compare two outputs side by side").click()
    settle(page)
    page.get_by_text("Paint a mask", exact=True).click()
    page.locator("canvas.upper-canvas").first.wait_for()
    page.mouse.move(0, 0)  # audit the colours at rest, not under the pointer
    settle(page)  # a rerun's stale elements are dimmed: audit the settled page
    found += audit(page, "session, compare and paint")
    page.screenshot(path=str(ARTIFACTS / "axe-session.png"), full_page=True)
    page.goto(f"{studio_app.url}/storyboards?storyboard={ids['board']}")
    page.get_by_text("History · 1 earlier version").click()
    page.get_by_text("Earlier images").wait_for()
    found += audit(page, "storyboard, history open")
    page.goto(studio_app.url)
    page.get_by_role("heading", name="Your sessions").wait_for()
    page.get_by_role("button", name="Delete", exact=True).first.click()
    page.get_by_role("dialog").wait_for()
    found += audit(page, "/, the delete dialog")
    assert found == []
