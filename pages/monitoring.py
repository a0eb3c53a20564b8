"""Monitoring (admin): success rate, completion time and cost, by kind, model and owner."""

from __future__ import annotations

import streamlit as st

from pages import run_under_app
from studio.ui.admin.monitoring import render_monitoring
from studio.ui.common.feedback import user_errors
from studio.ui.common.services import get_services
from studio.ui.common.sign_in import require_admin

run_under_app()
require_admin()

st.title("Monitoring")
st.caption("How the queue's work went: success rate, completion time and cost over time.")
with user_errors():
    render_monitoring(get_services())
