"""The Storyboards page through Streamlit's AppTest: create a storyboard, add scenes and
characters, the four buttons, status and history, the "already in progress" offer, bad input."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from studio import storyboards as sb
from studio.config import DEMO_OWNER
from studio.jobs.worker import process_next
from studio.services import Services
from tests.helpers.apptest import expander_labels, images, query_param, rendered
from tests.helpers.bulk import storyboard_with_history

PAGE = "pages/storyboards.py"


def texts(app: AppTest) -> str:
    parts = [m.value for m in app.markdown] + [c.value for c in app.caption]
    parts += (
        [e.value for e in app.error] + [w.value for w in app.warning] + [i.value for i in app.info]
    )
    return rendered("\n".join(str(p) for p in parts))


def prompt_box(app: AppTest, entity_id: str):  # type: ignore[no-untyped-def]
    """The entity's prompt box (its key follows the entity's description)."""
    return next(t for t in app.text_area if str(t.key).startswith(f"sb:gen:{entity_id}:prompt"))


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
    assert query_param(app, "storyboard") == card.id  # a deep link to it
    assert any(h.value == "The Lighthouse" for h in app.header)

    # A scene without a name is refused with a message, and nothing is added.
    app.text_input(key=f"sb:add_name:{card.id}").input("   ")
    submit(app, "Add")
    assert "Give the scene a name." in texts(app) and not app.exception
    assert sb.get_storyboard(app_services, DEMO_OWNER, card.id).entities == []

    app.text_input(key=f"sb:add_name:{card.id}").input("Cliff at dusk")
    app.text_area(key=f"sb:add_desc:{card.id}").input("Waves crash below")
    submit(app, "Add")
    app.button_group(key=f"sb:add_kind:{card.id}").set_value("character")
    app.text_input(key=f"sb:add_name:{card.id}").input("Mara")
    submit(app, "Add")
    assert not app.exception
    view = sb.get_storyboard(app_services, DEMO_OWNER, card.id)
    assert [e.name for e in view.scenes] == ["Cliff at dusk"]
    assert [e.name for e in view.characters] == ["Mara"]
    assert [t.label for t in app.tabs] == ["Scenes", "Characters", "Other"]
    assert "1 scene" in texts(app)


def test_image_then_animate_shows_both_with_history(app: AppTest, app_services: Services) -> None:
    board_id, scene_id, _ = seeded(app_services)
    open_page(app)
    prefix = f"sb:gen:{scene_id}"
    # Edit and animate need an image first.
    assert app.button(key=f"{prefix}:edit").disabled
    assert app.button(key=f"{prefix}:animate").disabled

    prompt_box(app, scene_id).input("A lighthouse at golden hour")
    app.button(key=f"{prefix}:image").click().run()
    assert not app.exception
    assert "Image from text for Cliff at dusk · queued" in texts(app).replace("**", "")
    [active] = sb.get_storyboard(app_services, DEMO_OWNER, board_id).entity(scene_id).active
    assert active.prompt == "A lighthouse at golden hour"

    assert process_next(app_services, "page-test").status == "completed"
    app.run()
    assert images(app) >= 1
    assert "Generated " in texts(app) and "image from text" in texts(app)
    assert not app.button(key=f"{prefix}:animate").disabled

    app.button_group(key=f"{prefix}:aspect").set_value("9:16")
    app.button_group(key=f"{prefix}:duration").set_value(4)
    prompt_box(app, scene_id).input("The beam sweeps slowly")
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
    assert any("History · 1 earlier version" in label for label in expander_labels(app))


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
        "The last video from text failed: The provider refused it." in rendered(e.value)
        for e in app.error
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
    assert any("Not in a storyboard" in label for label in expander_labels(app))
    asset = sb.get_generation(app_services, DEMO_OWNER, gen.id).asset
    assert asset.id not in texts(app), "read only once opened"
    app.session_state["sb:unfiled"] = True  # open the expander
    app.run()
    assert "The 1 newest" in texts(app) and f"asset {asset.id}" in texts(app)


def test_the_picker_switches_boards(app: AppTest, app_services: Services) -> None:
    first = sb.create_storyboard(app_services, DEMO_OWNER, "The Lighthouse")
    second = sb.create_storyboard(app_services, DEMO_OWNER, "The Harbour")
    app.switch_page(PAGE)
    app.query_params["storyboard"] = first.id  # opened from a link
    app.run()
    assert [h.value for h in app.header] == ["The Lighthouse"]
    app.selectbox(key="sb:selected").set_value(second.id).run()
    assert not app.exception
    assert [h.value for h in app.header] == ["The Harbour"]
    assert query_param(app, "storyboard") == second.id


def test_an_edited_description_reaches_its_prompt_box(app: AppTest, app_services: Services) -> None:
    _, scene_id, _ = seeded(app_services)
    open_page(app)
    assert prompt_box(app, scene_id).value == "Cliff at dusk. A lighthouse on a cliff"
    sb.update_entity(
        app_services, DEMO_OWNER, scene_id, name="Cliff at dawn", description="Fog over the sea"
    )
    app.run()
    assert prompt_box(app, scene_id).value == "Cliff at dawn. Fog over the sea"


def test_a_missing_file_is_said_and_shown_again_once_back(
    app: AppTest, app_services: Services
) -> None:
    import uuid

    color = tuple(uuid.uuid4().bytes[:3])  # a file no other test has read (and cached)
    board = storyboard_with_history(app_services, DEMO_OWNER, 1, 2, color=color)  # type: ignore[arg-type]
    [card] = sb.open_storyboard(app_services, DEMO_OWNER, board).cards
    storage, asset = app_services.storage, card.image
    saved = {k: storage.get(asset.bucket, k) for k in (asset.key, asset.thumbnail_key)}
    for k in saved:
        storage.delete(asset.bucket, k)
    app.switch_page(PAGE)
    app.query_params["storyboard"] = board
    app.run()
    app.session_state[f"sb:history:{card.id}"] = True  # open the History expander
    app.run()
    assert not app.exception
    assert "The image's file is missing from storage." in texts(app)
    assert "The file is missing from storage." in texts(app)  # the earlier version
    assert images(app) == 0

    for k, data in saved.items():  # the storage is back (a brief outage, a restore)
        storage.put(asset.bucket, k, data, "image/png")
    app.session_state[f"sb:history:{card.id}"] = True  # (older AppTests forget it is open)
    app.run()
    assert "missing from storage" not in texts(app)
    assert images(app) == 2  # the current image and the earlier one


def test_only_the_open_tab_and_page_are_drawn(app: AppTest, app_services: Services) -> None:
    board = storyboard_with_history(app_services, DEMO_OWNER, 13, 1)
    app.switch_page(PAGE)
    app.query_params["storyboard"] = board
    app.run()
    names = [h.value for h in app.subheader]
    assert names == [f":material/landscape: Scene {i}" for i in (0, 2, 4, 6, 8)]
    app.button(key=f"sb:page:{board}:scene:next").click().run()
    assert [h.value for h in app.subheader] == [
        ":material/landscape: Scene 10",
        ":material/landscape: Scene 12",
    ]
    app.session_state[f"sb:tabs:{board}"] = "Characters"
    app.run()
    assert not app.exception
    assert [h.value for h in app.subheader][:2] == [
        ":material/person: Character 1",
        ":material/person: Character 3",
    ]
    assert all("Scene" not in h.value for h in app.subheader)


def test_a_history_is_read_once_its_expander_opens(app: AppTest, app_services: Services) -> None:
    board = storyboard_with_history(app_services, DEMO_OWNER, 1, 3)
    [card] = sb.open_storyboard(app_services, DEMO_OWNER, board).cards
    app.switch_page(PAGE)
    app.query_params["storyboard"] = board
    app.run()
    assert any("History · 2 earlier versions" in label for label in expander_labels(app))
    assert "scene 0 version 1" not in texts(app)
    app.session_state[f"sb:history:{card.id}"] = True
    app.run()
    assert "scene 0 version 1" in texts(app) and "scene 0 version 0" in texts(app)
