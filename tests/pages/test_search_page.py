"""The Search page, Home's search box and the recent prompts, through AppTest."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from studio import sessions
from studio.config import DEMO_OWNER
from studio.jobs.worker import process_next
from studio.services import Services
from studio.sessions import GenerationParams
from tests.helpers.apptest import expander_labels, images, query_param, rendered


def _session(services: Services, prompt: str, key: str) -> str:
    session, _ = sessions.create_session(
        services,
        DEMO_OWNER,
        GenerationParams(prompt=prompt, width=64, height=64),
        idempotency_key=key,
    )
    while process_next(services, "t") is not None:
        pass
    return session.id


def _texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += [t.value for t in app.text] + [i.value for i in app.info]
    return rendered("\n".join(str(p) for p in parts))


def test_search_finds_a_prompt_with_its_thumbnail_and_link(
    app: AppTest, app_services: Services
) -> None:
    sid = _session(app_services, "a *lighthouse* at dusk", "a")
    _session(app_services, "a fox", "b")
    app.query_params["q"] = "lighthouse"
    app.switch_page("pages/search.py").run()
    assert not app.exception
    texts = _texts(app)
    assert "a *lighthouse* at dusk" in texts and "a fox" not in texts
    assert "1 result" in texts and images(app) == 1
    links = app.get("page_link")
    assert any(sid in str(link.proto.page) or "step" in str(link.proto) for link in links)
    app.text_input(key="search:q").set_value("nothing-like-it").run()
    assert "Nothing of yours matches" in _texts(app)


def test_home_search_box_opens_the_search_page(app: AppTest, app_services: Services) -> None:
    _session(app_services, "a lighthouse", "a")
    app.run()
    app.text_input(key="home:search").set_value("lighthouse").run()
    assert not app.exception
    assert query_param(app, "q") == "lighthouse"
    assert "a lighthouse" in _texts(app)


def test_a_recent_prompt_is_one_click_from_the_prompt_box(
    app: AppTest, app_services: Services
) -> None:
    _session(app_services, "a red kite over hills", "a")
    app.run()
    assert "Recent prompts" in " ".join(expander_labels(app))
    assert not [b for b in app.button if b.label == "Use"]  # read only once opened
    app.session_state["home:recent"] = True  # open the expander
    app.run()
    use = [b for b in app.button if b.label == "Use"]
    assert len(use) == 1 and "a red kite over hills" in [t.value for t in app.text]
    use[0].click().run()
    assert not app.exception
    assert app.text_area(key="home:prompt").value == "a red kite over hills"


def test_a_verse_link_opens_that_song_and_marks_the_verse(
    app: AppTest, app_services: Services
) -> None:
    from studio import songs

    first = songs.create_song_draft(
        app_services, DEMO_OWNER, title="First", tags=None, text="one", idempotency_key="a"
    )
    song = songs.create_song_draft(
        app_services,
        DEMO_OWNER,
        title="Harbour",
        tags=None,
        text="The lighthouse keeps the harbour\n\nWaves come home",
        idempotency_key="b",
    )
    assert first.id != song.id
    hit = next(h for h in _search(app_services, "waves") if h.kind == "verse")
    app.switch_page("pages/songs.py")
    app.query_params["song"], app.query_params["verse"] = hit.container_id, str(hit.position)
    app.run()
    assert not app.exception
    assert query_param(app, "song") == song.id and query_param(app, "verse") is None
    badges = [str(b.proto.label) for b in app.get("badge")] if app.get("badge") else []
    assert "Found by search" in " ".join(badges) or "Found by search" in _texts(app)


def test_an_entity_link_opens_its_tab_and_page(app: AppTest, app_services: Services) -> None:
    from studio import storyboards as sb

    board = sb.create_storyboard(app_services, DEMO_OWNER, "Coast")
    for n in range(7):
        sb.add_entity(app_services, DEMO_OWNER, board.id, kind="character", name=f"Person {n}")
    hit = next(h for h in _search(app_services, "Person 6") if h.exact)
    assert sb.entity_place(app_services, DEMO_OWNER, hit.item_id) == (board.id, "character", 2)
    assert sb.entity_place(app_services, "mallory", hit.item_id) is None
    app.switch_page("pages/storyboards.py")
    app.query_params["storyboard"], app.query_params["entity"] = board.id, hit.item_id
    app.run()
    assert not app.exception
    assert "Person 6" in _texts(app) + " ".join(str(h.value) for h in app.subheader)


def _search(services: Services, query: str):  # type: ignore[no-untyped-def]
    from studio import search

    return search.search(services, DEMO_OWNER, query)
