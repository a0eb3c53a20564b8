"""The Jobs admin widgets: filters, the queue table, per-job actions and "Process next job"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner_utils.exceptions import RerunException, StopException

from db.schema import JOB_STATUSES
from studio.jobs.admin import Actor
from studio.jobs.queue import ClaimedJob
from studio.jobs.reads import JobView, job_kinds, list_jobs
from studio.jobs.worker import JobOutcome, default_worker_id, process_next
from studio.services import Services
from studio.ui.admin.queue_controls import (
    render_move,
    render_pause_notice,
    render_queue_controls,
)
from studio.ui.common.feedback import flash, user_errors
from studio.ui.common.text import md


def _fmt_time(value: object) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def jobs_frame(rows: list[JobView]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            {
                "Place": r.position,
                "Job": r.label,
                "Status": r.status,
                "Stage": r.stage,
                "Waiting on": r.waiting_on,
                "Provider operation": r.operation_note,
                "Kind": r.kind,
                "Provider": r.provider or "",
                "Attempts": f"{r.attempts}/{r.max_attempts}",
                "Retries": r.retry_count,
                "Failure stage": r.failure_stage or "",
                "Error class": r.error_class or "",
                "Last error": r.last_error or "",
                "Last action": r.editor_note,
                "Est. cost": r.cost_estimate,
                "Cost": r.cost_actual,
                "Owner": r.owner_id or "",
                "Created": _fmt_time(r.created_at),
                "Started": _fmt_time(r.started_at),
                "Finished": _fmt_time(r.completed_at),
                "Id": r.short_id,
            }
            for r in rows
        ]
    )
    if not frame.empty:
        frame["Place"] = frame["Place"].astype("Int64")  # blank for jobs not waiting
    return frame


def run_inline(services: Services, show: Callable[[ClaimedJob, str], None]) -> JobOutcome | None:
    """`process_next` for a page: `show` draws each stage. A click or a closed tab while the
    job runs makes Streamlit raise its rerun or stop exception inside that drawing; the job is
    finished first (it may have been paid for already) and the exception raised after it."""
    interrupted: list[BaseException] = []

    def on_stage(job: ClaimedJob, stage: str) -> None:
        if interrupted:
            return  # the page is going away: draw nothing more
        try:
            show(job, stage)
        except (RerunException, StopException) as exc:
            interrupted.append(exc)

    outcome = process_next(services, default_worker_id("jobs-page"), on_stage=on_stage)
    if interrupted:
        raise interrupted[0]
    return outcome


def render_process_next(services: Services) -> None:
    """Claim and run one job inline, showing each stage as it happens."""
    if not st.button("Process next job", type="primary", key="process_next"):
        return
    with st.status("Looking for a job…", expanded=True) as status:

        def show(job: ClaimedJob, stage: str) -> None:
            status.update(label=f"{md(job.label or job.kind)}: {stage}")
            st.text(f"→ {stage}")

        with user_errors():
            outcome = run_inline(services, show)
            if outcome is None:
                status.update(label="Nothing to do: no job is waiting.", state="complete")
                st.write("The queue has no job that can run now.")
                return
            state: Literal["complete", "error"] = (
                "complete" if outcome.status == "completed" else "error"
            )
            status.update(
                label=f"{md(outcome.label or outcome.kind)}: {outcome.status}", state=state
            )
            st.text(outcome.message)


@st.dialog("Clear stuck job")
def _confirm_clear(services: Services, job: JobView, actor: Actor) -> None:
    st.write(
        f"**{md(job.label or job.kind)}** has been running since {_fmt_time(job.started_at)} "
        f"(last heartbeat {_fmt_time(job.heartbeat_at)}) on `{job.lease_owner}`."
    )
    st.warning(
        "Clearing fails the job with a clear reason and revokes its worker's lease: whatever "
        "that worker sends afterwards is discarded. You can requeue it later."
    )
    c1, c2 = st.columns(2)
    if c1.button("Clear job", type="primary", key="confirm_clear"):
        with user_errors():
            services.queue.clear(job.id, actor=actor)
            flash(f"Cleared {md(job.label or job.kind)}.")
            st.rerun()
    if c2.button("Keep it running", key="cancel_clear"):
        st.rerun()


def render_actions(services: Services, rows: list[JobView], actor: Actor) -> None:
    """Pick a job, then requeue / skip / cancel / clear it, as its status allows; each action
    records `actor` on the job."""
    if not rows:
        return
    by_id = {r.id: r for r in rows}
    choice = st.selectbox(
        "Job",
        options=list(by_id),
        format_func=lambda i: f"{by_id[i].label} · {by_id[i].status} · {by_id[i].short_id}",
        key="job_choice",
    )
    job = by_id[choice]
    render_move(services, job)
    cols = st.columns(4)
    with user_errors():
        if job.status in ("failed", "canceled") and cols[0].button("Requeue", key="requeue"):
            services.queue.requeue(job.id, actor=actor)
            flash(f"Requeued {md(job.label or job.kind)}.")
            st.rerun()
        if job.status in ("pending", "failed") and cols[1].button("Skip", key="skip"):
            services.queue.cancel(job.id, actor=actor)
            flash(f"Skipped {md(job.label or job.kind)}.", icon=":material/skip_next:")
            st.rerun()
        if job.status == "running":
            if cols[2].button("Cancel", key="cancel_running", disabled=job.cancel_requested):
                services.queue.cancel(job.id, actor=actor)
                flash(
                    "Cancel requested: the worker stops at its next stage.",
                    icon=":material/cancel:",
                )
                st.rerun()
            if cols[3].button("Clear…", key="clear"):
                _confirm_clear(services, job, actor)
    if job.editor_note:
        st.caption(f"Last action: {md(job.editor_note)} at {_fmt_time(job.editor_action_at)}")
    if job.provider_operation:
        what = "Resumed" if job.resumed_operation else "Started"
        st.caption(
            f"{what} provider operation `{job.provider_operation}` "
            f"(submitted {_fmt_time(job.provider_operation_at)}); it is paid once, and a "
            "retry of this job polls it again instead of starting another."
        )
    if job.last_error:
        st.caption(
            f"Last error ({job.error_class or 'unknown'}, at {job.failure_stage or '?'}): "
            f"{md(job.last_error)}"
        )


def render_jobs_page(services: Services, actor: Actor) -> None:
    render_pause_notice(services)
    render_process_next(services)
    render_queue_controls(services)
    f1, f2 = st.columns(2)
    kinds = f1.multiselect("Kind", job_kinds(services.engine), key="filter_kinds")
    statuses = f2.multiselect("Status", list(JOB_STATUSES), key="filter_statuses")
    rows = list_jobs(services.engine, kinds=kinds or None, statuses=statuses or None)
    if not rows:
        st.info("No jobs yet. Work from sessions, songs and storyboards shows up here.")
        return
    st.dataframe(
        jobs_frame(rows),
        hide_index=True,
        width="stretch",
        column_config={
            "Est. cost": st.column_config.NumberColumn(format="$%.4f"),
            "Cost": st.column_config.NumberColumn(format="$%.4f"),
            "Last error": st.column_config.TextColumn(width="large"),
        },
        key="jobs_table",
    )
    render_actions(services, rows, actor)
