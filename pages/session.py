"""Session: the selected image large, the next step's form, and the history
(opened from Home, or by a link with `?session=<id>`; `&step=<n>` selects a step)."""

from __future__ import annotations

import streamlit as st

from pages import run_under_app
from studio import sessions
from studio.errors import StudioError
from studio.ui.common.feedback import flash, show_flashes, user_errors
from studio.ui.common.identity import current_owner
from studio.ui.common.services import get_services
from studio.ui.common.text import md
from studio.ui.lifecycle.archive import export_button
from studio.ui.lifecycle.delete import delete_button
from studio.ui.session import param_form
from studio.ui.session.changes import session_totals
from studio.ui.session.history_tree import render_tree
from studio.ui.session.live_status import render_live_status
from studio.ui.session.next_step import form_prefix, model_key, render_next_step
from studio.ui.session.replay import render_replay
from studio.ui.session.step_view import (
    render_actions,
    render_compare,
    render_details,
    render_viewer,
)

run_under_app()

services = get_services()
owner = current_owner()
show_flashes()

session_id = st.query_params.get("session")
if not session_id:
    st.title("Session")
    st.info("Open a session from Home, or start one with a prompt there.")
    st.page_link("pages/home.py", label="Home", icon=":material/home:")
    st.stop()

SELECTED = f"selected:{session_id}"  # the chosen step's id (absent: the link's step, or latest)
PAGE = f"tree_page:{session_id}"  # the history page turned to (absent: the selected step's)

try:
    view = sessions.open_session(
        services,
        owner,
        session_id,
        selected_id=st.session_state.get(SELECTED),
        step=st.query_params.get("step"),
        page=st.session_state.get(PAGE),
    )
except StudioError as err:
    st.title("Session")
    st.error(md(err.user_message), icon=":material/error:")
    st.page_link("pages/home.py", label="Back to Home", icon=":material/home:")
    st.stop()


def select(generation_id: str) -> None:
    st.session_state[SELECTED] = generation_id
    st.session_state.pop(PAGE, None)  # show the page that holds it
    chosen = view.by_id.get(generation_id)
    if chosen is not None:
        st.query_params["step"] = str(chosen.step)


def select_new(generation_id: str) -> None:
    """A step made or finished just now (maybe not read yet): select it for the next run."""
    st.session_state[SELECTED] = generation_id
    st.session_state.pop(PAGE, None)
    st.query_params.pop("step", None)


def turn_page(page: int) -> None:
    st.session_state[PAGE] = page


def duplicate(generation_id: str) -> None:
    with user_errors():
        p = sessions.duplicate_params(services, owner, generation_id)
        param_form.fill(st.session_state, form_prefix(view.id), p, model_key(view.id))
        flash("Parameters copied into the form")


selected = view.selected

st.title(md(view.title), anchor=False)
st.caption(session_totals(view))
with st.container(horizontal=True, gap="small", vertical_alignment="center"):
    st.page_link("pages/home.py", label="All sessions", icon=":material/home:")
    export_button(services, owner, view.id, view.title)
    delete_button(services, owner, "session", view.id, key="delete_session", then="pages/home.py")

render_live_status(services, owner, view, on_finished=select_new)

main, side = st.columns([3, 2], gap="large")
with main:
    if selected is not None:
        render_viewer(view, selected)
        render_actions(
            services, owner, view, selected, on_duplicate=duplicate, on_new_step=select_new
        )
        render_replay(services, owner, view, selected, on_new_step=select_new)
        render_details(view, selected)
        render_compare(view, selected)
    st.divider()
    render_next_step(services, owner, view, selected, on_select=select, on_new_step=select_new)
with side:
    render_tree(view, selected.id if selected else None, on_select=select, on_page=turn_page)
