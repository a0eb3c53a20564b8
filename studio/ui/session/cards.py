"""Home's grid of previous sessions: thumbnail, title, last update; paged, newest first."""

from __future__ import annotations

import math

import streamlit as st

from db.types import utcnow
from studio import sessions
from studio.humanize import ago
from studio.services import Services
from studio.ui.common.media import show_image, thumbnail
from studio.ui.common.text import md
from studio.ui.lifecycle.delete import delete_button

PER_PAGE = 12
COLUMNS = 4
SESSION_PAGE = "pages/session.py"


def render_session_cards(services: Services, owner_id: str) -> None:
    page = int(st.session_state.get("home_page", 1))
    cards, total = sessions.list_sessions(services, owner_id, page=page, per_page=PER_PAGE)
    pages = max(1, math.ceil(total / PER_PAGE))
    if page > pages:  # sessions went away since the page was chosen
        st.session_state["home_page"] = page = pages
        cards, total = sessions.list_sessions(services, owner_id, page=page, per_page=PER_PAGE)

    st.header("Your sessions", anchor=False)
    if total == 0:
        with st.container(border=True):
            st.markdown(
                ":material/auto_awesome: **No sessions yet.** Write a prompt above and press "
                "**Generate**: your first image starts a session, and every step you take from "
                "it is kept here."
            )
        return

    now = utcnow()
    for start in range(0, len(cards), COLUMNS):
        cols = st.columns(COLUMNS)
        for col, card in zip(cols, cards[start : start + COLUMNS], strict=False):
            with col.container(border=True):
                thumb = thumbnail(card.thumbnail)
                if thumb is not None:
                    show_image(thumb, alt=f"Latest image of {card.title[:120]}", width="stretch")
                else:
                    st.markdown(":material/hourglass_top: *no image yet*")
                st.markdown(f"**{md(card.title)}**")
                with st.container(horizontal=True, vertical_alignment="center", gap="small"):
                    st.page_link(
                        SESSION_PAGE,
                        label="Open",
                        icon=":material/photo_library:",
                        query_params={"session": card.id},
                        help=md(card.title),
                    )
                    delete_button(
                        services,
                        owner_id,
                        "session",
                        card.id,
                        key=f"del-{card.id}",
                        label="Delete",
                        type="tertiary",
                    )
                steps = f"{card.generation_count} step" + (
                    "s" if card.generation_count != 1 else ""
                )
                busy = f" · {card.active_count} in progress" if card.active_count else ""
                st.caption(f"{ago(card.updated_at, now)} · {steps}{busy}")

    if pages > 1:
        c1, c2, c3 = st.columns([1, 2, 1])
        c1.button(
            "Newer",
            icon=":material/chevron_left:",
            key="home_prev",
            disabled=page <= 1,
            on_click=_go,
            args=(page - 1,),
        )
        c2.caption(f"Page {page} of {pages} · {total} sessions")
        c3.button(
            "Older",
            icon=":material/chevron_right:",
            key="home_next",
            disabled=page >= pages,
            on_click=_go,
            args=(page + 1,),
        )


def _go(page: int) -> None:
    st.session_state["home_page"] = page
