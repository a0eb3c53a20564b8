"""The per-process Services container and the embedded worker, cached by Streamlit."""

from __future__ import annotations

import logging
import threading

import streamlit as st

from studio.config import Settings
from studio.jobs.observe import configure_logging
from studio.jobs.worker import WorkerLoop, default_worker_id
from studio.services import Services

log = logging.getLogger("studio.ui")


@st.cache_resource(show_spinner=False)
def _services_for(settings_json: str) -> Services:
    settings = Settings.model_validate_json(settings_json)
    if settings.log_format == "json":  # the studio's own records, one JSON line each
        configure_logging("json", logging.INFO, name="studio")
    return Services.build(settings)


def get_services() -> Services:
    """The Services for the current configuration (built and migrated once per process)."""
    settings = Settings()
    return _services_for(settings.model_dump_json())


@st.cache_resource(show_spinner=False)
def _embedded_worker(settings_json: str) -> WorkerLoop:
    services = _services_for(settings_json)
    loop = WorkerLoop(services, concurrency=1, worker_id=default_worker_id("embedded"))
    threading.Thread(target=loop.run, name="studio-embedded-worker", daemon=True).start()
    log.info("embedded worker started: %s", loop.worker_id)
    return loop


def ensure_embedded_worker() -> WorkerLoop | None:
    """Start the embedded worker thread once per process when STUDIO_EMBEDDED_WORKER is on."""
    settings = Settings()
    if not settings.embedded_worker:
        return None
    return _embedded_worker(settings.model_dump_json())
