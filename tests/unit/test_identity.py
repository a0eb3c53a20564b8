"""Who a signed-in person is: a stable owner id from issuer and subject, admins by verified
email, and every mistake of an [auth] section named."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.ui.common.identity import (
    OWNER_ID_MAX,
    SignInError,
    check_auth_section,
    identity_from_claims,
    owner_id_for,
)

ADMINS = frozenset({"boss@example.com"})
GOOD = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "x" * 32,
    "client_id": "id",
    "client_secret": "secret",
    "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration",
}


def test_the_owner_is_the_subject_at_its_issuer_not_the_email_or_name() -> None:
    a = identity_from_claims({"iss": "https://a", "sub": "1", "email": "x@y.z"}, ADMINS)
    renamed = identity_from_claims({"iss": "https://a", "sub": "1", "email": "new@y.z"}, ADMINS)
    other_issuer = identity_from_claims({"iss": "https://b", "sub": "1", "email": "x@y.z"}, ADMINS)
    assert a.owner_id == renamed.owner_id == "1@https://a"
    assert other_issuer.owner_id != a.owner_id


def test_a_long_subject_still_fits_the_owner_column() -> None:
    owner = owner_id_for("https://issuer.example.com", "s" * 300)
    assert len(owner) <= OWNER_ID_MAX and owner == owner_id_for(
        "https://issuer.example.com", "s" * 300
    )


def test_claims_without_a_subject_name_nobody() -> None:
    with pytest.raises(SignInError):
        identity_from_claims({"iss": "https://a", "email": "boss@example.com"}, ADMINS)


@pytest.mark.parametrize(
    ("verified", "admin"), [(True, True), ("true", True), (False, False), (None, False)]
)
def test_admins_need_a_verified_listed_email(verified: object, admin: bool) -> None:
    claims = {
        "iss": "https://a",
        "sub": "1",
        "email": "Boss@Example.com",
        "email_verified": verified,
    }
    assert identity_from_claims(claims, ADMINS).is_admin is admin


def test_a_good_section_has_no_problems_and_named_providers_are_listed() -> None:
    assert check_auth_section(GOOD).problems == ()
    named = {
        "redirect_uri": GOOD["redirect_uri"],
        "cookie_secret": GOOD["cookie_secret"],
        "google": {k: GOOD[k] for k in ("client_id", "client_secret", "server_metadata_url")},
    }
    config = check_auth_section(named)
    assert config.problems == () and config.providers == ("google",)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"redirect_uri": "localhost:8501"}, "`redirect_uri` must be an absolute"),
        ({"redirect_uri": "http://localhost:8501/"}, "ending in /oauth2callback"),
        ({"cookie_secret": " "}, "`cookie_secret` is missing"),
        ({"server_metadata_url": "accounts.google.com"}, "`server_metadata_url` must be"),
        ({"client_id": None}, "missing `client_id`"),
    ],
)
def test_each_mistake_is_named(change: dict[str, object], named: str) -> None:
    section = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    assert any(named in p for p in check_auth_section(section).problems)


def test_a_secrets_file_that_is_not_toml_is_a_problem_not_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken secrets.toml must not silently turn sign-in off (and open the studio)."""
    import streamlit as st
    from streamlit import config
    from streamlit.runtime.secrets import Secrets

    from studio.ui.common.identity import auth_config

    bad = tmp_path / "secrets.toml"
    bad.write_text('[auth]\nredirect_uri = "http://localhost:8501/oauth2callback\n')
    monkeypatch.setattr(st, "secrets", Secrets())
    previous = config.get_option("secrets.files")
    config.set_option("secrets.files", [str(bad)])
    try:
        broken = auth_config()
        bad.unlink()
        monkeypatch.setattr(st, "secrets", Secrets())
        missing = auth_config()
    finally:
        config.set_option("secrets.files", previous)
    assert broken.enabled and len(broken.problems) == 1
    assert str(bad) in broken.problems[0] and "valid TOML" in broken.problems[0]
    assert not missing.enabled and missing.problems == ()
