"""Image Studio entrypoint: page config, start-up (services, embedded worker), navigation.

The pages are thin scripts in pages/; each starts with `run_under_app()` so that a page run by
Streamlit directly (a fresh server's first request for a deep link) hands over to `main`.
"""

from __future__ import annotations

import streamlit as st

from pages import navigation_running
from studio.ui.common.boot import boot
from studio.ui.common.icon import page_icon


def main() -> None:
    """Configure the page, start the studio, and run the page the URL asks for."""
    st.set_page_config(page_title="Image Studio", page_icon=page_icon(), layout="wide")
    if not boot():
        return
    studio_pages = [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page(
            "pages/session.py",
            title="Session",
            icon=":material/photo_library:",
            url_path="session",
            visibility="hidden",
        ),
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
    page = st.navigation({"Studio": studio_pages, "Admin": admin_pages})
    with navigation_running():
        page.run()


if __name__ == "__main__":
    main()
