"""Image Studio entrypoint: page config, services, embedded worker, navigation. Nothing else."""

from __future__ import annotations

import streamlit as st

from studio.ui.boot import boot

st.set_page_config(page_title="Image Studio", page_icon=":material/palette:", layout="wide")

if boot():
    studio_pages = [
        st.Page("pages/home.py", title="Home", icon=":material/home:", default=True),
        st.Page("pages/session.py", title="Session", icon=":material/photo_library:",
                url_path="session", visibility="hidden"),
        st.Page("pages/storyboards.py", title="Storyboards", icon=":material/movie:",
                url_path="storyboards"),
    ]
    admin_pages = [
        st.Page("pages/songs.py", title="Songs", icon=":material/music_note:", url_path="songs"),
        st.Page("pages/jobs.py", title="Jobs", icon=":material/list_alt:", url_path="jobs"),
    ]
    st.navigation({"Studio": studio_pages, "Admin": admin_pages}).run()
