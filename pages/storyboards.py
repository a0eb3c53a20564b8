"""Storyboards: scenes and characters with their images and videos."""

from __future__ import annotations

import streamlit as st

from pages import run_under_app
from studio.ui.common.feedback import show_flashes, user_errors
from studio.ui.common.identity import current_owner
from studio.ui.common.services import get_services
from studio.ui.storyboards.page import render_storyboards_page

run_under_app()

st.title("Storyboards")
st.caption(
    "Scenes and characters, each with an image and a video made from your prompts: generate, "
    "edit the current image, make a video, or animate the image. Work runs on the queue."
)
show_flashes()
with user_errors():
    render_storyboards_page(get_services(), current_owner())
