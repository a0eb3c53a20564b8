"""Storyboards: placeholder until the page lands."""

from __future__ import annotations

import streamlit as st

st.title("Storyboards")
st.info("Coming soon.")
