"""The studio's pages: one thin script each, run by the navigation in app.py.

A page file can also be run by Streamlit itself. Until some session of a fresh server has run
app.py's `st.navigation`, Streamlit treats a `pages/` folder beside the entrypoint as its
automatic page list, so a first request for `/jobs` would run `pages/jobs.py` without app.py
(no start-up checks, no embedded worker, the wrong navigation). Every page therefore starts
with `run_under_app()`, which notices that and hands over to app.py, whose navigation then runs
the page as usual.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

_navigation = threading.local()  # each session's script runs in a thread of its own


@contextmanager
def navigation_running() -> Iterator[None]:
    """Mark the pages app.py's navigation runs in this script run."""
    previous = getattr(_navigation, "running", False)
    _navigation.running = True
    try:
        yield
    finally:
        _navigation.running = previous


def run_under_app() -> None:
    """Continue when app.py's navigation runs this page; otherwise run app.py instead (which
    runs this page through its navigation) and stop here."""
    if getattr(_navigation, "running", False):
        return
    import app

    app.main()
    st.stop()
