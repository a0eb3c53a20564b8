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
