"""One song on the Songs page: publish toggle, progress, what the queue waits on (with requeue
and skip), the thumbnail strip, and each verse's illustration, thumbnail and artifact."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from studio import songs
from studio.humanize import money
from studio.services import Services
from studio.songs import SongView, VerseView
from studio.ui.common import media
from studio.ui.common.feedback import flash, user_errors
from studio.ui.common.text import md
from studio.ui.lifecycle.archive import zip_button
from studio.ui.lifecycle.delete import delete_button

VERSES_PER_PAGE = 10
MAX_STRIP = 40  # thumbnails in the song's overview strip
REFRESH_SECONDS = 2


def _provider_label(services: Services, name: str) -> str:
    return next((s.label for s in services.providers if s.name == name), name)


def _render_header(services: Services, owner: str, song: SongView) -> None:
    left, right = st.columns([4, 1], vertical_alignment="center")
    with left:
        st.header(md(song.title), anchor=False)
        badges = st.container(horizontal=True, gap="small")
        with badges:
            if song.published:
                st.badge("Published", icon=":material/public:", color="green")
            else:
                st.badge("Draft", icon=":material/edit_note:", color="gray")
            st.badge(
                f"total cost {money(song.total_cost, None)}",
                icon=":material/payments:",
                color="orange",
            )
            for tag in song.tags:
                st.badge(md(tag), icon=":material/sell:", color="blue")
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
                    f"“{md(song.title)}” is {'a draft again' if song.published else 'published'}.",
                    icon=icon,
                )
                st.rerun()
        zip_button(services, owner, "song", song.id, song.title, key="export_song")
        delete_button(
            services, owner, "song", song.id, key="delete_song", then="pages/songs.py",
            width="stretch",
        )  # fmt: skip


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
            f"Conversation {c.conversation_id} · {_provider_label(services, c.provider)} "
            f"· {md(c.model)} "
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
            f"**Verse {n} failed**: {md((head.last_error or 'no reason recorded').rstrip('.'))}."
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
        b3.page_link("pages/jobs.py", label="Open Jobs", icon=":material/list_alt:")
    elif p.active:
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        c1.info(
            f"{p.waiting_on.capitalize()}. Verses are illustrated one at a time, in order, by "
            "the worker — or process them yourself from the Jobs page.",
            icon=":material/hourglass_top:",
        )
        c2.page_link("pages/jobs.py", label="Open Jobs", icon=":material/list_alt:")
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
        source = media.thumbnail_source(v.illustration)
        if source is not None:
            pictures.append(source)
            captions.append(f"Verse {v.number}")
    if pictures:
        media.show_image(
            pictures,
            alt=[f"Illustration of {c.lower()}" for c in captions],
            caption=captions,
            width=150,
        )


def _verse_status(v: VerseView) -> str:
    state = v.state
    if state.status == "succeeded":
        return ""
    status = {
        "running": f"running ({state.stage})",
        "canceled": "skipped" if v.job_id else "not queued",
    }.get(state.status, state.status)
    return status + (f" · {v.waiting_on}" if v.waiting_on else "")


def _render_verse(services: Services, v: VerseView, *, found: bool = False) -> None:
    with st.container(border=True):
        if found:
            st.badge("Found by search", icon=":material/search:", color="green")
        pic, words = st.columns([3, 2])
        with pic:
            data = media.media_source(v.illustration)
            if data is not None:
                media.show_image(
                    data,
                    alt=f"Illustration of verse {v.number}",
                    width="stretch",
                    caption=f"Verse {v.number}",
                )
            elif v.illustration is not None:
                st.warning(
                    "The illustration file is missing from storage.",
                    icon=":material/broken_image:",
                )
            else:
                st.info(f"Not illustrated yet: {_verse_status(v)}.", icon=":material/image:")
        with words:
            st.markdown(f"**Verse {v.number}**")
            st.markdown(md(v.text))
            if v.provider:
                st.caption(
                    f":material/brush: {_provider_label(services, v.provider)} · {md(v.model or '')}"
                    + (f" · {v.illustrated_at:%Y-%m-%d %H:%M} UTC" if v.illustrated_at else "")
                )
            if v.summary:
                st.markdown(f":material/notes: *{md(v.summary)}*")
            if v.state.status == "failed":
                st.error(
                    f"Failed ({v.state.error_class or 'unknown'}): {md(v.state.error or '')}",
                    icon=":material/error:",
                )
            elif v.illustration is not None and _verse_status(v):
                st.caption(f"A new run is {_verse_status(v)}.")
            if v.prompt or v.illustration is not None:
                with st.expander("Prompt and thumbnail", icon=":material/description:"):
                    if v.illustration is not None:
                        thumb = media.thumbnail_source(v.illustration)
                        if thumb is not None:
                            media.show_image(
                                thumb,
                                alt=f"Thumbnail of verse {v.number}",
                                caption="Thumbnail (replayed to the model with the next verses)",
                                width=160,
                            )
                    if v.prompt:
                        st.code(v.prompt, language=None, wrap_lines=True)


def _render_verses(services: Services, song: SongView) -> None:
    verses = song.verses
    linked = st.session_state.get("songs:found_verse")
    found = linked[1] if linked and linked[0] == song.id else None
    if linked and found is not None and len(linked) == 2 and len(verses) > VERSES_PER_PAGE:
        # Turn to the found verse's page once; the person may turn pages afterwards.
        st.session_state[f"verse_page_{song.id}"] = (found - 1) // VERSES_PER_PAGE
        st.session_state["songs:found_verse"] = (song.id, found, "paged")
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
        _render_verse(services, v, found=v.number == found)


def _state(song: SongView) -> tuple[int, ...]:
    p = song.progress
    return (p.verse_count, p.illustrated, p.queued, p.running, p.failed, p.skipped)


def render_song(services: Services, owner: str, song_id: str) -> None:
    """A song's detail. While verses are queued or running, a fragment looks at its progress
    every couple of seconds (the embedded worker or `studio worker` may be illustrating them)
    and redraws only that; the verses are redrawn (the whole page reruns) when a verse's state
    changes, not on every look."""
    with user_errors():
        song = songs.get_song(services, owner, song_id)
        _render_header(services, owner, song)
        shown = _state(song)
        first = [True]  # the run inline with the page draws what the page read

        @st.fragment(run_every=REFRESH_SECONDS if song.progress.active else None)
        def live() -> None:
            with user_errors():
                current = song if first else songs.get_song(services, owner, song_id)
                first.clear()
                if _state(current) != shown:
                    st.rerun()  # a verse moved on: redraw the page (verses, table) once
                _render_progress(services, current)
                _render_waiting(services, owner, current)

        live()
        _render_strip(services, song)
        _render_verses(services, song)
