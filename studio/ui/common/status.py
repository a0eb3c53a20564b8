"""The configuration panel: database, storage, worker, and providers per model family (what is
on, and exactly what is missing for the rest)."""

from __future__ import annotations

import streamlit as st
from sqlalchemy.engine import Engine

from db.engine import database_label
from studio.jobs.reads import job_counts
from studio.providers.registry import ProviderStatus
from studio.services import Services


@st.cache_data(ttl=5, show_spinner=False)
def _waiting_jobs(database: str, _engine: Engine) -> int:
    """Pending + running jobs of `database`. Counting scans the jobs table (no index on status,
    on purpose: see db/schema.py), so Home reruns share one count for a few seconds."""
    counts = job_counts(_engine)
    return counts.get("pending", 0) + counts.get("running", 0)


def render_configuration(services: Services, *, internals: bool = True) -> None:
    """`internals` (for admins): the database, the storage and the queue's size besides the
    providers; people who share a studio see only which models they can use."""
    settings = services.settings
    with st.container(border=True):
        st.subheader("This studio")
        if internals:
            c1, c2, c3 = st.columns(3)
            c1.metric("Database", database_label(services.engine).split(" ")[0])
            c1.caption(database_label(services.engine))
            storage = "S3" if settings.storage_url.startswith("s3://") else "Local files"
            c2.metric("Storage", storage)
            c2.caption(settings.storage_url)
            c3.metric("Jobs waiting", _waiting_jobs(settings.database_url, services.engine))
            c3.caption("Embedded worker " + ("on" if settings.embedded_worker else "off"))

        st.markdown("**Providers**")
        for status in services.providers:
            render_provider(status)
        st.caption("Set-up, prices and `studio providers check`: docs/providers.md.")


def provider_lines(status: ProviderStatus) -> list[str]:
    """Markdown lines for one provider: itself, then each of its model families when it has
    several (each on or off with its reason, and the models it offers)."""
    by_family: dict[str, list[str]] = {}
    for model in status.models:
        by_family.setdefault(model.family, []).append(model.label)
    families = status.families if len(status.families) > 1 else ()

    def line(on: bool, label: str, reason: str, models: list[str], indent: str = "") -> str:
        icon = ":material/check_circle:" if on else ":material/block:"
        detail = reason + (f" · {', '.join(models)}" if models else "")  # the studio's own words
        return f"{indent}:{'green' if on else 'gray'}[{icon}] **{label}** — {detail}"

    top = [] if families else [m for ms in by_family.values() for m in ms]
    lines = [line(status.available, status.label, status.reason, top)]
    for f in families:
        lines.append(line(f.available, f.label, f.reason, by_family.get(f.name, []), "- "))
    return lines


def render_provider(status: ProviderStatus) -> None:
    st.markdown("\n".join(provider_lines(status)))
