"""Jobs (admin): the queue, Process next job, requeue / skip / cancel / clear."""

from __future__ import annotations

import streamlit as st

from pages import run_under_app
from studio.ui.admin.jobs import render_jobs_page
from studio.ui.common.feedback import show_flashes
from studio.ui.common.identity import current_actor
from studio.ui.common.services import get_services
from studio.ui.common.sign_in import require_admin

run_under_app()
require_admin()

st.title("Jobs")
st.caption(
    "One queue for all work: session generations, verse illustrations, storyboard images and videos."
)
show_flashes()
render_jobs_page(get_services(), current_actor())
