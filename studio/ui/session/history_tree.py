"""The session's history tree: every step with its number, thumbnail and status, branches
indented under the step they came from. Paged, so a session of a thousand steps draws as fast
as one of ten; the page holding the selected step is shown."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import streamlit as st

from studio.providers.base import mode_label
from studio.sessions import GenerationView, SessionView
from studio.ui.common.media import thumbnail

PER_PAGE = 20
MAX_INDENT = 6
STATUS_ICONS = {
    "queued": ":material/schedule:",
    "running": ":material/progress_activity:",
    "succeeded": ":material/check_circle:",
    "failed": ":material/error:",
    "canceled": ":material/block:",
}
BadgeColor = Literal["red", "orange", "yellow", "blue", "green", "violet", "gray"]

STATUS_COLORS: dict[str, BadgeColor] = {
    "queued": "gray",
    "running": "blue",
    "succeeded": "green",
    "failed": "red",
    "canceled": "gray",
}


def status_text(gen: GenerationView) -> str:
    color = STATUS_COLORS.get(gen.status, "gray")
    label = gen.status
    if gen.status == "running" and gen.stage:
        label = f"running · {gen.stage}"
    if gen.cancel_requested and gen.active:
        label += " · canceling"
    return f":{color}[{STATUS_ICONS.get(gen.status, '')} {label}]"


def render_tree(
    view: SessionView, selected_id: str | None, on_select: Callable[[str], None]
) -> None:
    nodes = list(view.walk())
    st.subheader("History")
    if not nodes:
        st.caption("No steps yet.")
        return
    pages = max(1, math.ceil(len(nodes) / PER_PAGE))
    page_key = f"tree_page:{view.id}"
    where = next((i for i, (_, g) in enumerate(nodes) if g.id == selected_id), 0)
    if st.session_state.get(f"{page_key}:follow") != selected_id:
        # a new selection (a click here, a finished step): show the page that holds it
        st.session_state[page_key] = where // PER_PAGE + 1
        st.session_state[f"{page_key}:follow"] = selected_id
    page = min(pages, max(1, int(st.session_state.get(page_key, 1))))

    st.caption(f"{len(nodes)} step" + ("s" if len(nodes) != 1 else "") + " · branches indented")
    for depth, gen in nodes[(page - 1) * PER_PAGE : page * PER_PAGE]:
        _node(view, gen, depth, gen.id == selected_id, on_select)

    if pages > 1:
        c1, c2, c3 = st.columns([1, 2, 1])
        c1.button(
            "",
            icon=":material/chevron_left:",
            key=f"{page_key}:prev",
            disabled=page <= 1,
            on_click=_turn,
            args=(page_key, page - 1),
        )
        c2.caption(f"Page {page} of {pages}")
        c3.button(
            "",
            icon=":material/chevron_right:",
            key=f"{page_key}:next",
            disabled=page >= pages,
            on_click=_turn,
            args=(page_key, page + 1),
        )


def _turn(page_key: str, page: int) -> None:
    st.session_state[page_key] = page


def _node(
    view: SessionView,
    gen: GenerationView,
    depth: int,
    selected: bool,
    on_select: Callable[[str], None],
) -> None:
    indent = min(depth, MAX_INDENT)
    weights = ([0.22 * indent] if indent else []) + [0.7, 2.3]
    cols = st.columns(weights, vertical_alignment="center", gap="small")
    thumb_col, text_col = cols[-2], cols[-1]
    thumb = thumbnail(gen.output) if gen.status == "succeeded" else None
    if thumb is not None:
        thumb_col.image(thumb, width="stretch")
    else:
        thumb_col.markdown(STATUS_ICONS.get(gen.status, ""))
    parent = view.by_id.get(gen.parent_id or "")
    branch = f" ← {parent.step}" if parent is not None else ""
    text_col.button(
        f"Step {gen.step}{branch}",
        key=f"node:{gen.id}",
        type="primary" if selected else "secondary",
        icon=":material/subdirectory_arrow_right:" if depth else None,
        on_click=on_select,
        args=(gen.id,),
        help=gen.generation.prompt[:300],
    )
    text_col.caption(f"{status_text(gen)} · {mode_label(gen.generation.mode)}")
