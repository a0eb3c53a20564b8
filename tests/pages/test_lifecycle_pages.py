"""Recently deleted, the delete dialog's service and Home's import, through AppTest."""

from __future__ import annotations

import io
import zipfile

from streamlit.testing.v1 import AppTest

from studio import sessions as S
from studio.config import DEMO_OWNER
from studio.jobs.worker import process_next
from studio.lifecycle import archive, trash
from studio.services import Services


def _session(services: Services, prompt: str = "a red kite over the dunes") -> str:
    params = S.GenerationParams(prompt=prompt, width=64, height=64)
    session, _ = S.create_session(services, DEMO_OWNER, params, idempotency_key=prompt)
    while process_next(services, "t") is not None:
        pass
    return session.id


def test_recently_deleted_lists_and_restores(app: AppTest, app_services: Services) -> None:
    app.switch_page("pages/trash.py").run()
    assert not app.exception
    assert any("Nothing was deleted recently" in m.value for m in app.markdown)

    sid = _session(app_services)
    trash.delete(app_services, DEMO_OWNER, "session", sid)
    app.run()
    assert any("a red kite over the dunes" in m.value for m in app.markdown)
    assert any("deleted for good in 7 days" in c.value for c in app.caption)
    app.button(key=f"restore-{sid}").click().run()
    assert not app.exception
    assert S.list_sessions(app_services, DEMO_OWNER)[1] == 1
    assert any("Nothing was deleted recently" in m.value for m in app.markdown)


def test_home_cards_offer_delete_and_the_session_page_export(
    app: AppTest, app_services: Services
) -> None:
    sid = _session(app_services)
    app.run()
    assert not app.exception
    assert app.button(key=f"del-{sid}").label == "Delete"
    app.switch_page("pages/session.py")
    app.query_params["session"] = sid
    app.run()
    assert not app.exception
    assert app.button(key="delete_session").label == "Delete session"
    _, data = archive.export_session(app_services, DEMO_OWNER, sid)
    assert zipfile.is_zipfile(io.BytesIO(data))


def test_pages_of_a_deleted_song_or_storyboard_say_it_is_gone(
    app: AppTest, app_services: Services
) -> None:
    from studio import songs
    from studio import storyboards as sb

    board = sb.create_storyboard(app_services, DEMO_OWNER, "Harbour")
    app.switch_page("pages/storyboards.py")
    app.query_params["storyboard"] = board.id
    app.run()
    assert not app.exception
    assert app.button(key="sb:delete").label == "Delete storyboard"
    trash.delete(app_services, DEMO_OWNER, "storyboard", board.id)
    app.run()
    assert not app.exception

    song = songs.create_song_draft(
        app_services, DEMO_OWNER, title="Tides", tags="", text="One", idempotency_key="t"
    )
    app.switch_page("pages/songs.py").run()
    assert not app.exception
    trash.delete(app_services, DEMO_OWNER, "song", song.id)
    app.run()
    assert not app.exception
    assert not any("Tides" in m.value for m in app.markdown)
