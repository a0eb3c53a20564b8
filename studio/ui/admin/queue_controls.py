"""The queue's controls on the Jobs page: pause and resume (the whole queue, a kind, a
provider), "process one, then pause", caps per kind and provider; and the line on Jobs and Home
that says what is paused, since when and by whom."""

from __future__ import annotations

import streamlit as st

from studio.jobs.reads import JobView, job_kinds
from studio.services import Services
from studio.ui.common.feedback import flash, user_errors
from studio.ui.common.identity import current_actor
from studio.ui.common.text import md


def render_pause_notice(services: Services) -> None:
    """One line per pause in place (nothing when the queue runs freely)."""
    for line in services.queue.pause_lines():
        st.warning(md(line), icon=":material/pause_circle:")


def _names(services: Services, scope: str) -> list[str]:
    if scope == "kind":
        return sorted(set(services.kinds) | set(job_kinds(services.engine)))
    return sorted(s.name for s in services.providers)


def render_queue_controls(services: Services) -> None:
    """Pause, resume, let one through, and caps: each held in the database for every worker."""
    queue = services.queue
    controls = queue.controls()
    whole = next((c for c in controls if c.scope == "all"), None)
    with st.expander("Pause and caps", icon=":material/tune:"):
        c1, c2 = st.columns(2)
        with user_errors():
            if whole is not None and whole.paused_at is not None:
                if c1.button("Resume the queue", key="queue_resume", type="primary"):
                    queue.resume()
                    flash("The queue runs again.", icon=":material/play_circle:")
                    st.rerun()
            elif c1.button("Pause the queue", key="queue_pause"):
                queue.pause(by=current_actor().shown[:200])
                flash("The queue is paused: running jobs finish, nothing new starts.")
                st.rerun()
            if c2.button(
                "Process one, then pause",
                key="queue_step",
                help="Pauses the queue and lets exactly one job, the next one, through.",
            ):
                job = queue.let_one_through(by=current_actor().shown[:200])
                flash(
                    f"Letting {md(job.label or job.kind)} through; the queue is paused."
                    if job
                    else "The queue is paused; no job is waiting."
                )
                st.rerun()

        st.markdown("**Pause a kind or a provider**")
        p1, p2, p3 = st.columns([1, 2, 1], vertical_alignment="bottom")
        scope = p1.selectbox("Pause", ["kind", "provider"], key="pause_scope")
        name = p2.selectbox(scope.capitalize(), _names(services, scope), key="pause_name")
        with user_errors():
            if p3.button("Pause", key="pause_one") and name:
                queue.pause(scope, name, by=current_actor().shown[:200])
                flash(f"Paused {scope} {md(name)}.", icon=":material/pause_circle:")
                st.rerun()
            for control in controls:
                if control.scope != "all" and control.paused_at is not None:
                    r1, r2 = st.columns([3, 1], vertical_alignment="center")
                    r1.caption(md(control.pause_line))
                    if r2.button("Resume", key=f"resume:{control.scope}:{control.name}"):
                        queue.resume(control.scope, control.name)
                        flash(f"Resumed {control.what}.", icon=":material/play_circle:")
                        st.rerun()

        st.markdown("**Caps** · at most so many jobs at once, across every worker")
        k1, k2, k3, k4 = st.columns([1, 2, 1, 1], vertical_alignment="bottom")
        cap_scope = k1.selectbox("Cap", ["kind", "provider"], key="cap_scope")
        cap_name = k2.selectbox(cap_scope.capitalize(), _names(services, cap_scope), key="cap_name")
        current = next(
            (c.cap for c in controls if (c.scope, c.name) == (cap_scope, cap_name)), None
        )
        cap = k3.number_input("At once", min_value=1, value=current or 1, key="cap_value")
        with user_errors():
            if k4.button("Set cap", key="cap_set") and cap_name:
                queue.set_cap(cap_scope, cap_name, int(cap), by=current_actor().shown[:200])
                flash(f"{cap_scope.capitalize()} {md(cap_name)}: at most {int(cap)} at once.")
                st.rerun()
            for control in controls:
                if control.cap is not None:
                    r1, r2 = st.columns([3, 1], vertical_alignment="center")
                    r1.caption(
                        f"{md(control.what)}: at most {control.cap} at once "
                        f"(set by {md(control.cap_by or '?')})"
                    )
                    if r2.button("Remove cap", key=f"uncap:{control.scope}:{control.name}"):
                        queue.set_cap(
                            control.scope, control.name, None, by=current_actor().shown[:200]
                        )
                        flash(f"No cap on {md(control.what)}.")
                        st.rerun()


def render_move(services: Services, job: JobView) -> None:
    """To the front, up, down: for a pending job."""
    if job.status != "pending":
        return
    cols = st.columns(3)
    labels = {"front": "To the front", "up": "Up", "down": "Down"}
    icons = {
        "front": ":material/vertical_align_top:",
        "up": ":material/arrow_upward:",
        "down": ":material/arrow_downward:",
    }
    with user_errors():
        for col, where in zip(cols, ("front", "up", "down"), strict=True):
            if col.button(labels[where], key=f"move_{where}", icon=icons[where]):
                services.queue.move(job.id, where)
                flash(f"Moved {md(job.label or job.kind)} {labels[where].lower()}.")
                st.rerun()
