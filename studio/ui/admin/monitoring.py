"""The Monitoring page's widgets: headline figures, a table per kind of work, and charts of
cost and completion time over the chosen period."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from studio import monitoring
from studio.humanize import duration
from studio.services import Services


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _secs(value: float | None) -> str:
    return duration(None if value is None else value * 1000)


def render_monitoring(services: Services) -> None:
    period = st.segmented_control(
        "Period",
        list(monitoring.PERIODS),
        default="Last 7 days",
        key="mon_period",
        required=True,
    )
    start = monitoring.since(period)
    stats = monitoring.job_stats(services.engine, start)
    overall = stats[0]
    if overall.total == 0 and overall.cost == 0:
        st.info(
            "No work in this period yet. Jobs from sessions, songs and storyboards show up "
            "here once they run.",
            icon=":material/monitoring:",
        )
        return

    c1, c2, c3, c4, c5 = st.columns(5)
    c1.metric("Jobs", f"{overall.total:,}", help="Created in the period, every kind.")
    c2.metric(
        "Success rate",
        _pct(overall.success_rate),
        help="Completed out of finished (completed + failed); canceled ones don't count.",
    )
    c3.metric("Average time", _secs(overall.avg_s), help="From claim to completion.")
    c4.metric("p95 time", _secs(overall.p95_s))
    c5.metric(
        "Cost",
        f"${overall.cost:,.2f}",
        help="Actual cost where the provider reported it, else the estimate.",
    )

    st.subheader("By kind of work")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "Kind": s.kind,
                    "Jobs": s.total,
                    "Completed": s.completed,
                    "Failed": s.failed,
                    "Canceled": s.canceled,
                    "Waiting": s.waiting,
                    "Success rate": s.success_rate,
                    "Average s": s.avg_s,
                    "p95 s": s.p95_s,
                    "Cost": s.cost,
                }
                for s in stats[1:]
            ]
        ),
        hide_index=True,
        width="stretch",
        column_config={
            "Success rate": st.column_config.ProgressColumn(
                min_value=0, max_value=1, format="percent"
            ),
            "Average s": st.column_config.NumberColumn(format="%.2f"),
            "p95 s": st.column_config.NumberColumn(format="%.2f"),
            "Cost": st.column_config.NumberColumn(format="$%.4f"),
        },
        key="mon_kinds",
    )

    costs = monitoring.cost_rows(services.engine, start)
    if costs and not any(c.cost for c in costs):
        st.caption("All work in this period was free (the offline renderer).")
    elif costs:
        frame = pd.DataFrame([c.__dict__ for c in costs])
        st.subheader("Cost over time")
        by_day = frame.pivot_table(index="day", columns="kind", values="cost", aggfunc="sum")
        st.bar_chart(by_day, y_label="USD", x_label="day (UTC)")
        left, right = st.columns(2)
        with left:
            st.markdown("**By model**")
            by_model = frame.assign(model=frame["provider"] + " · " + frame["model"])
            st.bar_chart(by_model.groupby("model")["cost"].sum(), horizontal=True, x_label="USD")
        with right:
            st.markdown("**By owner**")
            st.bar_chart(frame.groupby("owner")["cost"].sum(), horizontal=True, x_label="USD")
        if frame["estimated"].any():
            st.caption("Some costs are estimates: their provider reported no usage.")

    latency = monitoring.daily_latency(services.engine, start)
    if latency:
        st.subheader("Completion time and outcomes per day")
        lat = pd.DataFrame([d.__dict__ for d in latency]).set_index("day")
        left, right = st.columns(2)
        left.line_chart(
            lat[["avg_s", "p95_s"]].rename(columns={"avg_s": "average", "p95_s": "p95"}),
            y_label="seconds",
        )
        right.bar_chart(lat[["completed", "failed"]], y_label="jobs", color=["#2e9e5b", "#d64545"])
