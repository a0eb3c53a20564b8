"""The Songs page through Streamlit's AppTest: create a draft, the table, publish toggle, and
a failed verse holding the song (requeue from the page)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from studio import songs
from studio.config import DEMO_OWNER
from studio.jobs.worker import process_next
from studio.services import Services
from tests.helpers.song_provider import ScriptedProvider


def open_songs(app: AppTest) -> AppTest:
    app.switch_page("pages/songs.py").run()
    assert not app.exception
    assert app.title[0].value == "Songs"
    return app


def fill_form(app: AppTest, title: str, tags: str, text: str) -> None:
    app.text_input(key="song_title_0").input(title)
    app.text_input(key="song_tags_0").input(tags)
    app.text_area(key="song_text_0").input(text)
    app.button(key="create_0").click().run()


def test_create_a_song_draft(app: AppTest, app_services: Services) -> None:
    open_songs(app)
    assert any("No songs yet" in i.value for i in app.info)
    fill_form(app, "Lanterns", "Folk, NIGHT, folk", "One\r\n\r\nTwo\n \nThree")
    assert not app.exception

    [row] = songs.list_songs(app_services, DEMO_OWNER)
    assert (row.title, row.tags, row.published) == ("Lanterns", ["folk", "night"], False)
    assert (row.progress.verse_count, row.progress.queued) == (3, 3)
    table = app.dataframe[0].value
    assert list(table["Title"]) == ["Lanterns"] and list(table["Illustrated"]) == ["0 / 3"]
    assert list(table["Status"]) == ["Draft"]
    assert list(table["Waiting on"]) == ["verse 1 waits for a free worker"]
    # The new song is open below the table, with its verses.
    assert any(h.value == "Lanterns" for h in app.subheader)
    assert [m.value for m in app.metric][:3] == ["3", "0", "3"]
    assert any("Verse 3" in m.value for m in app.markdown)
    # The form is fresh again: a second click cannot make a second song.
    assert app.text_input(key="song_title_1").value == ""
    assert len(songs.list_songs(app_services, DEMO_OWNER)) == 1


def test_bad_input_shows_a_message_and_stores_nothing(app: AppTest, app_services: Services) -> None:
    open_songs(app)
    fill_form(app, "", "", "a verse")
    assert any("Not saved: Give the song a title." in e.value for e in app.error)
    fill_form(app, "Bell", "", "ding \x07 dong")
    assert any("control character (U+0007)" in e.value for e in app.error)
    assert not app.exception
    assert songs.list_songs(app_services, DEMO_OWNER) == []
    # What was typed is kept so it can be fixed.
    assert app.text_area(key="song_text_0").value == "ding \x07 dong"


def test_publish_toggle(app: AppTest, app_services: Services) -> None:
    song = songs.create_song_draft(
        app_services,
        DEMO_OWNER,
        title="Desert Highway",
        tags="",
        text="a\n\nb",
        idempotency_key="k",
    )
    open_songs(app)
    button = app.button(key="publish_toggle")
    assert button.label == "Publish"
    button.click().run()
    assert songs.get_song(app_services, DEMO_OWNER, song.id).published is True
    assert app.button(key="publish_toggle").label == "Unpublish"
    assert list(app.dataframe[0].value["Status"]) == ["Published"]

    app.button(key="publish_toggle").click().run()
    assert songs.get_song(app_services, DEMO_OWNER, song.id).published is False
    assert app.button(key="publish_toggle").label == "Publish"
    assert not app.exception


def test_a_failed_verse_is_explained_and_can_be_requeued(
    app: AppTest, app_services: Services
) -> None:
    song = songs.create_song_draft(
        app_services,
        DEMO_OWNER,
        title="Snow",
        tags="",
        text="S1V1\n\nS1V2\n\nS1V3",
        idempotency_key="k",
    )
    refuse = ScriptedProvider(fail_when=lambda r: "refused" if "S1V2" in r.prompt else None)
    app_services.providers = [
        s if s.name != "local" else type(s)("local", s.label, True, "", refuse)
        for s in app_services.providers
    ]
    assert process_next(app_services, "t").status == "completed"
    assert process_next(app_services, "t").status == "failed"

    open_songs(app)
    warning = " ".join(w.value for w in app.warning)
    assert "Verse 2 failed" in warning and "Verse 3 waits for it" in warning
    assert list(app.dataframe[0].value["Failed"]) == [1]
    app.button(key="requeue_verse").click().run()
    assert not app.exception
    view = songs.get_song(app_services, DEMO_OWNER, song.id)
    assert [v.state.status for v in view.verses] == ["succeeded", "queued", "queued"]
    assert view.verses[1].retry_count == 1
    assert not app.warning
