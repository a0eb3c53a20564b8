"""The Songs admin widgets: the "Create song draft" form, the songs table, and a song's detail
(publish toggle, what the queue waits on, each verse's illustration, thumbnail and artifact)."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable

import pandas as pd
import streamlit as st

from db.schema import ImageAsset
from studio import assets, songs
from studio.form_keys import submission_key
from studio.services import Services
from studio.songs import SongRow, SongView, VerseView
from studio.ui.feedback import flash, user_errors
from studio.ui.identity import current_owner

VERSES_PER_PAGE = 10
MAX_STRIP = 40  # thumbnails in the song's overview strip
REFRESH_SECONDS = 2
_OPEN = "_songs_open"  # a song to open on the next run (set before the picker exists)
_CHOICE = "song_choice"
_FORM_GEN = "_song_form_gen"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>$])")


def _md(text: str) -> str:
    """Song text as markdown: special characters escaped, line breaks kept. A zero-width space
    after each colon keeps Streamlit from reading `:name:` as an icon or emoji."""
    return "  \n".join(
        _MD_SPECIAL.sub(r"\\\1", line).replace(":", ":\u200b") for line in text.split("\n")
    )


def _image_bytes(services: Services, asset: ImageAsset, *, thumbnail: bool = False) -> bytes | None:
    try:
        if thumbnail:
            return assets.read_thumbnail(services.storage, asset)
        return assets.read_bytes(services.storage, asset)
    except Exception:  # a missing file must not break the page; the verse says so
        return None


def _provider_label(services: Services, name: str) -> str:
    return next((s.label for s in services.providers if s.name == name), name)


def _data_url(data: bytes | None) -> str | None:
    if not data:
        return None
    mime = "image/webp" if data[8:12] == b"WEBP" else "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


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
                    f"Created the draft “{_md(song.title)}”: {count} illustration job(s) queued.",
                    icon=":material/library_add:",
                )
                st.session_state[_FORM_GEN] = gen + 1  # a fresh, empty form
                st.session_state[_OPEN] = song.id
                st.rerun()


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------


def songs_frame(services: Services, rows: list[SongRow]) -> pd.DataFrame:
    covers = [
        _data_url(_image_bytes(services, r.cover, thumbnail=True)) if r.cover else None
        for r in rows
    ]
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


def _pick_song(rows: list[SongRow]) -> str:
    """The open song: from a new draft, the table, the picker, or `?song=` in the URL."""
    ids = [r.id for r in rows]
    titles = {r.id: r.title for r in rows}
    pending = st.session_state.pop(_OPEN, None)
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


def _render_header(services: Services, owner: str, song: SongView) -> None:
    left, right = st.columns([4, 1], vertical_alignment="center")
    with left:
        st.subheader(_md(song.title), anchor=False)
        badges = st.container(horizontal=True, gap="small")
        with badges:
            if song.published:
                st.badge("Published", icon=":material/public:", color="green")
            else:
                st.badge("Draft", icon=":material/edit_note:", color="gray")
            for tag in song.tags:
                st.badge(_md(tag), icon=":material/sell:", color="blue")
    with right:
        label, icon = (
            ("Unpublish", ":material/public_off:")
            if song.published
            else ("Publish", ":material/public:")
        )
        if st.button(label, icon=icon, key="publish_toggle", width="stretch"):
            with user_errors():
                songs.set_published(services, owner, song.id, not song.published)
                flash(
                    f"“{_md(song.title)}” is {'a draft again' if song.published else 'published'}.",
                    icon=icon,
                )
                st.rerun()


def _render_progress(services: Services, song: SongView) -> None:
    p = song.progress
    cols = st.columns(5)
    cols[0].metric("Verses", p.verse_count)
    cols[1].metric("Illustrated", p.illustrated)
    cols[2].metric("Queued", p.queued)
    cols[3].metric("Running", p.running)
    cols[4].metric("Failed", p.failed)
    if song.conversation:
        c = song.conversation
        st.caption(
            f"Conversation `{c.conversation_id}` · {_provider_label(services, c.provider)} "
            f"· `{c.model}` "
            f"· started {c.created_at:%Y-%m-%d %H:%M} UTC"
        )


def _render_waiting(services: Services, owner: str, song: SongView) -> None:
    """What the song waits on; a failed verse holding the rest can be requeued or skipped."""
    p, head = song.progress, song.progress.head
    if p.blocked and head is not None:
        verse = next((v for v in song.verses if v.number == head.verse_number), None)
        n, later = head.verse_number, p.verse_count - head.verse_number
        waiting = ""
        if later > 1:
            waiting = f" Verses {n + 1}–{p.verse_count} wait for it."
        elif later == 1:
            waiting = f" Verse {p.verse_count} waits for it."
        st.warning(
            f"**Verse {n} failed**: {(head.last_error or 'no reason recorded').rstrip('.')}."
            f"{waiting} Requeue it to try again, or skip it to let the rest go on — here or "
            "on the Jobs page.",
            icon=":material/error:",
        )
        b1, b2, b3 = st.columns([1, 1, 3], vertical_alignment="center")
        if verse is not None:
            _verse_action(
                b1,
                f"Requeue verse {n}",
                ":material/replay:",
                "requeue_verse",
                lambda: songs.requeue_verse(services, owner, song.id, verse.id),
                f"Requeued verse {verse.number}.",
            )
            _verse_action(
                b2,
                f"Skip verse {n}",
                ":material/skip_next:",
                "skip_verse",
                lambda: songs.skip_verse(services, owner, song.id, verse.id),
                f"Skipped verse {verse.number}; the next verses go on.",
            )
        b3.page_link("views/jobs.py", label="Open Jobs", icon=":material/list_alt:")
    elif p.active:
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        c1.info(
            f"{p.waiting_on.capitalize()}. Verses are illustrated one at a time, in order, by "
            "the worker — or process them yourself from the Jobs page.",
            icon=":material/hourglass_top:",
        )
        c2.page_link("views/jobs.py", label="Open Jobs", icon=":material/list_alt:")
    elif p.verse_count and p.illustrated == p.verse_count:
        st.success(f"All {p.verse_count} verses are illustrated.", icon=":material/check_circle:")
    elif p.waiting_on:
        st.info(f"{p.waiting_on.capitalize()}.", icon=":material/info:")


def _verse_action(
    col: st.delta_generator.DeltaGenerator,
    label: str,
    icon: str,
    key: str,
    action: Callable[[], None],
    done: str,
) -> None:
    if col.button(label, icon=icon, key=key, width="stretch"):
        with user_errors():
            action()
            flash(done, icon=icon)
            st.rerun()


def _render_strip(services: Services, song: SongView) -> None:
    """The song at a glance: every illustrated verse's thumbnail, in order."""
    done = [v for v in song.verses if v.illustration is not None]
    if not done:
        return
    if len(done) > MAX_STRIP:
        st.caption(f"The first {MAX_STRIP} of {len(done)} illustrations:")
        done = done[:MAX_STRIP]
    pictures, captions = [], []
    for v in done:
        data = _image_bytes(services, v.illustration, thumbnail=True)  # type: ignore[arg-type]
        if data:
            pictures.append(data)
            captions.append(f"Verse {v.number}")
    if pictures:
        st.image(pictures, caption=captions, width=150)


def _verse_status(v: VerseView) -> str:
    if v.illustration is not None and v.job_status in (None, "completed"):
        return ""
    status = {
        "pending": "queued",
        "running": f"running ({v.job_stage})",
        "failed": "failed",
        "canceled": "skipped",
        "completed": "completed",
    }.get(v.job_status or "", "no job")
    return status + (f" · {v.waiting_on}" if v.waiting_on else "")


def _render_verse(services: Services, v: VerseView) -> None:
    with st.container(border=True):
        pic, words = st.columns([3, 2])
        with pic:
            data = _image_bytes(services, v.illustration) if v.illustration else None
            if data:
                st.image(data, width="stretch", caption=f"Verse {v.number}")
            elif v.illustration is not None:
                st.warning(
                    "The illustration file is missing from storage.",
                    icon=":material/broken_image:",
                )
            else:
                st.info(f"Not illustrated yet: {_verse_status(v)}.", icon=":material/image:")
        with words:
            st.markdown(f"**Verse {v.number}**")
            st.markdown(_md(v.text))
            if v.provider:
                st.caption(
                    f":material/brush: {_provider_label(services, v.provider)} · `{v.model}`"
                    + (f" · {v.illustrated_at:%Y-%m-%d %H:%M} UTC" if v.illustrated_at else "")
                )
            if v.summary:
                st.markdown(f":material/notes: *{_md(v.summary)}*")
            if v.job_status == "failed" and v.last_error:
                st.error(
                    f"Failed ({v.error_class or 'unknown'}): {v.last_error}",
                    icon=":material/error:",
                )
            elif v.illustration is not None and _verse_status(v):
                st.caption(f"A new run is {_verse_status(v)}.")
            if v.prompt or v.illustration is not None:
                with st.expander("Prompt and thumbnail", icon=":material/description:"):
                    if v.illustration is not None:
                        thumb = _image_bytes(services, v.illustration, thumbnail=True)
                        if thumb:
                            st.image(
                                thumb,
                                caption="Thumbnail (replayed to the model with the next verses)",
                                width=160,
                            )
                    if v.prompt:
                        st.code(v.prompt, language=None, wrap_lines=True)


def _render_verses(services: Services, song: SongView) -> None:
    verses = song.verses
    if len(verses) > VERSES_PER_PAGE:
        pages = (len(verses) + VERSES_PER_PAGE - 1) // VERSES_PER_PAGE
        page = st.selectbox(
            "Verses",
            options=list(range(pages)),
            format_func=lambda i: (
                f"{i * VERSES_PER_PAGE + 1}–{min(len(verses), (i + 1) * VERSES_PER_PAGE)}"
            ),
            key=f"verse_page_{song.id}",
        )
        verses = verses[page * VERSES_PER_PAGE : (page + 1) * VERSES_PER_PAGE]
    for v in verses:
        _render_verse(services, v)


def render_song(services: Services, owner: str, song_id: str) -> None:
    """A song's detail. While verses are queued or running it refreshes itself every couple of
    seconds (the embedded worker or `studio worker` may be illustrating them)."""
    with user_errors():
        song = songs.get_song(services, owner, song_id)
        _render_header(services, owner, song)
        active = song.progress.active

        @st.fragment(run_every=REFRESH_SECONDS if active else None)
        def live() -> None:
            with user_errors():
                current = songs.get_song(services, owner, song_id)
                if active and not current.progress.active:
                    st.rerun()  # done: refresh the whole page (table included), stop polling
                _render_progress(services, current)
                _render_waiting(services, owner, current)
                _render_strip(services, current)
                _render_verses(services, current)

        live()


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
