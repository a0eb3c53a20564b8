"""Image Studio entrypoint: page config, start-up (services, embedded worker), navigation.

The pages are thin scripts in pages/; each starts with `run_under_app()` so that a page run by
Streamlit directly (a fresh server's first request for a deep link) hands over to `main`.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from pages import navigation_running
from studio.ui.common.boot import boot
from studio.ui.common.icon import page_icon
from studio.ui.common.identity import AuthConfig, auth_config, is_signed_in
from studio.ui.common.services import get_services
from studio.ui.common.sign_in import (
    ADMINS_ONLY,
    identity_or_none,
    render_account,
    render_admins_only,
    render_auth_problems,
    render_sign_in,
)

URL_PATHS = ("session", "storyboards", "songs", "jobs", "monitoring")


def main() -> None:
    """Configure the page, start the studio, and run the page the URL asks for."""
    st.set_page_config(page_title="Image Studio", page_icon=page_icon(), layout="wide")
    config = auth_config()
    if config.problems:
        _only(render_auth_problems, config, "Sign-in is misconfigured")
        return
    if config.enabled and not is_signed_in():
        _only(render_sign_in, config, "Sign in")
        return
    if not boot():
        return
    identity = identity_or_none(get_services().settings, config)
    if identity is None:
        return
    render_account(identity)
    studio_pages = [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page(
            "pages/session.py",
            title="Session",
            icon=":material/photo_library:",
            url_path="session",
            visibility="hidden",
        ),
        st.Page("pages/search.py", title="Search", icon=":material/search:", url_path="search"),
        st.Page(
            "pages/storyboards.py",
            title="Storyboards",
            icon=":material/movie:",
            url_path="storyboards",
        ),
        st.Page(
            "pages/trash.py",
            title="Recently deleted",
            icon=":material/delete:",
            url_path="trash",
        ),
    ]
    admin_pages = [
        st.Page("pages/songs.py", title="Songs", icon=":material/music_note:", url_path="songs"),
        st.Page("pages/jobs.py", title="Jobs", icon=":material/list_alt:", url_path="jobs"),
        st.Page(
            "pages/monitoring.py",
            title="Monitoring",
            icon=":material/monitoring:",
            url_path="monitoring",
        ),
    ]
    if identity.is_admin:
        page = st.navigation({"Studio": studio_pages, "Admin": admin_pages})
    else:  # the admin pages' addresses answer "Admins only", and the navigation omits them
        closed = [
            st.Page(render_admins_only, title=ADMINS_ONLY, url_path=p, visibility="hidden")
            for p in ("songs", "jobs", "monitoring")
        ]
        page = st.navigation({"Studio": studio_pages + closed})
    with navigation_running():
        page.run()


def _only(render: Callable[[AuthConfig], None], config: AuthConfig, title: str) -> None:
    """A single page whatever the address: the sign-in page, or what is wrong with [auth]. The
    studio's addresses answer it too (no "page not found" over a shared session link)."""

    def only() -> None:
        render(config)

    pages = [st.Page(only, title=title, default=True)] + [
        st.Page(only, title=title, url_path=path, visibility="hidden") for path in URL_PATHS
    ]
    st.navigation(pages, position="hidden").run()


if __name__ == "__main__":
    main()
