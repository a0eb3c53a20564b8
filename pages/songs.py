"""Songs (admin): song drafts whose verses are illustrated in order, in one model conversation."""

from __future__ import annotations

import streamlit as st

from pages import run_under_app
from studio.ui.common.feedback import show_flashes
from studio.ui.common.services import get_services
from studio.ui.common.sign_in import require_admin
from studio.ui.songs.overview import render_songs_page

run_under_app()
require_admin()

st.title("Songs")
st.caption(
    "Paste a song: each verse gets one illustration, drawn one after another in one model "
    "conversation so characters and palette stay consistent."
)
show_flashes()
render_songs_page(get_services())
