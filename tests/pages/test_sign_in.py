"""Sign-in through AppTest: the keyless demo, a misconfigured [auth], the sign-in page, and (on
Streamlit versions whose AppTest can seed `st.user`) signed-in users and admins."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from studio import sessions
from studio.services import Services
from studio.sessions.params import GenerationParams
from tests.pages.conftest import ROOT

AUTH = {
    "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
    "cookie_secret": "a-long-random-test-cookie-secret",
    "client_id": "studio",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": "http://127.0.0.1:1/.well-known/openid-configuration",
}
ISSUER = "http://127.0.0.1:1"


def _texts(app: AppTest) -> str:
    parts = [
        str(e.value)
        for kind in ("title", "markdown", "caption", "error", "warning", "info")
        for e in getattr(app, kind)
    ]
    parts += [str(e.value) for e in app.sidebar.info] + [str(e.value) for e in app.sidebar.caption]
    return " ".join(parts)


def _deep_link(page: str) -> AppTest:
    """A fresh server's first request for an admin page: Streamlit runs the page file itself."""
    return AppTest.from_file(str(ROOT / "pages" / f"{page}.py"), default_timeout=60)


def _signed_in(app: AppTest, sub: str, email: str, *, verified: bool = True) -> AppTest:
    if not hasattr(app, "user"):
        pytest.skip("this Streamlit's AppTest cannot seed st.user (1.67+)")
    app.secrets["auth"] = dict(AUTH)
    app.user = {
        "is_logged_in": True,
        "iss": ISSUER,
        "sub": sub,
        "email": email,
        "email_verified": verified,
        "name": sub.title(),
    }
    return app


def test_without_auth_the_demo_user_is_an_admin_and_the_sidebar_says_sign_in_is_off(
    app: AppTest,
) -> None:
    app.run()
    assert not app.exception
    assert app.title[0].value == "Image Studio"
    assert any("Sign-in is off" in str(i.value) for i in app.sidebar.info)
    assert {"Database", "Storage", "Jobs waiting"} <= {m.label for m in app.metric}
    app.switch_page("pages/jobs.py").run()
    assert not app.exception and app.title[0].value == "Jobs"


@pytest.mark.parametrize(
    ("drop", "named"),
    [
        ("cookie_secret", "`cookie_secret` is missing"),
        ("redirect_uri", "`redirect_uri` is missing"),
        ("client_secret", "`client_secret`"),
    ],
)
def test_a_misconfigured_auth_section_names_the_mistake_and_shows_nothing_else(
    app: AppTest, drop: str, named: str
) -> None:
    app.secrets["auth"] = {k: v for k, v in AUTH.items() if k != drop}
    app.run()
    assert not app.exception
    assert len(app.error) == 1 and named in app.error[0].value
    assert not app.text_area and not app.button and "Sign-in is off" not in _texts(app)


def test_signed_out_visitors_see_only_the_sign_in_page(
    app: AppTest, app_services: Services
) -> None:
    sessions.create_session(
        app_services,
        "someone",
        GenerationParams(prompt="A secret lighthouse"),
        idempotency_key="k",
    )
    app.secrets["auth"] = dict(AUTH)
    app.run()
    assert not app.exception
    assert [b.label for b in app.button] == ["Sign in"]
    assert "lighthouse" not in _texts(app) and not app.text_area
    deep = _deep_link("jobs")
    deep.secrets["auth"] = dict(AUTH)
    deep.run()
    assert [b.label for b in deep.button] == ["Sign in"] and "Jobs" not in _texts(deep)


def test_a_signed_in_user_sees_their_own_sessions_and_not_the_admin_pages(
    app: AppTest, app_services: Services
) -> None:
    from studio.ui.common.identity import owner_id_for

    mine = owner_id_for(ISSUER, "alice")
    sessions.create_session(
        app_services, mine, GenerationParams(prompt="Alice's harbour"), idempotency_key="a"
    )
    sessions.create_session(
        app_services,
        owner_id_for(ISSUER, "bob"),
        GenerationParams(prompt="Bob's mountain"),
        idempotency_key="b",
    )
    _signed_in(app, "alice", "alice@example.com").run()
    assert not app.exception
    text = _texts(app)
    assert "harbour" in text and "mountain" not in text
    assert "Signed in as Alice" in text
    assert "Sign out" in [b.label for b in app.sidebar.button]
    metrics = {m.label for m in app.metric}  # the studio's internals are for admins
    assert not metrics & {"Database", "Storage", "Jobs waiting"}, metrics
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page("pages/jobs.py")  # not in a non-admin's navigation (the browser test
        # opens its address: "Admins only")


@pytest.mark.parametrize(("verified", "admin"), [(True, True), (False, False)])
def test_admins_are_the_listed_emails_only_when_verified(
    app: AppTest, monkeypatch: pytest.MonkeyPatch, verified: bool, admin: bool
) -> None:
    monkeypatch.setenv("STUDIO_ADMINS", "Boss@Example.com, other@example.com")
    _signed_in(app, "boss", "boss@example.com", verified=verified)
    app.switch_page("pages/jobs.py").run()
    assert not app.exception
    assert (app.title[0].value == "Jobs") is admin
