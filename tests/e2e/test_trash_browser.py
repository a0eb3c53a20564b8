"""Delete a session from Home, find it in Recently deleted, restore it — in a real browser."""

from __future__ import annotations

import pytest

from studio import sessions as S
from studio.config import DEMO_OWNER, Settings
from studio.jobs.worker import process_next
from studio.services import Services
from tests.e2e.conftest import ARTIFACTS, settle

pytestmark = [pytest.mark.browser]

TITLE = "a lighthouse in the fog"


def test_delete_a_session_from_home_and_restore_it(studio_app, page) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=studio_app.db_url,
        storage_url=str(studio_app.media),
        embedded_worker=False,
    )
    services = Services.build(settings, migrate=False)
    params = S.GenerationParams(prompt=TITLE, width=64, height=64)
    session, _ = S.create_session(services, DEMO_OWNER, params, idempotency_key="e2e-trash")
    while process_next(services, "e2e") is not None:
        pass

    page.goto(studio_app.url)
    card = page.get_by_text(TITLE, exact=True).first
    card.wait_for()
    settle(page)
    page.get_by_role("button", name="Delete", exact=True).first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("goes to Recently deleted: 1 step, 1 image")
    page.screenshot(path=str(ARTIFACTS / "trash-1-confirm.png"), full_page=True)
    dialog.get_by_role("button", name="Delete", exact=False).first.click()
    expect(page.get_by_text("No sessions yet", exact=False)).to_be_visible()

    page.get_by_role("link", name="Recently deleted").click()
    expect(page.get_by_role("heading", name="Recently deleted")).to_be_visible()
    expect(page.get_by_text(TITLE, exact=False).first).to_be_visible()
    restore = page.get_by_role("button", name="Restore").first
    expect(restore).to_be_visible()
    settle(page)
    page.screenshot(path=str(ARTIFACTS / "trash-2-recently-deleted.png"), full_page=True)
    restore.click()
    expect(page.get_by_text("Nothing was deleted recently", exact=False)).to_be_visible()

    page.get_by_role("link", name="Home").click()
    expect(page.get_by_text(TITLE, exact=True).first).to_be_visible()
    assert S.get_session(services, DEMO_OWNER, session.id).title == TITLE
    services.close()


def test_import_an_exported_session_from_home(studio_app, page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    from studio.lifecycle import archive

    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=studio_app.db_url,
        storage_url=str(studio_app.media),
        embedded_worker=False,
    )
    services = Services.build(settings, migrate=False)
    params = S.GenerationParams(prompt="a harbour at noon", width=64, height=64)
    session, _ = S.create_session(services, "someone-else", params, idempotency_key="e2e-imp")
    while process_next(services, "e2e") is not None:
        pass
    name, data = archive.export_session(services, "someone-else", session.id)
    zip_path = tmp_path / name
    zip_path.write_bytes(data)

    page.goto(studio_app.url)
    page.get_by_text("Import a session").click()
    page.locator("input[type=file]").set_input_files(str(zip_path))
    import_button = page.get_by_role("button", name="Import", exact=True)
    expect(import_button).to_be_enabled()
    import_button.click()
    expect(page.get_by_role("heading", name="a harbour at noon")).to_be_visible()
    assert "session=" in page.url
    settle(page)
    page.screenshot(path=str(ARTIFACTS / "import-1-imported.png"), full_page=True)
    cards, total = S.list_sessions(services, DEMO_OWNER)
    assert total == 1 and cards[0].title == "a harbour at noon" and cards[0].id != session.id
    services.close()
