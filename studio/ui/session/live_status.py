"""While steps are queued or running, a fragment polls their status every second without
rerunning the page; when one finishes, the whole page reruns once to show it (selected)."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from studio import sessions
from studio.services import Services
from studio.sessions import SessionView
from studio.ui.session.history_tree import STATUS_ICONS

POLL_SECONDS = 1.0


def render_live_status(
    services: Services, owner: str, view: SessionView, on_finished: Callable[[str], None]
) -> None:
    in_flight = {g.id for g in view.generations if g.active}
    if not in_flight:
        return

    @st.fragment(run_every=POLL_SECONDS)
    def live() -> None:
        steps = sessions.steps_in_flight(services, owner, view.id)
        finished = in_flight - {s.id for s in steps}
        if finished:
            newest = max(finished, key=lambda gid: view.by_id[gid].step)
            on_finished(newest)
            st.rerun(scope="app")
        with st.container(border=True):
            for s in steps:
                stage = s.stage if s.status == "running" and s.stage else s.status
                extra = " · stopping at the next stage" if s.cancel_requested else ""
                st.markdown(f"{STATUS_ICONS.get(s.status, '')} **Step {s.step}** · {stage}{extra}")

    live()
