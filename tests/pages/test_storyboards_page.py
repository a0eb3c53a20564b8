"""The Storyboards page through Streamlit's AppTest: create a storyboard, add scenes and
characters, the four buttons, status and history, the "already in progress" offer, bad input."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from studio import storyboards as sb
from studio.config import DEMO_OWNER
from studio.jobs.worker import process_next
from studio.services import Services

PAGE = "pages/storyboards.py"


def texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += (
        [e.value for e in app.error] + [w.value for w in app.warning] + [i.value for i in app.info]
    )
    return "\n".join(str(p) for p in parts)


def submit(app: AppTest, label: str) -> AppTest:
    button = next(b for b in app.button if b.label == label)
    return button.click().run()


def open_page(app: AppTest) -> AppTest:
    app.switch_page(PAGE).run()
    assert not app.exception
    return app


def seeded(services: Services) -> tuple[str, str, str]:
    board = sb.create_storyboard(services, DEMO_OWNER, "The Lighthouse")
    scene = sb.add_entity(
        services,
        DEMO_OWNER,
        board.id,
        kind="scene",
        name="Cliff at dusk",
        description="A lighthouse on a cliff",
    )
    hero = sb.add_entity(
        services,
        DEMO_OWNER,
        board.id,
        kind="character",
        name="Mara",
        description="Keeper in a yellow raincoat",
    )
    return board.id, scene.id, hero.id


def test_empty_state_then_create_and_add(app: AppTest, app_services: Services) -> None:
    open_page(app)
    assert app.title[0].value == "Storyboards"
    assert "No storyboards yet" in texts(app)

    app.text_input(key="sb:create_first:title").input("The Lighthouse")
    submit(app, "Create storyboard")
    assert not app.exception
    [card] = sb.list_storyboards(app_services, DEMO_OWNER)
    assert card.title == "The Lighthouse"
    assert card.id in str(app.query_params["storyboard"])  # a deep link to it
    assert any(h.value == "The Lighthouse" for h in app.header)

    # A scene without a name is refused with a message, and nothing is added.
    app.text_input(key=f"sb:add_name:{card.id}").input("   ")
    submit(app, "Add")
    assert "Give the scene a name." in texts(app) and not app.exception
    assert sb.get_storyboard(app_services, DEMO_OWNER, card.id).entities == []

    app.text_input(key=f"sb:add_name:{card.id}").input("Cliff at dusk")
    app.text_area(key=f"sb:add_desc:{card.id}").input("Waves crash below")
    submit(app, "Add")
    app.segmented_control(key=f"sb:add_kind:{card.id}").set_value("character")
    app.text_input(key=f"sb:add_name:{card.id}").input("Mara")
    submit(app, "Add")
    assert not app.exception
    view = sb.get_storyboard(app_services, DEMO_OWNER, card.id)
    assert [e.name for e in view.scenes] == ["Cliff at dusk"]
    assert [e.name for e in view.characters] == ["Mara"]
    assert any("Scenes (1)" in t.label for t in app.tabs)
    assert any("Characters (1)" in t.label for t in app.tabs)


def test_image_then_animate_shows_both_with_history(app: AppTest, app_services: Services) -> None:
    board_id, scene_id, _ = seeded(app_services)
    open_page(app)
    prefix = f"sb:gen:{scene_id}"
    # Edit and animate need an image first.
    assert app.button(key=f"{prefix}:edit").disabled
    assert app.button(key=f"{prefix}:animate").disabled

    app.text_area(key=f"{prefix}:prompt").input("A lighthouse at golden hour")
    app.button(key=f"{prefix}:image").click().run()
    assert not app.exception
    assert "Image from text for Cliff at dusk · queued" in texts(app).replace("**", "")
    [active] = sb.get_storyboard(app_services, DEMO_OWNER, board_id).entity(scene_id).active
    assert active.prompt == "A lighthouse at golden hour"

    assert process_next(app_services, "page-test").status == "completed"
    app.run()
    assert len(app.image) >= 1
    assert "Generated " in texts(app) and "image from text" in texts(app)
    assert not app.button(key=f"{prefix}:animate").disabled

    app.segmented_control(key=f"{prefix}:aspect").set_value("9:16")
    app.segmented_control(key=f"{prefix}:duration").set_value(4)
    app.text_area(key=f"{prefix}:prompt").input("The beam sweeps slowly")
    app.button(key=f"{prefix}:animate").click().run()
    assert not app.exception
    anim = sb.get_storyboard(app_services, DEMO_OWNER, board_id).entity(scene_id).active[0]
    assert anim.mode == "image_to_video"
    assert anim.params["aspect_ratio"] == "9:16" and anim.params["duration_s"] == 4
    assert process_next(app_services, "page-test").status == "completed"

    # A second image makes the first one history.
    app.button(key=f"{prefix}:image").click().run()
    assert process_next(app_services, "page-test").status == "completed"
    app.run()
    assert not app.exception
    assert len(app.get("video")) == 1
    assert any("History · 1 earlier version" in e.label for e in app.expander)


def test_a_double_click_queues_one_request(app: AppTest, app_services: Services) -> None:
    board_id, scene_id, _ = seeded(app_services)
    open_page(app)
    app.button(key=f"sb:gen:{scene_id}:video").click().run()
    app.button(key=f"sb:gen:{scene_id}:video").click().run()
    assert len(sb.get_storyboard(app_services, DEMO_OWNER, board_id).entity(scene_id).active) == 1


def test_failure_is_shown_on_the_entity(app: AppTest, app_services: Services) -> None:
    board_id, scene_id, _ = seeded(app_services)
    gen = sb.request_video(
        app_services, DEMO_OWNER, prompt="x", entity_id=scene_id, idempotency_key="v"
    )
    job = app_services.queue.claim("w")
    app_services.queue.fail(job, error_class="permanent", message="The provider refused it.")
    open_page(app)
    assert any(
        "The last video from text failed: The provider refused it." in e.value for e in app.error
    )
    assert sb.get_generation(app_services, DEMO_OWNER, gen.id).status == "failed"


def test_whole_storyboard_in_progress_offers_to_clear(app: AppTest, app_services: Services) -> None:
    board_id, _, _ = seeded(app_services)
    first = sb.generate_storyboard_images(app_services, DEMO_OWNER, board_id, idempotency_key="a")
    assert app_services.queue.claim("hung-worker").id == first.id
    open_page(app)
    assert "Making images for the whole storyboard (2): processing" in texts(app)

    app.text_input(key="sb:all:style").input("watercolour")
    submit(app, "Generate images")
    assert not app.exception
    assert "already being made" in texts(app)
    assert app.button(key="sb:offer_clear") is not None
    assert app_services.queue.get(first.id).status == "running"  # nothing was changed

    app.button(key="sb:offer_keep").click().run()
    assert "already being made" not in texts(app)

    # Once the stuck job is cleared (the dialog's button), a new request goes through.
    sb.clear_storyboard_job(app_services, DEMO_OWNER, board_id, first.id)
    app.run()
    submit(app, "Generate images")
    assert not app.exception
    job = sb.exclusive_job(app_services, DEMO_OWNER, board_id)
    assert job.id != first.id and job.status == "pending"
    assert app.toast and "Queued images for 2" in app.toast[0].value


def test_unknown_storyboard_in_the_link_falls_back(app: AppTest, app_services: Services) -> None:
    board_id, _, _ = seeded(app_services)
    app.switch_page(PAGE)
    app.query_params["storyboard"] = "no-such-board"
    app.run()
    assert not app.exception
    assert any(h.value == "The Lighthouse" for h in app.header)


def test_work_without_a_storyboard_is_listed(app: AppTest, app_services: Services) -> None:
    seeded(app_services)
    gen = sb.request_image(app_services, DEMO_OWNER, prompt="A red buoy", idempotency_key="cli")
    assert process_next(app_services, "page-test").status == "completed"
    open_page(app)
    assert any("Not in a storyboard · 1 recent" in e.label for e in app.expander)
    asset = sb.get_generation(app_services, DEMO_OWNER, gen.id).asset
    assert f"asset `{asset.id}`" in texts(app)
