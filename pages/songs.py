"""Songs: placeholder until the page lands."""

from __future__ import annotations

import streamlit as st

st.title("Songs")
st.info("Coming soon.")
