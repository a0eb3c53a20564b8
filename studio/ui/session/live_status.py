"""While steps are queued or running, a fragment looks at their state a few times a second
without rerunning the page; when one finishes, the whole page reruns once to show it (selected).

Why a short tick: Streamlit offers no way to push from the server, and a fragment that waited
for the job would hold the session's script thread (a click would wait for it). A fragment
rerun is cheap (one indexed query of the steps in flight), so it runs often, and only while
something is in flight; the first run uses what the page has just read.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from studio import sessions
from studio.services import Services
from studio.sessions import SessionPage, StepProgress
from studio.ui.session.history_tree import STATUS_ICONS

POLL_SECONDS = 0.2


def render_live_status(
    services: Services, owner: str, view: SessionPage, on_finished: Callable[[str], None]
) -> None:
    in_flight = {g.id: g.step for g in view.in_flight}
    if not in_flight:
        return
    read_now = [
        StepProgress(g.id, g.step, g.status, g.stage, g.cancel_requested) for g in view.in_flight
    ]

    @st.fragment(run_every=POLL_SECONDS)
    def live() -> None:
        if read_now:  # the run inline with the page: what the page read a moment ago
            steps = list(read_now)
            read_now.clear()
        else:
            steps = sessions.steps_in_flight(services, owner, view.id)
        finished = set(in_flight) - {s.id for s in steps}
        if finished:
            on_finished(max(finished, key=in_flight.__getitem__))
            st.rerun(scope="app")
        with st.container(border=True):
            for s in steps:
                stage = s.stage if s.status == "running" and s.stage else s.status
                extra = " · stopping at the next stage" if s.cancel_requested else ""
                st.markdown(f"{STATUS_ICONS.get(s.status, '')} **Step {s.step}** · {stage}{extra}")

    live()
