"""The Jobs page's queue controls and the pause line on Jobs and Home."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from studio.services import Services


def _warnings(app: AppTest) -> str:
    """The warnings' text, without the escapes the page adds to markdown."""
    text = " ".join(str(w.value) for w in app.warning)
    return text.replace("\u200b", "").replace("\\", "")


def test_pause_resume_and_the_line_on_jobs_and_home(app: AppTest, app_services: Services) -> None:
    queue = app_services.queue
    queue.enqueue("noop", label="a no-op")
    app.switch_page("pages/jobs.py").run()
    assert not app.exception
    assert "Paused" not in _warnings(app)
    app.button(key="queue_pause").click().run()
    assert queue.claim("w") is None, "the page's pause holds for workers"
    assert "Paused: the whole queue, since" in _warnings(app)
    table = app.dataframe[0].value
    assert dict(zip(table["Job"], table["Waiting on"], strict=True)) == {
        "a no-op": "paused (the whole queue)"
    }
    app.switch_page("pages/home.py").run()
    assert "Paused: the whole queue, since" in _warnings(app)
    app.switch_page("pages/jobs.py").run()
    app.button(key="queue_resume").click().run()
    assert "Paused" not in _warnings(app)
    assert queue.claim("w") is not None


def test_pause_a_kind_and_set_a_cap(app: AppTest, app_services: Services) -> None:
    queue = app_services.queue
    queue.enqueue("storyboard_video", label="video 1")
    queue.enqueue("storyboard_video", label="video 2")
    app.switch_page("pages/jobs.py").run()
    app.selectbox(key="cap_scope").set_value("kind").run()
    app.selectbox(key="cap_name").set_value("storyboard_video").run()
    app.number_input(key="cap_value").set_value(1).run()
    app.button(key="cap_set").click().run()
    [control] = queue.controls()
    assert (control.scope, control.name, control.cap) == ("kind", "storyboard_video", 1)
    assert queue.claim("w") is not None
    app.run()
    table = app.dataframe[0].value
    waiting = dict(zip(table["Job"], table["Waiting on"], strict=True))
    assert waiting["video 2"] == "waiting for a free storyboard video slot"

    app.selectbox(key="pause_scope").set_value("kind").run()
    app.selectbox(key="pause_name").set_value("noop").run()
    app.button(key="pause_one").click().run()
    assert "Paused: kind noop" in _warnings(app)
    app.button(key="resume:kind:noop").click().run()
    assert "Paused" not in _warnings(app)


def test_move_to_front_and_process_one_then_pause(app: AppTest, app_services: Services) -> None:
    queue = app_services.queue
    queue.enqueue("noop", label="first")
    last = queue.enqueue("noop", label="last")
    app.switch_page("pages/jobs.py").run()
    app.selectbox(key="job_choice").set_value(last.id).run()
    app.button(key="move_front").click().run()
    table = app.dataframe[0].value
    assert list(table["Job"])[:2] == ["last", "first"]
    assert list(table["Place"])[:2] == [1, 2]
    app.button(key="queue_step").click().run()
    claimed = queue.claim("w")
    assert claimed is not None and claimed.id == last.id
    assert queue.claim("w") is None, "one job through, then paused"
