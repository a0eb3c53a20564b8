"""Showing errors and results: a clear message on the page, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from studio.errors import StudioError

log = logging.getLogger("studio.ui")


@contextmanager
def user_errors(prefix: str = "") -> Iterator[None]:
    """Turn domain errors into an error box, and anything else into a short apology."""
    try:
        yield
    except StudioError as err:
        st.error(f"{prefix}{err.user_message}")
    except Exception:
        log.exception("unexpected error on a page")
        st.error(f"{prefix}Something went wrong on our side. Nothing was lost; please try again.")


def flash(message: str, icon: str = ":material/check_circle:") -> None:
    """Queue a toast for the next run (survives st.rerun)."""
    st.session_state.setdefault("_flash", []).append((message, icon))


def show_flashes() -> None:
    for message, icon in st.session_state.pop("_flash", []):
        st.toast(message, icon=icon)
