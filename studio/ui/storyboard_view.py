"""The Storyboards page's widgets: pick or create a storyboard, add scenes and characters, and per
entity its current image and video, the four generate buttons, work in flight and history."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime

import streamlit as st

from db.types import utcnow
from studio import storyboards as sb
from studio.errors import InProgress, StudioError
from studio.form_keys import submission_key
from studio.humanize import ago, money
from studio.services import Services
from studio.storyboards import EntityView, GenerationView, StoryboardView
from studio.ui.feedback import flash, user_errors
from studio.ui.media import full_image, thumbnail

log = logging.getLogger("studio.ui")

POLL_SECONDS = 1.5
SELECTED = "sb:selected"
OFFER = "sb:in_progress"  # the "already in progress" answer, with its job, to offer a clear
HISTORY_COLUMNS = 4
KIND_LABELS = {"scene": "Scene", "character": "Character"}
STATUS_ICONS = {
    "queued": ":material/hourglass_top:",
    "running": ":material/autorenew:",
    "succeeded": ":material/check_circle:",
    "failed": ":material/error:",
    "canceled": ":material/cancel:",
}
DURATION_LABELS = {4: "4 s", 6: "6 s", 8: "8 s"}


def _when(value: datetime | None, now: datetime) -> str:
    if value is None:
        return ""
    return f"{value:%Y-%m-%d %H:%M} UTC ({ago(value, now)})"


def _model_label(services: Services, provider: str, model: str) -> str:
    for status in services.providers:
        if status.name == provider:
            info = next((m for m in status.models if m.id == model), None)
            return f"{info.label if info else model} · {status.label}"
    return f"{model} · {provider}"


# ---------------------------------------------------------------------------------------------
# Choosing and creating storyboards
# ---------------------------------------------------------------------------------------------


def _create_form(services: Services, owner: str, *, key: str, first: bool = False) -> None:
    with st.form(key, clear_on_submit=True, border=not first):
        title = st.text_input(
            "Title", key=f"{key}:title", placeholder="e.g. The Lighthouse Keeper",
            max_chars=sb.MAX_TITLE_CHARS,
        )  # fmt: skip
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
        format_func=lambda i: f"{by_id[i].title} · {by_id[i].scenes} scene(s), "
        f"{by_id[i].characters} character(s)",
    )
    with new.popover("New storyboard", icon=":material/add:", width="stretch"):
        _create_form(services, owner, key="sb:create")
    if chosen and st.query_params.get("storyboard") != chosen:
        st.query_params["storyboard"] = chosen
    return chosen


# ---------------------------------------------------------------------------------------------
# The storyboard: header, whole-storyboard images, models, adding entities
# ---------------------------------------------------------------------------------------------


def _clear_offer(services: Services, owner: str, view: StoryboardView) -> None:
    offer = st.session_state.get(OFFER)
    if not offer or offer.get("storyboard") != view.id:
        return
    job = view.exclusive
    if job is None or job.id != offer["job_id"] or not job.active:
        st.session_state.pop(OFFER, None)  # it finished meanwhile: nothing to offer
        return
    with st.container(border=True):
        st.warning(offer["message"], icon=":material/pending:")
        now = utcnow()
        beat = job.heartbeat_at or job.started_at
        if job.status == "running":
            st.caption(
                f"Running since {_when(job.started_at, now)}; last heartbeat {ago(beat, now)}. "
                f"A job silent for {services.settings.stale_job_seconds // 60} minutes is "
                "cleared automatically."
            )
        else:
            st.caption(f"Queued; waiting for a worker since {_when(job.started_at, now) or 'now'}.")
        with st.container(horizontal=True):
            if st.button("Clear stuck job…", key="sb:offer_clear", icon=":material/delete_sweep:"):
                _confirm_clear(services, owner, view.id, job.id, job.status)
            if st.button("Keep waiting", key="sb:offer_keep", type="tertiary"):
                st.session_state.pop(OFFER, None)
                st.rerun()


@st.dialog("Clear stuck job")
def _confirm_clear(services: Services, owner: str, storyboard_id: str, job_id: str,
                   status: str) -> None:  # fmt: skip
    if status == "running":
        st.write(
            "The job making this storyboard's images is still marked as running. Clearing it "
            "fails it with a clear reason and revokes its worker's lease, so anything that "
            "worker sends later is discarded. Images already made are kept."
        )
    else:
        st.write("The job is queued and has not started. Clearing it cancels it.")
    c1, c2 = st.columns(2)
    if c1.button("Clear job", type="primary", key="sb:confirm_clear"):
        with user_errors():
            what = sb.clear_storyboard_job(services, owner, storyboard_id, job_id)
            st.session_state.pop(OFFER, None)
            flash("Cleared the stuck job; you can start again." if what == "cleared"
                  else "Canceled the queued job; you can start again.")  # fmt: skip
            st.rerun()
    if c2.button("Keep it", key="sb:cancel_clear"):
        st.rerun()


def _model_select(services: Services, media: str, mode: str, key: str, label: str) -> str | None:
    choices = sb.model_choices(services, media, mode)
    if not choices:
        st.caption(f"No provider that is switched on can make a {sb.MODE_LABELS[mode]}.")
        return None
    by_key = {c.key: c for c in choices}
    if st.session_state.get(key) not in by_key:
        st.session_state[key] = choices[0].key
    picked = st.selectbox(
        label, list(by_key), key=key,
        format_func=lambda k: f"{by_key[k].label} — {by_key[k].model.price_note or 'price unknown'}",
    )  # fmt: skip
    return picked


def _split(choice: str | None) -> tuple[str | None, str | None]:
    if not choice:
        return None, None
    provider, _, model = choice.partition("/")
    return provider, model


def render_models(services: Services) -> tuple[str | None, str | None]:
    """The image and video models used by the buttons below (Google first when configured)."""
    image = _model_select(services, "image", "text_to_image", "sb:image_model",
                          "Images and edits")  # fmt: skip
    video = _model_select(services, "video", "text_to_video", "sb:video_model", "Videos")
    off = [s for s in services.providers if not s.available]
    if off:
        st.caption("Off: " + "; ".join(f"{s.label} ({s.reason})" for s in off) + ".")
    return image, video


def _forget_whole_error() -> None:
    st.session_state.pop(WHOLE_ERROR, None)


def _model_summary(services: Services, key: str) -> str:
    provider, model = _split(st.session_state.get(key))
    return _model_label(services, provider, model).split(" · ")[0] if provider and model else "–"


def render_header(services: Services, owner: str, view: StoryboardView) -> tuple[str | None, str | None]:
    """Title, counts, and the row of storyboard actions; returns the chosen (image, video)
    models."""
    now = utcnow()
    st.header(view.title, anchor=False)
    n_s, n_c = len(view.scenes), len(view.characters)
    st.caption(
        f"{n_s} scene{'s' * (n_s != 1)} · {n_c} character{'s' * (n_c != 1)} · "
        f"updated {ago(view.storyboard.updated_at, now)} · id `{view.id}`"
    )
    with st.container(horizontal=True, vertical_alignment="center"):
        models_box = st.popover("Models", icon=":material/tune:")
        with models_box:
            models = render_models(services)
        whole = st.popover("Images for the whole storyboard", icon=":material/burst_mode:",
                           disabled=not view.entities, key=WHOLE,
                           on_change=_forget_whole_error)  # fmt: skip
        with whole:
            _whole_storyboard_form(services, owner, view, models[0])
        with st.popover("Rename", icon=":material/edit:"):
            with st.form("sb:rename", border=False):
                new_title = st.text_input("Title", value=view.title, key=f"sb:rename:{view.id}")
                if st.form_submit_button("Save", type="primary"):
                    with user_errors():
                        sb.rename_storyboard(services, owner, view.id, new_title)
                        flash("Renamed.")
                        st.rerun()
        st.caption(
            f":material/image: {_model_summary(services, 'sb:image_model')} · "
            f":material/movie: {_model_summary(services, 'sb:video_model')}"
        )
    job = view.exclusive
    if job is not None and job.active:
        beat = job.heartbeat_at or job.started_at
        detail = (f"{job.stage} · last heartbeat {ago(beat, now)}" if job.status == "running"
                  else "queued")  # fmt: skip
        st.info(f"Making images for the whole storyboard ({job.total}): {detail}.",
                icon=":material/burst_mode:")  # fmt: skip
    elif job is not None and job.status == "failed" and job.completed_at and (
        (now - job.completed_at).total_seconds() < 3600
    ):
        st.caption(f":material/error: The last whole-storyboard run failed: {job.last_error}")
    _clear_offer(services, owner, view)
    return models


WHOLE = "sb:whole"  # the popover's key: closed from the callback once the request is answered
WHOLE_ERROR = "sb:whole_error"


def _whole_storyboard_form(services: Services, owner: str, view: StoryboardView,
                           image_model: str | None) -> None:  # fmt: skip
    st.markdown(
        "One job makes an image for every scene and character from its name and description. "
        "Only one such job runs per storyboard at a time."
    )
    error = st.session_state.get(WHOLE_ERROR)
    if error:
        st.error(error, icon=":material/error:")
    with st.form("sb:all", border=False):
        st.text_input("Style (optional)", key="sb:all:style",
                      placeholder="e.g. watercolour, soft morning light")  # fmt: skip
        st.checkbox("Only those without an image", key="sb:all:missing")
        st.form_submit_button(
            "Generate images", type="primary", icon=":material/auto_awesome:",
            on_click=_generate_whole, args=(services, owner, view.id, image_model),
        )  # fmt: skip


def _generate_whole(services: Services, owner: str, storyboard_id: str,
                    image_model: str | None) -> None:  # fmt: skip
    """The form's callback (it runs before the page, so it may close the popover)."""
    style = st.session_state.get("sb:all:style", "")
    only_missing = bool(st.session_state.get("sb:all:missing", False))
    provider, model = _split(image_model)
    content = {"storyboard": storyboard_id, "style": style, "missing": only_missing,
               "m": image_model}  # fmt: skip
    key = submission_key(st.session_state, f"sb:all:{storyboard_id}", content, time.monotonic())
    st.session_state.pop(WHOLE_ERROR, None)
    try:
        job = sb.generate_storyboard_images(
            services, owner, storyboard_id, idempotency_key=key, style=style,
            only_missing=only_missing, provider=provider, model=model,
        )  # fmt: skip
    except InProgress as err:  # the in-app 409: offer to clear the stuck job
        _remember_in_progress(storyboard_id, err)
    except StudioError as err:
        st.session_state[WHOLE_ERROR] = err.user_message
        return
    except Exception:
        log.exception("whole-storyboard request failed")
        st.session_state[WHOLE_ERROR] = "Something went wrong on our side; please try again."
        return
    else:
        count = len((job.payload or {}).get("generation_ids") or [])
        flash(f"Queued images for {count} scene(s) and character(s).",
              icon=":material/burst_mode:")  # fmt: skip
        st.session_state.pop(OFFER, None)
    st.session_state[WHOLE] = False


def _remember_in_progress(storyboard_id: str, err: InProgress) -> None:
    st.session_state[OFFER] = {
        "storyboard": storyboard_id,
        "job_id": err.job_id,
        "message": "Images for this storyboard are already being made. If that job is stuck, "
        "clear it and try again.",
    }


def render_add_entity(services: Services, owner: str, view: StoryboardView) -> None:
    with st.expander("Add a scene or character", icon=":material/add_circle:",
                     expanded=not view.entities):  # fmt: skip
        with st.form(f"sb:add:{view.id}", clear_on_submit=True, border=False):
            kind = st.segmented_control(
                "Kind", ["scene", "character"], default="scene", key=f"sb:add_kind:{view.id}",
                format_func=lambda k: KIND_LABELS[k], required=True,
            )  # fmt: skip
            name = st.text_input("Name", key=f"sb:add_name:{view.id}",
                                 max_chars=sb.MAX_NAME_CHARS,
                                 placeholder="e.g. Cliff at dusk, or Captain Mara")  # fmt: skip
            description = st.text_area(
                "Description", key=f"sb:add_desc:{view.id}", height=90,
                placeholder="What it looks like: the default prompt for its image",
            )  # fmt: skip
            if st.form_submit_button("Add", type="primary", icon=":material/add:"):
                with user_errors():
                    entity = sb.add_entity(services, owner, view.id, kind=kind or "scene",
                                           name=name, description=description)  # fmt: skip
                    flash(f"Added {KIND_LABELS[entity.kind].lower()} {entity.name}.")
                    st.rerun()


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


# ---------------------------------------------------------------------------------------------
# One scene or character
# ---------------------------------------------------------------------------------------------


def _media_caption(services: Services, gen: GenerationView | None, when: datetime | None,
                   now: datetime) -> str:  # fmt: skip
    parts = [f"Generated {_when(when, now)}"] if when else []
    if gen is not None:
        parts.append(gen.mode_label)
        parts.append(_model_label(services, gen.generation.provider, gen.generation.model))
        cost = money(gen.generation.cost_actual, gen.generation.cost_estimate)
        if cost not in ("–", "free"):
            parts.append(cost)
    return " · ".join(parts)


def _show_image(services: Services, ev: EntityView, now: datetime) -> None:
    st.markdown("**Image**")
    data = full_image(ev.image)
    if data is None:
        with st.container(border=True, height=160, vertical_alignment="center",
                          horizontal_alignment="center"):  # fmt: skip
            st.caption(":material/image: No image yet")
        return
    portrait = (ev.image.height or 0) > (ev.image.width or 0)
    st.image(data, width=300 if portrait else "stretch")
    st.caption(_media_caption(services, ev.image_generation, ev.entity.image_generated_at, now))


def _show_video(services: Services, ev: EntityView, now: datetime) -> None:
    st.markdown("**Video**")
    data = full_image(ev.video)
    if data is None:
        with st.container(border=True, height=160, vertical_alignment="center",
                          horizontal_alignment="center"):  # fmt: skip
            st.caption(":material/movie: No video yet")
        return
    portrait = (ev.video.height or 0) > (ev.video.width or 0)
    st.video(data, format=ev.video.mime_type, width=260 if portrait else "stretch")
    st.caption(_media_caption(services, ev.video_generation, ev.entity.video_generated_at, now))


def _video_options(prefix: str) -> sb.VideoOptions:
    c1, c2, c3 = st.columns(3)
    aspect = c1.segmented_control("Aspect", list(sb.ASPECT_RATIOS), default="16:9",
                                  key=f"{prefix}:aspect", required=True)  # fmt: skip
    duration = c2.segmented_control("Duration", list(sb.DURATIONS), default=8,
                                    format_func=lambda d: DURATION_LABELS[d],
                                    key=f"{prefix}:duration", required=True)  # fmt: skip
    resolution = c3.segmented_control("Resolution", list(sb.RESOLUTIONS), default="720p",
                                      key=f"{prefix}:resolution", required=True)  # fmt: skip
    return sb.VideoOptions.parse(aspect, duration, resolution)


ACTIONS = {
    "image": ("Image from text", ":material/image:"),
    "edit": ("Edit image", ":material/auto_fix_high:"),
    "video": ("Video from text", ":material/movie:"),
    "animate": ("Animate image", ":material/animation:"),
}
ACTION_HELP = {
    "image": "A new image from the prompt (text-to-image).",
    "edit": "Change the current image as the prompt says (image-to-image).",
    "video": "A new video from the prompt (text-to-video), with the options above.",
    "animate": "Bring the current image to life as the prompt says (image-to-video).",
}


def _generate_form(services: Services, owner: str, ev: EntityView, models: tuple[str | None, str | None]) -> None:
    prefix = f"sb:gen:{ev.id}"
    has_image = ev.image is not None
    with st.form(prefix, border=False):
        prompt = st.text_area(
            "Prompt", key=f"{prefix}:prompt", height=80,
            value=sb.entity_prompt(ev.entity), max_chars=services.settings.max_prompt_chars,
            help="For edits and animations, say what should change or move.",
        )  # fmt: skip
        options = _video_options(prefix)
        clicked = None
        for (action, (label, icon)), col in zip(ACTIONS.items(), st.columns(4), strict=True):
            needs_image = action in ("edit", "animate")
            if col.form_submit_button(
                label, icon=icon, key=f"{prefix}:{action}", width="stretch",
                disabled=needs_image and not has_image,
                type="primary" if action == "image" else "secondary",
                help="Generate an image first." if needs_image and not has_image
                else ACTION_HELP[action],
            ):  # fmt: skip
                clicked = action
    if clicked is None:
        return
    image_model, video_model = models
    provider, model = _split(image_model if clicked in ("image", "edit") else video_model)
    content = {"entity": ev.id, "action": clicked, "prompt": prompt, "options": options.to_json(),
               "model": model}  # fmt: skip
    key = submission_key(st.session_state, f"{prefix}:{clicked}", content, time.monotonic())
    with user_errors():
        common = {"prompt": prompt, "idempotency_key": key, "provider": provider, "model": model}
        if clicked == "image":
            sb.request_image(services, owner, entity_id=ev.id, **common)
        elif clicked == "edit":
            sb.request_edit(services, owner, entity_id=ev.id, **common)
        elif clicked == "video":
            sb.request_video(services, owner, entity_id=ev.id, options=options, **common)
        else:
            sb.request_animate(services, owner, entity_id=ev.id, options=options, **common)
        flash(f"Queued: {ACTIONS[clicked][0].lower()} for {ev.name}.", icon=ACTIONS[clicked][1])
        st.rerun()


def _edit_entity(services: Services, owner: str, ev: EntityView) -> None:
    with st.popover("Edit", icon=":material/edit:"):
        with st.form(f"sb:edit:{ev.id}", border=False):
            name = st.text_input("Name", value=ev.name, key=f"sb:edit_name:{ev.id}")
            description = st.text_area("Description", value=ev.description, height=100,
                                       key=f"sb:edit_desc:{ev.id}")  # fmt: skip
            if st.form_submit_button("Save", type="primary"):
                with user_errors():
                    sb.update_entity(services, owner, ev.id, name=name, description=description)
                    flash(f"Saved {name.strip() or ev.name}.")
                    st.rerun()
    if st.button("Delete…", key=f"sb:delete:{ev.id}", icon=":material/delete:", type="tertiary"):
        _confirm_delete(services, owner, ev.id, ev.name, KIND_LABELS[ev.kind].lower())


@st.dialog("Delete")
def _confirm_delete(services: Services, owner: str, entity_id: str, name: str, what: str) -> None:
    st.write(f"Delete the {what} **{name}** with its history? Work still queued for it is "
             "canceled. This cannot be undone.")  # fmt: skip
    c1, c2 = st.columns(2)
    if c1.button("Delete", type="primary", key="sb:confirm_delete"):
        with user_errors():
            sb.delete_entity(services, owner, entity_id)
            flash(f"Deleted {name}.", icon=":material/delete:")
            st.rerun()
    if c2.button("Keep it", key="sb:keep"):
        st.rerun()


def _history(services: Services, ev: EntityView, now: datetime) -> None:
    images, videos = ev.history("image"), ev.history("video")
    total = len(images) + len(videos)
    if not total:
        return
    with st.expander(f"History · {total} earlier version{'s' * (total != 1)}",
                     icon=":material/history:"):  # fmt: skip
        if images:
            st.markdown("**Earlier images**")
            _grid(images, now, lambda g: st.image(thumbnail(g.asset) or b"", width="stretch"))
        if videos:
            st.markdown("**Earlier videos**")
            _grid(videos, now, lambda g: st.video(full_image(g.asset) or b"",
                                                  format=g.asset.mime_type))  # fmt: skip


def _grid(gens: list[GenerationView], now: datetime, show: Callable[[GenerationView], object],
          *, show_ids: bool = False) -> None:  # fmt: skip
    for start in range(0, len(gens), HISTORY_COLUMNS):
        cols = st.columns(HISTORY_COLUMNS)
        for col, gen in zip(cols, gens[start : start + HISTORY_COLUMNS], strict=False):
            with col:
                show(gen)
                prompt = " ".join(gen.prompt.split())
                short = prompt if len(prompt) <= 80 else prompt[:79] + "…"
                st.caption(f"{_when(gen.finished_at, now)} · {gen.mode_label}: {short}")
                if show_ids and gen.asset is not None:
                    st.caption(f"asset `{gen.asset.id}`")


def render_entity(services: Services, owner: str, ev: EntityView,
                  models: tuple[str | None, str | None]) -> None:  # fmt: skip
    now = utcnow()
    with st.container(border=True, key=f"sb:entity:{ev.id}"):
        head, tools = st.columns([4, 1], vertical_alignment="top")
        icon = ":material/landscape:" if ev.kind == "scene" else ":material/person:"
        head.subheader(f"{icon} {ev.name}", anchor=False)
        if ev.description:
            head.markdown(ev.description)
        head.caption(f"{KIND_LABELS[ev.kind]} · id `{ev.id}`")
        with tools.container(horizontal=True, horizontal_alignment="right"):
            _edit_entity(services, owner, ev)
        for gen in ev.active:
            st.markdown(_describe_own(gen))
        for media in ("image", "video"):
            failure = ev.last_failure(media)
            if failure is not None:
                st.error(f"The last {failure.mode_label} failed: {failure.error}",
                         icon=":material/error:")  # fmt: skip
        image_col, video_col = st.columns(2, gap="medium")
        with image_col:
            _show_image(services, ev, now)
        with video_col:
            _show_video(services, ev, now)
        _generate_form(services, owner, ev, models)
        _history(services, ev, now)


def _describe_own(gen: GenerationView) -> str:
    state = gen.stage if gen.status == "running" and gen.stage else gen.status
    return f"{STATUS_ICONS.get(gen.status, '')} {gen.mode_label.capitalize()} · {state}"


def render_loose(services: Services, view: StoryboardView) -> None:
    if not view.loose:
        st.caption("Images and videos enqueued for this storyboard without a scene or character "
                   "(e.g. `studio enqueue image … --storyboard ID`) appear here.")  # fmt: skip
        return
    st.caption("Made for this storyboard without a scene or character (e.g. from the command "
               "line), newest first.")  # fmt: skip
    _loose_grid(view.loose)


def _loose_grid(gens: list[GenerationView], *, show_ids: bool = False) -> None:
    done = [g for g in gens if g.status == "succeeded" and g.asset is not None]
    now = utcnow()
    for gen in gens:
        if gen.status != "succeeded":
            st.markdown(_describe_own(gen) + (f" — {gen.error}" if gen.error else ""))
    images = [g for g in done if g.media == "image"]
    videos = [g for g in done if g.media == "video"]
    if images:
        _grid(images, now, lambda g: st.image(thumbnail(g.asset) or b"", width="stretch"),
              show_ids=show_ids)  # fmt: skip
    if videos:
        _grid(videos, now, lambda g: st.video(full_image(g.asset) or b"", format=g.asset.mime_type),
              show_ids=show_ids)  # fmt: skip


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
        [f"Scenes ({len(view.scenes)})", f"Characters ({len(view.characters)})",
         f"Other ({len(view.loose)})"],
        key=f"sb:tabs:{view.id}",
    )  # fmt: skip
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
        with st.expander(f"Not in a storyboard · {len(unfiled)} recent",
                         icon=":material/folder_open:"):  # fmt: skip
            st.caption("Enqueued from the command line without `--storyboard`. Use an asset id "
                       "from here as `--source` of another command.")  # fmt: skip
            _loose_grid(unfiled, show_ids=True)
