"""Recent prompts beside a prompt box: the person's last prompts, searchable, one click puts
one into the box. Read only while opened (an expander that reruns when toggled)."""

from __future__ import annotations

import streamlit as st

from studio import search
from studio.services import Services


def _use(prompt_key: str, text: str) -> None:
    st.session_state[prompt_key] = text


def render_recent_prompts(services: Services, owner: str, prefix: str) -> None:
    """An expander listing the last prompts; "Use" fills the form's prompt (`prefix`'s)."""
    shown = st.expander(
        "Recent prompts",
        icon=":material/history:",
        key=f"{prefix}:recent",
        on_change="rerun",
    )
    if not shown.open:
        return
    with shown:
        wanted = st.text_input(
            "Find a prompt", key=f"{prefix}:recent_filter", placeholder="a word of it…"
        )
        prompts = search.recent_prompts(services, owner, wanted or "")
        if not prompts:
            st.caption("No prompt found." if wanted else "Your prompts will be listed here.")
        for i, text in enumerate(prompts):
            row = st.container(horizontal=True, vertical_alignment="center")
            with row:
                st.button(
                    "Use",
                    key=f"{prefix}:recent_use:{i}",
                    icon=":material/north_west:",
                    on_click=_use,
                    args=(f"{prefix}:prompt", text),
                    help="Put this prompt into the form.",
                )
                st.text(text[:300])
