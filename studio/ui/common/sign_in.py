"""The doors of the studio: the sign-in page, the message for a misconfigured `[auth]`, the
sidebar's account box (sign out, or the note that sign-in is off), and "Admins only"."""

from __future__ import annotations

import logging

import streamlit as st

from studio.config import Settings
from studio.ui.common.identity import (
    AuthConfig,
    Identity,
    SignInError,
    current_identity,
)
from studio.ui.common.text import md

log = logging.getLogger("studio.ui")

ADMINS_ONLY = "Admins only"


def render_sign_in(config: AuthConfig) -> None:
    """The sign-in page: what the studio is and one button per configured provider."""
    st.title("Image Studio")
    st.header("Sign in")
    st.write("Sign in to make images and see your sessions, storyboards and costs.")
    for provider in config.providers:
        label = "Sign in" if provider is None else f"Sign in with {provider.title()}"
        if st.button(label, type="primary", icon=":material/login:", key=f"login:{provider}"):
            try:
                st.login() if provider is None else st.login(provider)
            except Exception as err:  # Streamlit's own checks of [auth]: say which, plainly
                log.warning("sign-in could not start: %s", type(err).__name__)
                st.error(f"Sign-in could not start: {str(err).splitlines()[0][:300]}")


def render_auth_problems(config: AuthConfig) -> None:
    """Sign-in is configured but cannot work: name every mistake, show nothing else."""
    st.title("Image Studio")
    lines = "\n".join(f"- {p}" for p in config.problems)
    st.error(
        "Sign-in is configured in `.streamlit/secrets.toml` (its `[auth]` section) but "
        f"cannot work:\n\n{lines}\n\nFix it and restart the studio (see the README's "
        "*Sign-in* section). Remove the `[auth]` section to run the keyless local demo.",
        icon=":material/lock:",
    )


def identity_or_none(settings: Settings, config: AuthConfig) -> Identity | None:
    """The signed-in person; on a provider answer that names nobody, say so and offer to sign
    out."""
    try:
        return current_identity(settings, config)
    except SignInError as err:
        st.error(str(err), icon=":material/error:")
        if st.button("Sign out"):
            st.logout()
        return None


def render_account(identity: Identity) -> None:
    """In the sidebar: who is signed in and Sign out, or the note that sign-in is off."""
    with st.sidebar:
        if not identity.signed_in:
            st.info(
                "Sign-in is off: everyone who opens this address is the local user, an admin. "
                "Configure `[auth]` in `.streamlit/secrets.toml` to turn it on.",
                icon=":material/lock_open:",
            )
            return
        who = identity.name if not identity.email else f"{identity.name} ({identity.email})"
        role = " · admin" if identity.is_admin else ""
        st.caption(f"Signed in as {md(who)}{role}")
        st.caption(f"Your owner id (the CLI's `--owner`): {md(identity.owner_id)}")
        if st.button("Sign out", icon=":material/logout:", key="account:sign_out"):
            st.logout()


def render_admins_only() -> None:
    """What a non-admin sees at an admin page's address, and nothing else."""
    st.title(ADMINS_ONLY)
    st.warning(
        "This page is for the studio's admins. Ask one to add your verified email to "
        "STUDIO_ADMINS.",
        icon=":material/lock:",
    )


def is_admin() -> bool:
    """Whether the person acting is an admin (the demo user is)."""
    from studio.ui.common.services import get_services

    try:
        identity = current_identity(get_services().settings)
    except SignInError:
        identity = None
    return identity is not None and identity.is_admin


def require_admin() -> None:
    """Stop an admin page here unless the person acting is an admin."""
    if not is_admin():
        render_admins_only()
        st.stop()
