"""Home and Session through Streamlit's AppTest: the prompt box, the cards, the deep link,
the next-step form, the tree, and clear messages for bad input."""

from __future__ import annotations

import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from db.schema import ImageGeneration, ImageSession
from studio import sessions
from studio.config import DEMO_OWNER
from studio.jobs.worker import process_next
from studio.services import Services
from studio.sessions import GenerationParams


def _new_session(services: Services, prompt: str, key: str) -> str:
    session, _ = sessions.create_session(
        services,
        DEMO_OWNER,
        GenerationParams(prompt=prompt, width=256, height=256),
        idempotency_key=key,
    )
    return session.id


def _open(app: AppTest, session_id: str, **params: str) -> AppTest:
    app.query_params["session"] = session_id
    for k, v in params.items():
        app.query_params[k] = v
    return app.switch_page("pages/session.py").run()


def _texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += [e.value for e in app.error] + [i.value for i in app.info]
    return "\n".join(str(p) for p in parts)


def test_home_empty_state_and_generate_opens_the_session(
    app: AppTest, app_services: Services
) -> None:
    app.run()
    assert not app.exception
    assert "No sessions yet" in _texts(app)
    assert app.selectbox(key="home:model").value == "local/sketch"
    app.text_area(key="home:prompt").set_value("a lighthouse on a cliff at dusk")
    app.button[0].click()  # the form's Generate
    app.run()
    assert not app.exception
    with app_services.db() as db:
        made = db.scalars(sa.select(ImageSession)).all()
        assert [s.title for s in made] == ["a lighthouse on a cliff at dusk"]
        steps = db.scalars(sa.select(ImageGeneration)).all()
        assert [(g.step, g.mode) for g in steps] == [(1, "text_to_image")]
    view = sessions.get_session(app_services, DEMO_OWNER, made[0].id)
    assert [g.status for g in view.generations] == ["queued"]
    assert app.title[0].value == "a lighthouse on a cliff at dusk"  # the Session page
    assert app.query_params["session"] == made[0].id


def test_home_rejects_an_empty_prompt_and_stores_nothing(
    app: AppTest, app_services: Services
) -> None:
    app.run()
    app.text_area(key="home:prompt").set_value("   ")
    app.button[0].click()
    app.run()
    assert "Write a prompt first." in _texts(app)
    with app_services.db() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(ImageSession)) == 0


def test_home_cards_are_paged_newest_first(app: AppTest, app_services: Services) -> None:
    for i in range(13):
        _new_session(app_services, f"session number {i}", f"k{i}")
    app.run()

    def titles() -> list[str]:
        return [m.value.strip("*") for m in app.markdown if "session number" in m.value]

    assert len(titles()) == 12 and titles()[0] == "session number 12"
    assert len([el for el in app.get("page_link") if el.proto.label == "Open"]) == 12
    assert "Page 1 of 2 · 13 sessions" in _texts(app)
    app.button(key="home_next").click().run()
    assert titles() == ["session number 0"]


def test_deep_link_shows_the_tree_and_a_finished_step(app: AppTest, app_services: Services) -> None:
    sid = _new_session(app_services, "a red fox in snow", "fox")
    process_next(app_services, "test-worker")
    _open(app, sid)
    assert not app.exception
    assert app.title[0].value == "a red fox in snow"
    assert any(b.label.startswith("Step 1") for b in app.button)
    text = _texts(app)
    assert "Step 1 · image from text" in text and "succeeded" in text
    assert len(app.get("image")) >= 2  # the viewer and the tree's thumbnail
    details = app.dataframe[0].value
    values = dict(zip(details["Parameter"], details["Value"], strict=True))
    assert values["Prompt"] == "a red fox in snow" and values["Width"] == "256"


def test_iterate_from_the_selected_step_and_branch(app: AppTest, app_services: Services) -> None:
    sid = _new_session(app_services, "a red fox", "fox")
    process_next(app_services, "w")
    _open(app, sid)
    prefix = f"next-{sid}"
    app.text_area(key=f"{prefix}:prompt").set_value("the fox, now in autumn")
    app.button(key="FormSubmitter:" + f"{prefix}/form-Generate").click().run()
    assert not app.exception
    process_next(app_services, "w")
    app.run()
    with app_services.db() as db:
        gens = {g.step: g for g in db.scalars(sa.select(ImageGeneration)).all()}
    assert gens[2].parent_generation_id == gens[1].id and gens[2].mode == "image_to_image"
    assert (
        sessions.get_session(app_services, DEMO_OWNER, sid).by_id[gens[2].id].status == "succeeded"
    )
    app.toggle(key=f"cmp:{sid}").set_value(True).run()  # compare step 2 with its parent
    assert app.selectbox(key=f"cmp_a:{sid}").value == gens[2].id
    assert app.selectbox(key=f"cmp_b:{sid}").value == gens[1].id

    # select step 1 in the tree and iterate again: a second branch from step 1
    app.button(key=f"node:{gens[1].id}").click().run()
    assert app.selectbox(key=f"{prefix}/parent").value == gens[1].id
    app.text_area(key=f"{prefix}:prompt").set_value("the fox, in spring")
    app.button(key="FormSubmitter:" + f"{prefix}/form-Generate").click().run()
    with app_services.db() as db:
        third = db.scalar(sa.select(ImageGeneration).where(ImageGeneration.step == 3))
    assert third is not None and third.parent_generation_id == gens[1].id
    view = sessions.get_session(app_services, DEMO_OWNER, sid)
    assert view.children[gens[1].id] == [gens[2].id, third.id]


def test_duplicate_fills_the_form(app: AppTest, app_services: Services) -> None:
    sid = _new_session(app_services, "a blue whale", "whale")
    process_next(app_services, "w")
    _open(app, sid)
    app.button(key="act_duplicate").click().run()
    prefix = f"next-{sid}"
    assert app.text_area(key=f"{prefix}:prompt").value == "a blue whale"
    assert app.number_input(key=f"{prefix}:seed").value is not None


def test_unknown_or_foreign_session_gets_a_clear_message(
    app: AppTest, app_services: Services
) -> None:
    _open(app, "no-such-session")
    assert not app.exception
    assert "does not exist or is not yours" in _texts(app)
    theirs, _ = sessions.create_session(
        app_services, "someone-else", GenerationParams(prompt="private"), idempotency_key="p"
    )
    app2 = AppTest.from_file(app._script_path, default_timeout=60)  # type: ignore[attr-defined]
    _open(app2, theirs.id)
    assert "does not exist or is not yours" in _texts(app2)
    assert "private" not in _texts(app2)


def test_a_prompt_over_the_limit_is_refused_on_the_page(
    app: AppTest, app_services: Services
) -> None:
    sid = _new_session(app_services, "a cat", "cat")
    process_next(app_services, "w")
    _open(app, sid)
    prefix = f"next-{sid}"
    app.text_area(key=f"{prefix}:prompt").set_value("x" * 5000)
    app.button(key="FormSubmitter:" + f"{prefix}/form-Generate").click().run()
    assert "limit is 4,000" in _texts(app)
    with app_services.db() as db:
        assert db.scalar(sa.select(sa.func.count()).select_from(ImageGeneration)) == 1
