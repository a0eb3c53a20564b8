"""Start-up checks run on every page view: services reachable, worker started."""

from __future__ import annotations

import logging

import streamlit as st

from studio.ui.common.services import ensure_embedded_worker, get_services

log = logging.getLogger("studio.ui")


def boot() -> bool:
    """Build (once) the services and the embedded worker. On failure show why and stop."""
    try:
        get_services()
        ensure_embedded_worker()
    except Exception as err:  # a bad URL or a database that is down: say so, plainly
        log.exception("studio failed to start")
        st.title("Image Studio")
        st.error(
            "The studio could not start: its database or storage is not reachable.\n\n"
            f"`{type(err).__name__}: {str(err).splitlines()[0][:300]}`\n\n"
            "Check STUDIO_DATABASE_URL and STUDIO_STORAGE_URL (see the README), then reload."
        )
        return False
    return True
