"""The Storyboards page: pick or create a storyboard, then its header, work in flight, scenes,
characters, and work made without a scene or character (studio/ui/storyboard_header.py and
studio/ui/storyboard_entity.py hold the parts)."""

from __future__ import annotations

import streamlit as st

from db.types import utcnow
from studio import storyboards as sb
from studio.services import Services
from studio.storyboards import GenerationView, StoryboardView
from studio.ui.common.feedback import flash, user_errors
from studio.ui.common.media import full_image, thumbnail
from studio.ui.storyboards.entity import STATUS_ICONS, describe_own, grid, render_entity
from studio.ui.storyboards.header import render_add_entity, render_header

POLL_SECONDS = 1.5
SELECTED = "sb:selected"


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
                flash(f"Created {board.title}.")
                st.rerun()


def pick_storyboard(services: Services, owner: str) -> str | None:
    """The selector and the "New storyboard" popover; returns the chosen storyboard's id."""
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
    wanted = st.query_params.get("storyboard")
    if wanted in by_id and st.session_state.get(SELECTED) != wanted:
        st.session_state[SELECTED] = wanted
    if st.session_state.get(SELECTED) not in by_id:
        st.session_state[SELECTED] = cards[0].id
    pick, new = st.columns([4, 1], vertical_alignment="bottom")
    chosen = pick.selectbox(
        "Storyboard",
        list(by_id),
        key=SELECTED,
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


def _describe(view: StoryboardView, gen: GenerationView) -> str:
    names = {e.id: e.name for e in view.entities}
    whom = names.get(gen.generation.entity_id or "", "the storyboard")
    what = gen.mode_label.capitalize()
    state = gen.stage if gen.status == "running" and gen.stage else gen.status
    return f"{STATUS_ICONS.get(gen.status, '')} **{what}** for {whom} · {state}"


def render_live_status(services: Services, owner: str, view: StoryboardView) -> None:
    in_flight = [g.id for g in view.active]
    job = view.exclusive
    exclusive_active = job is not None and job.active
    if not in_flight and not exclusive_active:
        return

    @st.fragment(run_every=POLL_SECONDS)
    def live() -> None:
        fresh = sb.generation_statuses(services, owner, in_flight)
        still = [g for g in fresh if g.active]
        job_now = sb.exclusive_job(services, owner, view.id) if exclusive_active else None
        if len(still) < len(in_flight) or (exclusive_active and not (job_now and job_now.active)):
            st.rerun(scope="app")
        with st.container(border=True, key="sb:live"):
            st.markdown(f":material/pending: **In progress** · {len(still)} request(s)")
            for gen in still:
                st.markdown(_describe(view, gen))

    live()


def render_loose(services: Services, view: StoryboardView) -> None:
    if not view.loose:
        st.caption(
            "Images and videos enqueued for this storyboard without a scene or character "
            "(e.g. `studio enqueue image … --storyboard ID`) appear here."
        )
        return
    st.caption(
        "Made for this storyboard without a scene or character (e.g. from the command "
        "line), newest first."
    )
    _loose_grid(view.loose)


def _loose_grid(gens: list[GenerationView], *, show_ids: bool = False) -> None:
    done = [g for g in gens if g.status == "succeeded" and g.asset is not None]
    now = utcnow()
    for gen in gens:
        if gen.status != "succeeded":
            st.markdown(describe_own(gen) + (f" — {gen.error}" if gen.error else ""))
    images = [g for g in done if g.media == "image"]
    videos = [g for g in done if g.media == "video"]
    if images:
        grid(
            images,
            now,
            lambda g: st.image(thumbnail(g.asset) or b"", width="stretch"),
            show_ids=show_ids,
        )
    if videos:
        grid(
            videos,
            now,
            lambda g: st.video(full_image(g.asset) or b"", format=_mime(g)),
            show_ids=show_ids,
        )


# ---------------------------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------------------------


def render_storyboards_page(services: Services, owner: str) -> None:
    storyboard_id = pick_storyboard(services, owner)
    if storyboard_id is None:
        return
    view = sb.get_storyboard(services, owner, storyboard_id)
    models = render_header(services, owner, view)
    render_live_status(services, owner, view)
    render_add_entity(services, owner, view)
    scenes, characters, other = st.tabs(
        [
            f"Scenes ({len(view.scenes)})",
            f"Characters ({len(view.characters)})",
            f"Other ({len(view.loose)})",
        ],
        key=f"sb:tabs:{view.id}",
    )
    with scenes:
        if not view.scenes:
            st.caption("No scenes yet: add one above.")
        for ev in view.scenes:
            render_entity(services, owner, ev, models)
    with characters:
        if not view.characters:
            st.caption("No characters yet: add one above.")
        for ev in view.characters:
            render_entity(services, owner, ev, models)
    with other:
        render_loose(services, view)
    unfiled = sb.list_unfiled(services, owner)
    if unfiled:
        with st.expander(
            f"Not in a storyboard · {len(unfiled)} recent", icon=":material/folder_open:"
        ):
            st.caption(
                "Enqueued from the command line without `--storyboard`. Use an asset id "
                "from here as `--source` of another command."
            )
            _loose_grid(unfiled, show_ids=True)


def _mime(gen: GenerationView) -> str:
    return gen.asset.mime_type if gen.asset is not None else "video/mp4"
