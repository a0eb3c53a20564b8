"""Who is acting: the one place that reads `st.user` and the `[auth]` section of secrets.toml.

Three modes, decided by `.streamlit/secrets.toml`:

- no `[auth]` section: sign-in is off, everyone is the local demo user (an admin), and the
  sidebar says so;
- a valid `[auth]` section: a signed-out visitor sees only the sign-in page (`st.login`); a
  signed-in one is the provider's subject at its issuer (stable, unlike a name or an email);
- an `[auth]` section with a mistake: a message naming it, nothing else (no traceback, and
  never the demo user: a broken configuration must not open the studio to everyone).

Admins are the `STUDIO_ADMINS` emails, matched only when the provider says the email is
verified.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import streamlit as st

from studio.config import DEMO_OWNER, Settings
from studio.jobs.admin import Actor

log = logging.getLogger("studio.ui")

REQUIRED_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
OWNER_ID_MAX = 200  # the owner_id columns' length


@dataclass(frozen=True)
class Identity:
    """The person a page acts for."""

    owner_id: str
    name: str
    email: str | None = None
    is_admin: bool = False
    signed_in: bool = False  # False: the local demo user (sign-in is off)


DEMO_IDENTITY = Identity(owner_id=DEMO_OWNER, name="Local user", is_admin=True)


@dataclass(frozen=True)
class AuthConfig:
    """What `[auth]` in secrets.toml says: off, on (with its providers), or broken."""

    enabled: bool
    providers: tuple[str | None, ...] = ()  # None: the default provider (keys in [auth])
    problems: tuple[str, ...] = field(default_factory=tuple)


class SignInError(Exception):
    """The provider's answer cannot name a user (no subject or issuer)."""


def owner_id_for(issuer: str, subject: str) -> str:
    """The owner id of a signed-in person: their subject at their issuer, which the provider
    never reuses for someone else. Too long for the column: a digest of both."""
    readable = f"{subject}@{issuer}"
    if len(readable) <= OWNER_ID_MAX:
        return readable
    digest = hashlib.sha256(f"{issuer}\0{subject}".encode()).hexdigest()
    return f"oidc:{digest}"


def admin_emails(settings: Settings) -> frozenset[str]:
    return frozenset(e.strip().lower() for e in settings.admins.split(",") if e.strip())


def _verified(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def identity_from_claims(claims: Mapping[str, Any], admins: frozenset[str]) -> Identity:
    """The Identity of a signed-in person from their ID token's claims."""
    issuer, subject = claims.get("iss"), claims.get("sub")
    if not issuer or not subject:
        raise SignInError("The sign-in provider did not say who you are (no issuer or subject).")
    email = claims.get("email")
    email = str(email) if email else None
    verified = _verified(claims.get("email_verified"))
    name = claims.get("name") or claims.get("preferred_username") or email or str(subject)
    return Identity(
        owner_id=owner_id_for(str(issuer), str(subject)),
        name=str(name),
        email=email,
        is_admin=bool(email and verified and email.strip().lower() in admins),
        signed_in=True,
    )


def _absolute_http(url: object) -> bool:
    if not isinstance(url, str):
        return False
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def check_auth_section(section: Mapping[str, Any]) -> AuthConfig:
    """Validate an `[auth]` section: every problem found, each naming the key at fault."""
    problems: list[str] = []
    redirect = section.get("redirect_uri")
    if not redirect:
        problems.append(
            "`redirect_uri` is missing: the studio's address followed by /oauth2callback, "
            "e.g. http://localhost:8501/oauth2callback."
        )
    elif not _absolute_http(str(redirect).replace("{port}", "1")) or not str(redirect).endswith(
        "/oauth2callback"
    ):
        problems.append(
            "`redirect_uri` must be an absolute http(s) address ending in /oauth2callback, "
            "e.g. http://localhost:8501/oauth2callback."
        )
    secret = section.get("cookie_secret")
    if not isinstance(secret, str) or not secret.strip():
        problems.append(
            "`cookie_secret` is missing: set a long random string, e.g. the output of "
            '`python -c "import secrets; print(secrets.token_hex(32))"`.'
        )
    named = {k: v for k, v in section.items() if isinstance(v, Mapping) and k != "client_kwargs"}
    providers: list[str | None] = []
    if named:
        for name, provider in named.items():
            if "_" in name:
                problems.append(f"`[auth.{name}]`: a provider's name cannot contain `_`.")
            problems += _provider_problems(provider, f"[auth.{name}]")
            providers.append(name)
    else:
        problems += _provider_problems(section, "[auth]")
        providers.append(None)
    if not _authlib_installed():
        problems.append("Sign-in needs the Authlib package (>= 1.3.2): pip install Authlib.")
    return AuthConfig(enabled=True, providers=tuple(providers), problems=tuple(problems))


def _provider_problems(provider: Mapping[str, Any], where: str) -> list[str]:
    problems = []
    missing = [k for k in REQUIRED_PROVIDER_KEYS if not provider.get(k)]
    if missing:
        keys = ", ".join(f"`{k}`" for k in missing)
        problems.append(f"`{where}` is missing {keys} (from your OpenID Connect provider).")
    url = provider.get("server_metadata_url")
    if url and not _absolute_http(url):
        problems.append(
            f"`{where}` `server_metadata_url` must be an absolute http(s) address, e.g. "
            "https://accounts.google.com/.well-known/openid-configuration."
        )
    return problems


def _authlib_installed() -> bool:
    try:
        import authlib
    except ImportError:
        return False
    parts = tuple(int(p) for p in authlib.__version__.split(".")[:3] if p.isdigit())
    return parts >= (1, 3, 2)


def _secrets() -> Mapping[str, Any]:
    """The parsed secrets, {} without a secrets file. A file that exists but cannot be read is
    an error, not "no file": it must not silently turn sign-in off."""
    try:
        return st.secrets.to_dict()
    except Exception as err:
        files = [Path(p) for p in st.get_option("secrets.files") or ()]
        unreadable = [p for p in files if p.exists()]
        if unreadable:
            raise AuthConfigError(
                f"{unreadable[0]} could not be read ({type(err).__name__}); check that it is "
                "valid TOML."
            ) from None
        return {}


class AuthConfigError(Exception):
    pass


def auth_config() -> AuthConfig:
    """What the `[auth]` section of secrets.toml configures."""
    try:
        secrets = _secrets()
    except AuthConfigError as err:
        return AuthConfig(enabled=True, problems=(str(err),))
    section = secrets.get("auth")
    if section is None:
        return AuthConfig(enabled=False)
    if not isinstance(section, Mapping):
        return AuthConfig(enabled=True, problems=("`auth` must be a table: `[auth]`.",))
    return check_auth_section(section)


def _claims() -> dict[str, Any] | None:
    """The signed-in person's claims, None when signed out."""
    user = st.user
    if not user.get("is_logged_in"):
        return None
    return {key: user[key] for key in user}


def is_signed_in() -> bool:
    """Whether the browser's session carries a signed-in identity (sign-in on)."""
    return _claims() is not None


def current_identity(settings: Settings, config: AuthConfig | None = None) -> Identity | None:
    """Who this page acts for: the demo user when sign-in is off, the signed-in person, or
    None when signed out (or sign-in is misconfigured). SignInError: the provider's answer
    names nobody."""
    config = config or auth_config()
    if not config.enabled:
        return DEMO_IDENTITY
    if config.problems:
        return None
    claims = _claims()
    if claims is None:
        return None
    return identity_from_claims(claims, admin_emails(settings))


def current_owner() -> str:
    """The owner id every service call on a page acts as (app.py has already sent a visitor who
    is not signed in to the sign-in page)."""
    from studio.ui.common.services import get_services

    try:
        identity = current_identity(get_services().settings)
    except SignInError:
        identity = None
    if identity is None:
        st.stop()
    return identity.owner_id


def current_actor() -> Actor:
    """The person acting, as admin actions record them: owner id, and name with email."""
    from studio.ui.common.services import get_services

    identity = current_identity(get_services().settings)
    if identity is None:
        st.stop()
    shown = identity.name if not identity.email else f"{identity.name} ({identity.email})"
    return Actor(identity.owner_id, shown)
