"""The Songs admin page: the "Create song draft" form, the songs table, and picking the song whose
detail (studio/ui/song_detail.py) is shown."""

from __future__ import annotations

import base64
import time

import pandas as pd
import streamlit as st

from studio import songs
from studio.services import Services
from studio.songs import SongRow
from studio.submissions import submission_key
from studio.ui.common import media
from studio.ui.common.feedback import flash, user_errors
from studio.ui.common.identity import current_owner
from studio.ui.common.text import md
from studio.ui.songs.detail import render_song

_OPEN = "_songs_open"  # a song to open on the next run (set before the picker exists)
_CHOICE = "song_choice"
_FORM_GEN = "_song_form_gen"


def _cover(row: SongRow) -> str | None:
    """The cover thumbnail as the table's image column takes it: a presigned URL, or the bytes
    inline as a data URL (local storage)."""
    source = media.thumbnail_source(row.cover)
    if source is None or isinstance(source, str):
        return source
    mime = "image/webp" if source[8:12] == b"WEBP" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(source).decode('ascii')}"


# ---------------------------------------------------------------------------------------------
# Create
# ---------------------------------------------------------------------------------------------


def _provider_note(services: Services) -> str:
    name, model = songs.choose_provider(services)
    if name == "openrouter":
        return f"New songs are illustrated through OpenRouter with `{model}`."
    reason = next(
        (s.reason for s in services.providers if s.name == "openrouter"), "not configured"
    )
    return f"New songs are illustrated by the offline renderer (OpenRouter is off: {reason})."


def render_create_form(services: Services, owner: str, *, expanded: bool) -> None:
    """Title, tags and song text; one illustration job per verse is queued on submit."""
    gen = st.session_state.setdefault(_FORM_GEN, 0)
    with st.expander("Create song draft", expanded=expanded, icon=":material/library_add:"):
        with st.form(f"create_song_{gen}", border=False):
            title = st.text_input("Title", max_chars=songs.MAX_TITLE_CHARS, key=f"song_title_{gen}")
            tags = st.text_input(
                "Tags",
                placeholder="folk, morning, road trip",
                help=f"Comma-separated. Lower-cased and de-duplicated; at most {songs.MAX_TAGS}.",
                key=f"song_tags_{gen}",
            )
            text = st.text_area(
                "Song text",
                height=260,
                placeholder="First verse…\n\nSecond verse…",
                help=(
                    "Separate verses with a blank line. Each verse gets one illustration, "
                    "drawn in order in one model conversation."
                ),
                key=f"song_text_{gen}",
            )
            st.caption(_provider_note(services))
            submitted = st.form_submit_button(
                "Create song draft", type="primary", icon=":material/add:", key=f"create_{gen}"
            )
        if submitted:
            with user_errors("Not saved: "):
                key = submission_key(
                    st.session_state,
                    "create_song",
                    {"title": title, "tags": tags, "text": text},
                    time.time(),
                )
                song = songs.create_song_draft(
                    services, owner, title=title, tags=tags, text=text, idempotency_key=key
                )
                count = len(songs.split_verses(text))
                flash(
                    f"Created the draft “{md(song.title)}”: {count} illustration job(s) queued.",
                    icon=":material/library_add:",
                )
                st.session_state[_FORM_GEN] = gen + 1  # a fresh, empty form
                st.session_state[_OPEN] = song.id
                st.rerun()


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------


def songs_frame(services: Services, rows: list[SongRow]) -> pd.DataFrame:
    covers = [_cover(r) for r in rows]
    return pd.DataFrame(
        {
            "Cover": [c or "" for c in covers],
            "Title": [r.title for r in rows],
            "Status": ["Published" if r.published else "Draft" for r in rows],
            "Illustrated": [f"{r.progress.illustrated} / {r.progress.verse_count}" for r in rows],
            "Waiting on": [
                r.progress.waiting_on
                or ("all verses illustrated" if r.progress.verse_count else "")
                for r in rows
            ],
            "Queued": [r.progress.queued for r in rows],
            "Running": [r.progress.running for r in rows],
            "Failed": [r.progress.failed for r in rows],
            "Tags": [r.tags for r in rows],
            "Updated": [r.updated_at for r in rows],
        }
    )


def _select_from_table() -> None:
    """Callback: a row picked in the table opens that song."""
    state = st.session_state.get("songs_table")
    ids = st.session_state.get("_songs_table_ids", [])
    picked = state.selection.rows if state is not None else []
    if picked and picked[0] < len(ids):
        st.session_state[_CHOICE] = ids[picked[0]]


def render_table(services: Services, rows: list[SongRow]) -> None:
    st.session_state["_songs_table_ids"] = [r.id for r in rows]
    st.dataframe(
        songs_frame(services, rows),
        hide_index=True,
        width="stretch",
        row_height=56,
        column_config={
            "Cover": st.column_config.ImageColumn(width="small"),
            "Title": st.column_config.TextColumn(width="medium"),
            "Status": st.column_config.TextColumn(width="small"),
            "Illustrated": st.column_config.TextColumn(
                width="small", help="Illustrated verses / verses"
            ),
            "Waiting on": st.column_config.TextColumn(width="large"),
            "Queued": st.column_config.NumberColumn(width="small"),
            "Running": st.column_config.NumberColumn(width="small"),
            "Failed": st.column_config.NumberColumn(width="small"),
            "Tags": st.column_config.ListColumn(width="medium"),
            "Updated": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
        },
        key="songs_table",
        on_select=_select_from_table,
        selection_mode="single-row",
    )


# ---------------------------------------------------------------------------------------------
# One song
# ---------------------------------------------------------------------------------------------


FOUND_VERSE = "songs:found_verse"  # (song id, verse number) opened from a search result


def _pick_song(rows: list[SongRow]) -> str:
    """The open song: from a new draft, the table, the picker, or `?song=` in the URL."""
    ids = [r.id for r in rows]
    titles = {r.id: r.title for r in rows}
    pending = st.session_state.pop(_OPEN, None)
    found = st.query_params.get("verse")  # a search result's link: that song, that verse
    if found is not None:
        del st.query_params["verse"]
        linked = st.query_params.get("song")
        if linked in titles and str(found).isdigit():
            pending = linked
            st.session_state[FOUND_VERSE] = (linked, int(found))
    if pending in titles:
        st.session_state[_CHOICE] = pending
    elif st.session_state.get(_CHOICE) not in titles:
        linked = st.query_params.get("song")
        st.session_state[_CHOICE] = linked if linked in titles else ids[0]
    choice = st.selectbox(
        "Song",
        options=ids,
        format_func=lambda i: titles.get(i, i),
        key=_CHOICE,
        help="Pick a song here or click its row in the table.",
    )
    if st.query_params.get("song") != choice:
        st.query_params["song"] = choice
    return str(choice)


def render_songs_page(services: Services) -> None:
    owner = current_owner()
    rows: list[SongRow] = []
    with user_errors():
        rows = songs.list_songs(services, owner)
    render_create_form(services, owner, expanded=not rows)
    if not rows:
        st.info(
            "No songs yet. Create a draft above: each verse becomes one illustration job.",
            icon=":material/music_note:",
        )
        return
    render_table(services, rows)
    song_id = _pick_song(rows)
    st.divider()
    render_song(services, owner, song_id)
