"""Recently deleted: restore a deleted session, step, song or storyboard."""

from __future__ import annotations

import streamlit as st

from pages import run_under_app
from studio.ui.common.feedback import show_flashes
from studio.ui.common.identity import current_owner
from studio.ui.common.services import get_services
from studio.ui.lifecycle.recently_deleted import render_recently_deleted

run_under_app()

services = get_services()
owner = current_owner()
show_flashes()

st.title("Recently deleted")
render_recently_deleted(services, owner)
