"""Home: a prompt box that starts a session, and the previous sessions as cards."""

from __future__ import annotations

import time

import streamlit as st

from pages import run_under_app
from studio import sessions
from studio.submissions import submission_key
from studio.ui.admin.queue_controls import render_pause_notice
from studio.ui.common.feedback import flash, show_flashes, user_errors
from studio.ui.common.identity import current_owner
from studio.ui.common.model_picker import pick_model
from studio.ui.common.services import get_services
from studio.ui.common.sign_in import is_admin
from studio.ui.common.status import render_configuration
from studio.ui.common.text import md
from studio.ui.lifecycle.archive import import_form
from studio.ui.search.page import render_search_box
from studio.ui.session import param_form
from studio.ui.session.cards import SESSION_PAGE, render_session_cards
from studio.ui.session.recent_prompts import render_recent_prompts

run_under_app()

services = get_services()
owner = current_owner()
show_flashes()

st.title("Image Studio")
st.caption("Make images with generative models step by step, and keep every step.")
render_pause_notice(services)
render_search_box()
render_recent_prompts(services, owner, "home")

with st.form("home_form", border=True):
    prompt = param_form.prompt_box(
        "home",
        label="Prompt",
        placeholder="Describe the image you want… (Ctrl+Enter to generate)",
        max_chars=services.settings.max_prompt_chars,
    )
    choice = pick_model(services, key="home:model", mode="text_to_image")
    param_form.advanced("home", size=True, strength=False)
    submitted = st.form_submit_button("Generate", type="primary", icon=":material/auto_awesome:")

if submitted:
    new_session = None
    with user_errors():
        key = submission_key(
            st.session_state, "home", param_form.form_content("home"), time.monotonic()
        )
        params = param_form.params("home", choice, prompt=prompt)
        new_session, _ = sessions.create_session(services, owner, params, idempotency_key=key)
    if new_session is not None:
        flash(f"Session started: {md(new_session.title)}")
        st.switch_page(SESSION_PAGE, query_params={"session": new_session.id})

render_session_cards(services, owner)
import_form(services, owner, SESSION_PAGE)

with st.expander("This studio", icon=":material/settings:"):
    render_configuration(services, internals=is_admin())
