"""Search results: each with its thumbnail, where it is, and a link to the exact step, verse,
scene or character."""

from __future__ import annotations

from typing import Any

import streamlit as st

from studio.search import SearchHit
from studio.ui.common.media import show_image, thumbnail
from studio.ui.common.text import md

KIND_LABELS = {
    "step": "Session step",
    "verse": "Song verse",
    "verse_prompt": "Verse prompt",
    "scene": "Scene",
    "character": "Character",
    "request": "Storyboard prompt",
}


def link_of(hit: SearchHit) -> tuple[str, dict[str, Any]] | None:
    """The page and query of the exact place a hit is (None: nowhere to open)."""
    if hit.container_id is None:
        return None
    if hit.kind == "step":
        return "pages/session.py", {"session": hit.container_id, "step": str(hit.position)}
    if hit.kind in ("verse", "verse_prompt"):
        return "pages/songs.py", {"song": hit.container_id, "verse": str(hit.position)}
    query = {"storyboard": hit.container_id}
    if hit.kind in ("scene", "character") and hit.item_id:
        query["entity"] = hit.item_id
    return "pages/storyboards.py", query


def where(hit: SearchHit) -> str:
    place = hit.container_title or "no storyboard"
    if hit.kind == "step":
        return f"{place} · step {hit.position}"
    if hit.kind in ("verse", "verse_prompt"):
        return f"{place} · verse {hit.position}"
    return place


def render_results(hits: list[SearchHit]) -> None:
    """One bordered row per hit."""
    for hit in hits:
        with st.container(border=True):
            pic, body = st.columns([1, 5], vertical_alignment="center")
            with pic:
                thumb = thumbnail(hit.thumbnail)
                if thumb is not None:
                    show_image(thumb, alt=f"{KIND_LABELS[hit.kind]}: {hit.text[:120]}", width=96)
                else:
                    st.markdown(":material/image_not_supported:")
            with body:
                badges = st.container(horizontal=True, gap="small")
                with badges:
                    st.badge(KIND_LABELS[hit.kind], color="violet")
                    if hit.exact:
                        st.badge("exact match", icon=":material/check:", color="green")
                    if hit.status:
                        st.badge(hit.status, color="gray")
                    if hit.model:
                        st.badge(f"{md(hit.provider or '')} · {md(hit.model)}", color="gray")
                st.text(hit.text[:400])  # people's text: plain, never markdown
                target = link_of(hit)
                caption = f"{md(where(hit))} · {hit.created_at:%Y-%m-%d %H:%M} UTC"
                if target is None:
                    st.caption(caption)
                else:
                    st.page_link(
                        target[0],
                        label=f"Open: {md(where(hit))}",
                        icon=":material/open_in_new:",
                        query_params=target[1],
                    )
                    st.caption(f"{hit.created_at:%Y-%m-%d %H:%M} UTC")
