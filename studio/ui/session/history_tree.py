"""The session's history: one page of its tree, depth first, each step with its number,
thumbnail and status; branches are indented under the line they leave and say which step they
came from. Only the page shown is read (studio/sessions/page.py), so a session of ten thousand
steps draws as fast as one of ten; by default the page holding the selected step is shown."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import streamlit as st

from studio.providers.base import mode_label
from studio.sessions import GenerationView, HistoryRow, SessionPage
from studio.ui.common.media import show_image, thumbnail_source
from studio.ui.common.text import md

STATUS_ICONS = {
    "queued": ":material/schedule:",
    "running": ":material/progress_activity:",
    "succeeded": ":material/check_circle:",
    "failed": ":material/error:",
    "canceled": ":material/block:",
}
BadgeColor = Literal["red", "orange", "yellow", "blue", "green", "violet", "gray"]

# Streamlit's darker text colours: readable on the light background (WCAG AA contrast).
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


def origin(row: HistoryRow) -> str:
    """Where a step came from, when that is not the step just before it."""
    if row.parent_step is not None and row.branches:
        return f" · from step {row.parent_step}"
    if row.parent_step is None and row.step.input is not None:
        return " · from an upload"
    return ""


def render_tree(
    view: SessionPage,
    selected_id: str | None,
    *,
    on_select: Callable[[str], None],
    on_page: Callable[[int], None],
) -> None:
    st.header("History", anchor=False)
    if not view.history:
        st.caption("No steps yet.")
        return
    n = view.step_count
    st.caption(f"{n} step" + ("s" if n != 1 else "") + " · branches indented")
    for row in view.history:
        _node(row, row.step.id == selected_id, on_select)
    if view.pages > 1:
        c1, c2, c3 = st.columns([1, 1, 1], vertical_alignment="center")
        c1.button(
            "Earlier",
            icon=":material/chevron_left:",
            key=f"tree_page:{view.id}:prev",
            disabled=view.page <= 1,
            on_click=on_page,
            args=(view.page - 1,),
            help="The page before this one",
        )
        c2.caption(f"Page {view.page} of {view.pages}")
        c3.button(
            "Later",
            icon=":material/chevron_right:",
            key=f"tree_page:{view.id}:next",
            disabled=view.page >= view.pages,
            on_click=on_page,
            args=(view.page + 1,),
            help="The page after this one",
        )


MAX_INDENT = 4


def _node(row: HistoryRow, selected: bool, on_select: Callable[[str], None]) -> None:
    gen = row.step
    indent = min(row.depth, MAX_INDENT)
    weights = ([0.22 * indent] if indent else []) + [0.7, 2.3]
    thumb_col, text_col = st.columns(weights, vertical_alignment="center", gap="small")[-2:]
    source = thumbnail_source(gen.output) if gen.status == "succeeded" else None
    if source is not None:
        with thumb_col:
            show_image(
                source, alt=f"Step {gen.step}: {gen.generation.prompt[:120]}", width="stretch"
            )
    else:
        thumb_col.markdown(STATUS_ICONS.get(gen.status, ""))
    text_col.button(
        f"Step {gen.step}",
        key=f"node:{gen.id}",
        type="primary" if selected else "secondary",
        icon=":material/subdirectory_arrow_right:" if row.branches else None,
        on_click=on_select,
        args=(gen.id,),
        help=md(gen.generation.prompt[:300]),
    )
    # markdown, not a caption: the status colour stays readable (a caption fades it)
    text_col.markdown(f"{status_text(gen)} · {mode_label(gen.generation.mode)}{origin(row)}")
