"""Home: the studio's name and what it is running on."""

from __future__ import annotations

import streamlit as st

from studio.ui.services import get_services
from studio.ui.status import render_configuration

services = get_services()

st.title("Image Studio")
st.caption("Make images and short videos with generative models, step by step, and keep every step.")

render_configuration(services)
