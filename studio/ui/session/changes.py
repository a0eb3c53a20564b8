"""What changed between two steps (studio/sessions/diff.py), drawn: the prompt word by word
(added words green, removed ones struck through in red) and a table of the other fields."""

from __future__ import annotations

import streamlit as st

from studio.humanize import money
from studio.sessions import SessionPage
from studio.sessions.diff import StepDiff, WordChange
from studio.ui.common.text import md


def words_markdown(words: list[WordChange]) -> str:
    """The prompt diff as markdown; the words themselves are escaped (people's text)."""
    out = []
    for w in words:
        text = md(w.word)
        if w.kind == "added":
            out.append(f":green-background[**+{text}**]")
        elif w.kind == "removed":
            out.append(f":red-background[~~{text}~~]")
        else:
            out.append(text)
    return " ".join(out)


def render_diff(diff: StepDiff, *, title: str) -> None:
    """A diff under a small heading: the prompt's words, then every other changed field."""
    st.markdown(f"**{title}**")
    if diff.same:
        st.caption("Nothing changed: same prompt, parameters, model, mask and source.")
        return
    if diff.prompt_words:
        st.markdown(words_markdown(diff.prompt_words))
    rest = [c for c in diff.changes if c.key != "prompt"]
    if rest:
        st.dataframe(
            {
                "Changed": [c.label for c in rest],
                f"Step {diff.a_step}": [c.before for c in rest],
                f"Step {diff.b_step}": [c.after for c in rest],
            },
            hide_index=True,
            width="stretch",
        )


def session_totals(view: SessionPage) -> str:
    """The header's line: what the session cost, and its most expensive branch."""
    text = f"Session total {money(view.total_cost, None)}"
    if view.costliest is not None:
        step, cost = view.costliest
        text += f" · most expensive branch: {money(cost, None)} (up to step {step})"
    return text
