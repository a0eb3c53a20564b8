"""The configuration panel: database, storage, worker and providers (with why some are off)."""

from __future__ import annotations

import streamlit as st
from sqlalchemy.engine import Engine

from db.engine import database_label
from studio.jobs.reads import job_counts
from studio.services import Services


@st.cache_data(ttl=5, show_spinner=False)
def _waiting_jobs(database: str, _engine: Engine) -> int:
    """Pending + running jobs of `database`. Counting scans the jobs table (no index on status,
    on purpose: see db/schema.py), so Home reruns share one count for a few seconds."""
    counts = job_counts(_engine)
    return counts.get("pending", 0) + counts.get("running", 0)


def render_configuration(services: Services) -> None:
    settings = services.settings
    with st.container(border=True):
        st.subheader("This studio")
        c1, c2, c3 = st.columns(3)
        c1.metric("Database", database_label(services.engine).split(" ")[0])
        c1.caption(database_label(services.engine))
        c2.metric("Storage", "S3" if settings.storage_url.startswith("s3://") else "Local files")
        c2.caption(settings.storage_url)
        c3.metric("Jobs waiting", _waiting_jobs(settings.database_url, services.engine))
        c3.caption("Embedded worker " + ("on" if settings.embedded_worker else "off"))

        st.markdown("**Providers**")
        for status in services.providers:
            icon = ":material/check_circle:" if status.available else ":material/block:"
            color = "green" if status.available else "gray"
            models = ", ".join(m.label for m in status.models)
            detail = f"{status.reason}" + (f" · {models}" if models else "")
            st.markdown(f":{color}[{icon}] **{status.label}** — {detail}")
