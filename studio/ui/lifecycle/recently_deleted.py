"""Recently deleted: what went to the trash, when it will be purged, and a Restore button."""

from __future__ import annotations

import math

import streamlit as st

from db.types import utcnow
from studio.humanize import ago, plural
from studio.lifecycle import trash
from studio.services import Services
from studio.ui.common.feedback import flash, user_errors
from studio.ui.common.text import md

_ICONS = {
    "session": ":material/photo_library:",
    "step": ":material/account_tree:",
    "song": ":material/music_note:",
    "storyboard": ":material/movie:",
}


def render_recently_deleted(services: Services, owner: str) -> None:
    days = services.settings.trash_days
    st.caption(
        f"Deleted sessions, steps, songs and storyboards stay here for {days} days and can be "
        "restored whole; after that they are deleted for good."
    )
    items = trash.list_trash(services, owner)
    if not items:
        with st.container(border=True):
            st.markdown(":material/delete_outline: **Nothing was deleted recently.**")
        return
    now = utcnow()
    for item in items:
        with st.container(border=True, key=f"trash-{item.kind}-{item.id}"):
            text, button = st.columns([5, 1], vertical_alignment="center")
            text.markdown(f"{_ICONS[item.kind]} **{md(item.title)}** · {item.kind}")
            days_left = math.ceil((item.purge_at - now).total_seconds() / 86400)
            when = (
                f"deleted for good in {plural(days_left, 'day')}"
                if days_left > 0
                else "deleted for good at the next purge"
            )
            text.caption(f"Deleted {ago(item.deleted_at, now)} · {when}")
            if button.button(
                "Restore", icon=":material/restore_from_trash:", key=f"restore-{item.id}"
            ):
                with user_errors():
                    title = trash.restore(services, owner, item.kind, item.id)
                    flash(f"Restored {md(title)}")
                    st.rerun()
