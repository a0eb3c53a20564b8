"""Image Studio entrypoint: page config, services, embedded worker, navigation. Nothing else."""

from __future__ import annotations

import streamlit as st

from studio.ui.boot import boot

st.set_page_config(page_title="Image Studio", page_icon=":material/palette:", layout="wide")

if boot():
    studio_pages = [st.Page("pages/home.py", title="Home", icon=":material/home:", default=True)]
    admin_pages = [st.Page("pages/jobs.py", title="Jobs", icon=":material/list_alt:", url_path="jobs")]
    st.navigation({"Studio": studio_pages, "Admin": admin_pages}).run()
