"""The delete confirmation: a dialog saying what goes (steps, images, videos, work canceled)
and that it can be restored from Recently deleted."""

from __future__ import annotations

from typing import Any

import streamlit as st

from studio.lifecycle import trash
from studio.services import Services
from studio.ui.common.feedback import flash, user_errors
from studio.ui.common.text import md

TRASH_PAGE = "pages/trash.py"
_NAMES = {"session": "session", "step": "step", "song": "song", "storyboard": "storyboard"}


def delete_button(
    services: Services,
    owner: str,
    kind: str,
    row_id: str,
    *,
    key: str,
    label: str | None = None,
    then: str | None = None,
    **button: Any,
) -> None:
    """A button that opens the confirmation; `then`: the page to go to once deleted."""
    if st.button(
        label or f"Delete {_NAMES[kind]}",
        icon=":material/delete:",
        key=key,
        help=f"Move this {_NAMES[kind]} to Recently deleted (it can be restored for "
        f"{services.settings.trash_days} days).",
        **button,
    ):
        confirm_delete(services, owner, kind, row_id, then)


@st.dialog("Delete?")
def confirm_delete(
    services: Services, owner: str, kind: str, row_id: str, then: str | None = None
) -> None:
    with user_errors():
        what = trash.what_goes(services, owner, kind, row_id)
        st.markdown(f"**{md(what.title)}** goes to Recently deleted: {md(what.sentence())}.")
        st.caption(
            f"You can restore it whole from Recently deleted for "
            f"{services.settings.trash_days} days; after that it is deleted for good "
            "(files other sessions still use are kept)."
        )
        left, right = st.columns(2)
        if left.button("Delete", type="primary", icon=":material/delete:", key="confirm_delete"):
            trash.delete(services, owner, kind, row_id)
            flash(
                f"Deleted {md(what.title)}: restore it from Recently deleted", ":material/delete:"
            )
            if then:
                st.switch_page(then)
            st.rerun()
        if right.button("Keep it", key="cancel_delete"):
            st.rerun()
