"""Export a session (Session page), a song or a storyboard as a zip; import a session zip as a
new session (Home)."""

from __future__ import annotations

import streamlit as st

from studio.lifecycle import archive, exports
from studio.services import Services
from studio.ui.common.feedback import flash, user_errors
from studio.ui.common.text import md


def export_button(services: Services, owner: str, session_id: str, title: str) -> None:
    """Download the session as a zip: every image as PNG with its parameters, and lineage.json."""
    st.download_button(
        "Export",
        data=lambda: archive.export_session(services, owner, session_id)[1],
        file_name=f"{archive.slug(title)}.zip",
        mime="application/zip",
        icon=":material/archive:",
        key=f"export-{session_id}",
        help="A zip of every step: images as PNG with their parameters, masks, and "
        "lineage.json (the tree, parameters, models, costs, times). Import it on any studio.",
    )


def zip_button(
    services: Services, owner: str, kind: str, row_id: str, title: str, *, key: str
) -> None:
    """Download a song or a storyboard as a zip: its text, images (PNG with their prompts) and
    videos, and a JSON file describing it."""
    export = exports.export_song if kind == "song" else exports.export_storyboard
    st.download_button(
        "Export",
        data=lambda: export(services, owner, row_id)[1],
        file_name=f"{archive.slug(title)}.zip",
        mime="application/zip",
        icon=":material/archive:",
        key=key,
        help=f"A zip of this {kind}: every image (PNG with its prompt) and video, and "
        f"{kind}.json describing it.",
    )


def import_form(services: Services, owner: str, session_page: str) -> None:
    """Upload an exported zip; it becomes a new session of yours."""
    with st.expander("Import a session", icon=":material/unarchive:"):
        upload = st.file_uploader(
            "A session exported from Image Studio (.zip)",
            type=["zip"],
            key="import_zip",
            max_upload_size=archive.MAX_ZIP_BYTES // (1024 * 1024),
        )
        if st.button(
            "Import", icon=":material/unarchive:", key="import_go", disabled=upload is None
        ):
            imported = None
            with user_errors():
                assert upload is not None
                imported = archive.import_session(services, owner, upload.getvalue())
            if imported is not None:
                flash(f"Imported {md(imported.title)}")
                st.switch_page(session_page, query_params={"session": imported.id})
