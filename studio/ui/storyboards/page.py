"""The Storyboards page: pick or create a storyboard, then its header, work in flight, scenes,
characters, and work made without a scene or character (header.py and entity.py hold the
parts).

Only what is on screen is read and drawn: the open tab (tabs rerun the page when switched), one
page of its scenes or characters, and a closed expander's contents only once it is opened.
"""

from __future__ import annotations

import streamlit as st

from db.types import utcnow
from studio import storyboards as sb
from studio.services import Services
from studio.storyboards import GenerationView, StoryboardPage
from studio.storyboards.page import LOOSE_PER_PAGE
from studio.ui.common.feedback import flash, user_errors
from studio.ui.common.text import md
from studio.ui.storyboards.entity import (
    STATUS_ICONS,
    describe_own,
    grid,
    render_entity,
    show_thumbnail,
    show_video,
)
from studio.ui.storyboards.header import render_add_entity, render_header

POLL_SECONDS = 0.5
SELECTED = "sb:selected"
TABS = {"Scenes": "scene", "Characters": "character", "Other": None}


# ---------------------------------------------------------------------------------------------
# Choosing and creating storyboards
# ---------------------------------------------------------------------------------------------


def _create_form(services: Services, owner: str, *, key: str, first: bool = False) -> None:
    with st.form(key, clear_on_submit=True, border=not first):
        title = st.text_input(
            "Title",
            key=f"{key}:title",
            placeholder="e.g. The Lighthouse Keeper",
            max_chars=sb.MAX_TITLE_CHARS,
        )
        label = "Create storyboard" if first else "Create"
        if st.form_submit_button(label, type="primary", icon=":material/add:"):
            with user_errors():
                board = sb.create_storyboard(services, owner, title)
                st.query_params["storyboard"] = board.id  # selected on the next run
                flash(f"Created {md(board.title)}.")
                st.rerun()


def _picked() -> None:
    """The picker's callback: the link follows the pick (before the page runs again)."""
    st.query_params["storyboard"] = st.session_state[SELECTED]


def pick_storyboard(services: Services, owner: str) -> str | None:
    """The selector and the "New storyboard" popover; returns the chosen storyboard's id.
    The board in the link (`?storyboard=`) is the one shown; picking another changes the link."""
    cards = sb.list_storyboards(services, owner)
    if not cards:
        with st.container(border=True):
            st.markdown(
                ":material/movie: **No storyboards yet.** A storyboard holds the scenes and "
                "characters of a story; each gets images and videos made from your prompts."
            )
            _create_form(services, owner, key="sb:create_first", first=True)
        return None
    by_id = {c.id: c for c in cards}
    linked = st.query_params.get("storyboard")
    if linked in by_id:
        st.session_state[SELECTED] = linked
    elif st.session_state.get(SELECTED) not in by_id:
        st.session_state[SELECTED] = cards[0].id
    pick, new = st.columns([4, 1], vertical_alignment="bottom")
    chosen = pick.selectbox(
        "Storyboard",
        list(by_id),
        key=SELECTED,
        on_change=_picked,
        format_func=lambda i: (
            f"{by_id[i].title} · {by_id[i].scenes} scene(s), {by_id[i].characters} character(s)"
        ),
    )
    with new.popover("New storyboard", icon=":material/add:", width="stretch"):
        _create_form(services, owner, key="sb:create")
    if chosen and st.query_params.get("storyboard") != chosen:
        st.query_params["storyboard"] = chosen
    return chosen


# ---------------------------------------------------------------------------------------------
# Work in flight: polled by a fragment, the page reruns when something finishes
# ---------------------------------------------------------------------------------------------


def _describe(item: sb.InFlight) -> str:
    gen = item.request
    whom = md(item.entity_name) if item.entity_name else "the storyboard"
    state = gen.stage if gen.status == "running" and gen.stage else gen.status
    return (
        f"{STATUS_ICONS.get(gen.status, '')} **{gen.mode_label.capitalize()}** for {whom} · {state}"
    )


def render_live_status(services: Services, owner: str, view: StoryboardPage) -> None:
    in_flight = [item.request.id for item in view.in_flight]
    job = view.exclusive
    exclusive_active = job is not None and job.active
    if not in_flight and not exclusive_active:
        return
    names = {item.request.id: item.entity_name for item in view.in_flight}
    first = [True]  # the run inline with the page uses what the page read

    @st.fragment(run_every=POLL_SECONDS)
    def live() -> None:
        if first:
            first.clear()
            still = [item.request for item in view.in_flight]
            job_now = job
        else:
            fresh = sb.generation_statuses(services, owner, in_flight)
            still = [g for g in fresh if g.active]
            job_now = sb.exclusive_job(services, owner, view.id) if exclusive_active else None
        if len(still) < len(in_flight) or (exclusive_active and not (job_now and job_now.active)):
            st.rerun(scope="app")
        with st.container(border=True, key="sb:live"):
            st.markdown(f":material/pending: **In progress** · {len(still)} request(s)")
            for gen in still:
                st.markdown(_describe(sb.InFlight(gen, names.get(gen.id))))

    live()


# ---------------------------------------------------------------------------------------------
# The tabs
# ---------------------------------------------------------------------------------------------


def _pager(key: str, page: int, pages: int) -> None:
    if pages <= 1:
        return
    c1, c2, c3 = st.columns([1, 1, 1], vertical_alignment="center")
    c1.button(
        "Previous",
        icon=":material/chevron_left:",
        key=f"{key}:prev",
        disabled=page <= 1,
        on_click=_turn,
        args=(key, page - 1),
    )
    c2.caption(f"Page {page} of {pages}")
    c3.button(
        "Next",
        icon=":material/chevron_right:",
        key=f"{key}:next",
        disabled=page >= pages,
        on_click=_turn,
        args=(key, page + 1),
    )


def _turn(key: str, page: int) -> None:
    st.session_state[key] = page


def render_entities(
    services: Services, owner: str, view: StoryboardPage, models: tuple[str | None, str | None]
) -> None:
    what = "scenes" if view.kind == "scene" else "characters"
    count = view.scenes if view.kind == "scene" else view.characters
    if not count:
        st.caption(f"No {what} yet: add one above.")
        return
    st.caption(f"{count} {what[:-1] if count == 1 else what}")
    for card in view.cards:
        render_entity(services, owner, card, models)
    _pager(_page_key(view.id, view.kind), view.page, view.pages)


def render_loose(services: Services, owner: str, view: StoryboardPage) -> None:
    if not view.loose:
        st.caption(
            "Images and videos enqueued for this storyboard without a scene or character "
            "(e.g. `studio enqueue image … --storyboard ID`) appear here."
        )
        return
    st.caption(
        f"{view.loose} made for this storyboard without a scene or character (e.g. from the "
        "command line), newest first."
    )
    key = _page_key(view.id, None)
    page = int(st.session_state.get(key, 1))
    _loose_grid(sb.loose_requests(services, owner, view.id, page=page))
    pages = -(-view.loose // LOOSE_PER_PAGE)
    _pager(key, min(page, pages), pages)


def _loose_grid(gens: list[GenerationView], *, show_ids: bool = False) -> None:
    done = [g for g in gens if g.status == "succeeded" and g.asset is not None]
    now = utcnow()
    for gen in gens:
        if gen.status != "succeeded":
            st.markdown(describe_own(gen) + (f" — {md(gen.error)}" if gen.error else ""))
    images = [g for g in done if g.media == "image"]
    videos = [g for g in done if g.media == "video"]
    if images:
        grid(images, now, show_thumbnail, show_ids=show_ids)
    if videos:
        grid(videos, now, show_video, show_ids=show_ids)


def _page_key(storyboard_id: str, kind: str | None) -> str:
    return f"sb:page:{storyboard_id}:{kind or 'other'}"


def _unfiled(services: Services, owner: str) -> None:
    """Work enqueued from the command line without a storyboard: read once opened."""
    if not sb.has_unfiled(services, owner):
        return
    shown = st.expander(
        "Not in a storyboard", icon=":material/folder_open:", key="sb:unfiled", on_change="rerun"
    )
    if not shown.open:
        return
    with shown:
        unfiled = sb.list_unfiled(services, owner)
        st.caption(
            f"The {len(unfiled)} newest, enqueued from the command line without `--storyboard`. "
            "Use an asset id from here as `--source` of another command."
        )
        _loose_grid(unfiled, show_ids=True)


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------


def _open_found_entity(services: Services, owner: str) -> None:
    """A search result's link (`?entity=`): its storyboard, its tab, the page holding it."""
    entity_id = st.query_params.get("entity")
    if entity_id is None:
        return
    del st.query_params["entity"]
    place = sb.entity_place(services, owner, entity_id)
    if place is None:
        return
    storyboard_id, kind, page = place
    st.query_params["storyboard"] = storyboard_id
    st.session_state[f"sb:tabs:{storyboard_id}"] = next(k for k, v in TABS.items() if v == kind)
    st.session_state[_page_key(storyboard_id, kind)] = page


def render_storyboards_page(services: Services, owner: str) -> None:
    _open_found_entity(services, owner)
    storyboard_id = pick_storyboard(services, owner)
    if storyboard_id is None:
        return
    tabs_key = f"sb:tabs:{storyboard_id}"
    open_tab = st.session_state.get(tabs_key) or "Scenes"
    kind = TABS.get(open_tab, "scene")
    view = sb.open_storyboard(
        services,
        owner,
        storyboard_id,
        kind=kind,
        page=int(st.session_state.get(_page_key(storyboard_id, kind), 1)),
    )
    models = render_header(services, owner, view)
    render_live_status(services, owner, view)
    render_add_entity(services, owner, view)
    scenes, characters, other = st.tabs(list(TABS), key=tabs_key, on_change="rerun")
    for tab, name in ((scenes, "Scenes"), (characters, "Characters")):
        if tab.open and name == open_tab:
            with tab:
                render_entities(services, owner, view, models)
    if other.open:
        with other:
            render_loose(services, owner, view)
    _unfiled(services, owner)
