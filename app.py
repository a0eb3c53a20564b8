"""Image Studio entrypoint: page config, services, embedded worker, navigation. Nothing else.

The pages live in views/, not pages/: Streamlit treats a pages/ folder as its old automatic
page list, and a first request to a deep link (/jobs) would then run that page without this
script (no embedded worker, no navigation)."""

from __future__ import annotations

import streamlit as st

from studio.ui.common.boot import boot

st.set_page_config(page_title="Image Studio", page_icon=":material/palette:", layout="wide")

if boot():
    studio_pages = [
        st.Page("views/home.py", title="Home", icon=":material/home:", default=True),
        st.Page(
            "views/session.py",
            title="Session",
            icon=":material/photo_library:",
            url_path="session",
            visibility="hidden",
        ),
        st.Page(
            "views/storyboards.py",
            title="Storyboards",
            icon=":material/movie:",
            url_path="storyboards",
        ),
    ]
    admin_pages = [
        st.Page("views/songs.py", title="Songs", icon=":material/music_note:", url_path="songs"),
        st.Page("views/jobs.py", title="Jobs", icon=":material/list_alt:", url_path="jobs"),
        st.Page(
            "views/monitoring.py",
            title="Monitoring",
            icon=":material/monitoring:",
            url_path="monitoring",
        ),
    ]
    st.navigation({"Studio": studio_pages, "Admin": admin_pages}).run()
