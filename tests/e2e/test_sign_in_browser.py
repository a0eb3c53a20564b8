"""Sign-in through a real OpenID Connect provider on loopback (oidc-provider-mock, run in this
process), as two people: each sees only their own sessions, Bob gets "not found" for Alice's
session link and "Admins only" at /jobs, Alice (an admin by her verified email) requeues a job
and the Jobs page records her; signing out passes through the provider's end-session page and
ends on the sign-in page. Nothing secret reaches the app's log."""

from __future__ import annotations

import json
import re
import secrets
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from studio import sessions
from studio.config import Settings
from studio.services import Services
from studio.sessions.ownership import SESSION_NOT_FOUND
from studio.ui.common.identity import owner_id_for
from tests.e2e.conftest import ARTIFACTS, CHROMIUM_ARGS, free_port, settle, start_app, stop_app
from tests.e2e.test_accessibility_browser import audit

pytestmark = pytest.mark.browser

CLIENT_SECRET = f"e2e-client-secret-{secrets.token_hex(8)}"
COOKIE_SECRET = f"e2e-cookie-secret-{secrets.token_hex(16)}"


@pytest.fixture
def provider() -> Iterator[str]:
    """The provider's address; Alice's email is verified, Bob's too (he is just not an admin)."""
    oidc = pytest.importorskip("oidc_provider_mock")
    users = [
        oidc.User(
            sub="alice",
            claims={"email": "alice@example.com", "email_verified": True, "name": "Alice"},
        ),
        oidc.User(
            sub="bob", claims={"email": "bob@example.com", "email_verified": True, "name": "Bob"}
        ),
    ]
    with oidc.run_server_in_thread(port=0, user_claims=users) as server:
        yield f"http://localhost:{server.server_port}"


def _secrets_toml(app_port: int, provider: str) -> str:
    return (
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{app_port}/oauth2callback"\n'
        f'cookie_secret = "{COOKIE_SECRET}"\n'
        'client_id = "image-studio"\n'
        f'client_secret = "{CLIENT_SECRET}"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n'
    )


def _sign_in(page: Any, url: str, who: str) -> None:
    from playwright.sync_api import expect

    page.goto(url)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name=who, exact=True).click()  # the provider's preset user
    expect(page.get_by_text(f"Signed in as {who.title()}")).to_be_visible()
    settle(page)


def test_two_people_an_admin_and_sign_out_through_a_real_provider(
    tmp_path: Path, sqlite_template: Path, chromium: str, provider: str
) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)
    with urllib.request.urlopen(f"{provider}/.well-known/openid-configuration") as r:
        issuer = json.load(r)["issuer"]
    alice, bob = owner_id_for(issuer, "alice"), owner_id_for(issuer, "bob")

    db = tmp_path / "e2e.db"
    shutil.copy(sqlite_template, db)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite:///{db}",
        storage_url=str(tmp_path / "media"),
        embedded_worker=False,
    )
    services = Services.build(settings, migrate=False)
    broken = services.queue.enqueue("no_such_kind", label="broken job", owner_id=bob)
    claimed = services.queue.claim("e2e")
    assert claimed is not None and claimed.id == broken.id
    services.queue.fail(claimed, error_class="permanent", message="no worker knows it")
    harbour, _ = sessions.create_session(
        services, alice, sessions.GenerationParams(prompt="Alice's harbour"), idempotency_key="a"
    )
    sessions.create_session(
        services, bob, sessions.GenerationParams(prompt="Bob's mountain"), idempotency_key="b"
    )

    port = free_port()
    app = start_app(
        tmp_path,
        db,
        port=port,
        secrets_toml=_secrets_toml(port, provider),
        env_extra={"STUDIO_ADMINS": "alice@example.com"},
    )
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                # --- signed out: the sign-in page and nothing else, at any address
                anon = browser.new_page(viewport={"width": 1400, "height": 1000})
                anon.goto(f"{app.url}/session?session={harbour.id}")
                expect(anon.get_by_role("button", name="Sign in")).to_be_visible()
                expect(anon.get_by_text("Alice's harbour")).to_have_count(0)
                expect(anon.get_by_text("Page not found")).to_have_count(0)
                anon.screenshot(path=str(ARTIFACTS / "sign-in.png"), full_page=True)
                found = audit(anon, "sign-in page")
                anon.close()

                # --- Alice, an admin: her session only, the Jobs page, a recorded requeue
                a = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                _sign_in(a, app.url, "alice")
                expect(a.get_by_text("Alice's harbour").first).to_be_visible()
                expect(a.get_by_text("Bob's mountain")).to_have_count(0)
                a.get_by_role("link", name="Jobs").click()
                expect(a.get_by_role("heading", name="Jobs")).to_be_visible()
                settle(a)
                a.get_by_role("combobox", name="Job").click()
                a.get_by_role("option", name="broken job", exact=False).click()
                settle(a)
                a.get_by_role("button", name="Requeue").click()
                expect(a.get_by_text("Requeued broken job")).to_be_visible()
                job = services.queue.get(broken.id)
                assert job.status == "pending" and job.editor_action == "requeued"
                assert (job.editor_id, job.editor_name) == (alice, "Alice (alice@example.com)")
                expect(a.get_by_text("Last action: requeued by Alice")).to_be_visible()
                a.screenshot(path=str(ARTIFACTS / "sign-in-admin-jobs.png"), full_page=True)

                # --- Bob: his session only; Alice's link is not found; /jobs is Admins only
                b = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                _sign_in(b, app.url, "bob")
                expect(b.get_by_text("Bob's mountain").first).to_be_visible()
                expect(b.get_by_text("Alice's harbour")).to_have_count(0)
                expect(b.get_by_role("link", name="Jobs")).to_have_count(0)
                b.goto(f"{app.url}/session?session={harbour.id}")
                expect(b.get_by_text(SESSION_NOT_FOUND)).to_be_visible()
                expect(b.get_by_text("Alice's harbour")).to_have_count(0)
                b.goto(f"{app.url}/jobs")
                expect(b.get_by_role("heading", name="Admins only")).to_be_visible()
                expect(b.get_by_text("broken job")).to_have_count(0)
                b.screenshot(path=str(ARTIFACTS / "sign-in-admins-only.png"), full_page=True)
                found += audit(b, "admins only, with the account box")

                # --- Bob signs out: the provider's end-session page, then the sign-in page
                b.goto(app.url)
                b.get_by_role("button", name="Sign out").click()
                b.get_by_role("button", name="End session").click()
                expect(b.get_by_role("button", name="Sign in")).to_be_visible()
                expect(b.get_by_text("Bob's mountain")).to_have_count(0)
                b.reload()
                expect(b.get_by_role("button", name="Sign in")).to_be_visible()
                assert found == []  # axe: the sign-in page and the account box
            finally:
                browser.close()
    finally:
        stop_app(app)
        services.close()

    # --- nothing secret in the app's log: no client or cookie secret, no token
    log = app.log.read_text(errors="replace")
    assert CLIENT_SECRET not in log and COOKIE_SECRET not in log
    assert not re.search(r"eyJ[\w-]{10,}\.[\w-]{10,}", log), "a JWT reached the log"
    assert "access_token" not in log and "id_token" not in log
