"""The top of a storyboard on the Storyboards page: title and counts, the models, images for the
whole storyboard (with the offer to clear a stuck job), renaming, adding scenes and characters;
and the labels the scene and character cards share."""

from __future__ import annotations

import logging
import time
from datetime import datetime

import streamlit as st

from db.types import utcnow
from studio import storyboards as sb
from studio.errors import InProgress, StudioError
from studio.humanize import ago, money
from studio.providers.base import mode_label
from studio.services import Services
from studio.storyboards import StoryboardPage
from studio.submissions import submission_key
from studio.ui.common.feedback import flash, user_errors
from studio.ui.common.keys import following
from studio.ui.common.text import md
from studio.ui.lifecycle.archive import zip_button
from studio.ui.lifecycle.delete import delete_button

log = logging.getLogger("studio.ui")

OFFER = "sb:in_progress"  # the "already in progress" answer, with its job, to offer a clear
KIND_LABELS = {"scene": "Scene", "character": "Character"}


def format_when(value: datetime | None, now: datetime) -> str:
    if value is None:
        return ""
    return f"{value:%Y-%m-%d %H:%M} UTC ({ago(value, now)})"


def model_label(services: Services, provider: str, model: str) -> str:
    for status in services.providers:
        if status.name == provider:
            info = next((m for m in status.models if m.id == model), None)
            return f"{info.label if info else model} · {status.label}"
    return f"{model} · {provider}"


def _clear_offer(services: Services, owner: str, view: StoryboardPage) -> None:
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
                f"Running since {format_when(job.started_at, now)}; last heartbeat {ago(beat, now)}. "
                f"A job silent for {services.settings.stale_job_seconds // 60} minutes is "
                "cleared automatically."
            )
        else:
            st.caption(
                f"Queued; waiting for a worker since {format_when(job.started_at, now) or 'now'}."
            )
        with st.container(horizontal=True):
            if st.button("Clear stuck job…", key="sb:offer_clear", icon=":material/delete_sweep:"):
                _confirm_clear(services, owner, view.id, job.id, job.status)
            if st.button("Keep waiting", key="sb:offer_keep", type="tertiary"):
                st.session_state.pop(OFFER, None)
                st.rerun()


@st.dialog("Clear stuck job")
def _confirm_clear(
    services: Services, owner: str, storyboard_id: str, job_id: str, status: str
) -> None:
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
            flash(
                "Cleared the stuck job; you can start again."
                if what == "cleared"
                else "Canceled the queued job; you can start again."
            )
            st.rerun()
    if c2.button("Keep it", key="sb:cancel_clear"):
        st.rerun()


def _model_select(services: Services, media: str, mode: str, key: str, label: str) -> str | None:
    choices = sb.model_choices(services, media, mode)
    if not choices:
        st.caption(f"No provider that is switched on can make {mode_label(mode, article=True)}.")
        return None
    by_key = {c.key: c for c in choices}
    if st.session_state.get(key) not in by_key:
        st.session_state[key] = choices[0].key
    picked = st.selectbox(
        label,
        list(by_key),
        key=key,
        format_func=lambda k: by_key[k].title,
        help="Estimated price of one 1024×1024 image, or of one second of video, before the call.",
    )
    return picked


def split_choice(choice: str | None) -> tuple[str | None, str | None]:
    if not choice:
        return None, None
    provider, _, model = choice.partition("/")
    return provider, model


def render_models(services: Services) -> tuple[str | None, str | None]:
    """The image and video models used by the buttons below (Google first when configured)."""
    image = _model_select(services, "image", "text_to_image", "sb:image_model", "Images and edits")
    video = _model_select(services, "video", "text_to_video", "sb:video_model", "Videos")
    off = [s for s in services.providers if not s.available]
    if off:
        st.caption("Off: " + "; ".join(f"{s.label} ({s.reason})" for s in off) + ".")
    return image, video


def _forget_whole_error() -> None:
    st.session_state.pop(WHOLE_ERROR, None)


def _model_summary(services: Services, key: str) -> str:
    provider, model = split_choice(st.session_state.get(key))
    return model_label(services, provider, model).split(" · ")[0] if provider and model else "–"


def render_header(
    services: Services, owner: str, view: StoryboardPage
) -> tuple[str | None, str | None]:
    """Title, counts, and the row of storyboard actions; returns the chosen (image, video)
    models."""
    now = utcnow()
    st.header(md(view.title), anchor=False)
    n_s, n_c = view.scenes, view.characters
    st.caption(
        f"{n_s} scene{'s' * (n_s != 1)} · {n_c} character{'s' * (n_c != 1)} · "
        f"updated {ago(view.storyboard.updated_at, now)} · "
        f"total cost {money(view.total_cost, None)} · id {view.id}"
    )
    with st.container(horizontal=True, vertical_alignment="center"):
        models_box = st.popover("Models", icon=":material/tune:")
        with models_box:
            models = render_models(services)
        whole = st.popover(
            "Images for the whole storyboard",
            icon=":material/burst_mode:",
            disabled=not view.entity_count,
            key=WHOLE,
            on_change=_forget_whole_error,
        )
        with whole:
            _whole_storyboard_form(services, owner, view, models[0])
        with st.popover("Rename", icon=":material/edit:"):
            with st.form("sb:rename", border=False):
                new_title = st.text_input(
                    "Title", value=view.title, key=following(f"sb:rename:{view.id}", view.title)
                )
                if st.form_submit_button("Save", type="primary"):
                    with user_errors():
                        sb.rename_storyboard(services, owner, view.id, new_title)
                        flash("Renamed.")
                        st.rerun()
        zip_button(services, owner, "storyboard", view.id, view.title, key="sb:export")
        delete_button(
            services, owner, "storyboard", view.id, key="sb:delete", then="pages/storyboards.py"
        )
        st.caption(
            f":material/image: {_model_summary(services, 'sb:image_model')} · "
            f":material/movie: {_model_summary(services, 'sb:video_model')}"
        )
    job = view.exclusive
    if job is not None and job.active:
        beat = job.heartbeat_at or job.started_at
        detail = (
            f"{job.stage} · last heartbeat {ago(beat, now)}"
            if job.status == "running"
            else "queued"
        )
        st.info(
            f"Making images for the whole storyboard ({job.total}): {detail}.",
            icon=":material/burst_mode:",
        )
    elif (
        job is not None
        and job.status == "failed"
        and job.completed_at
        and ((now - job.completed_at).total_seconds() < 3600)
    ):
        st.caption(
            f":material/error: The last whole-storyboard run failed: {md(job.last_error or '')}"
        )
    _clear_offer(services, owner, view)
    return models


WHOLE = "sb:whole"  # the popover's key: closed from the callback once the request is answered
WHOLE_ERROR = "sb:whole_error"


def _whole_storyboard_form(
    services: Services, owner: str, view: StoryboardPage, image_model: str | None
) -> None:
    st.markdown(
        "One job makes an image for every scene and character from its name and description. "
        "Only one such job runs per storyboard at a time."
    )
    error = st.session_state.get(WHOLE_ERROR)
    if error:
        st.error(md(error), icon=":material/error:")
    with st.form("sb:all", border=False):
        st.text_input(
            "Style (optional)",
            key="sb:all:style",
            placeholder="e.g. watercolour, soft morning light",
        )
        st.checkbox("Only those without an image", key="sb:all:missing")
        st.form_submit_button(
            "Generate images",
            type="primary",
            icon=":material/auto_awesome:",
            on_click=_generate_whole,
            args=(services, owner, view.id, image_model),
        )


def _generate_whole(
    services: Services, owner: str, storyboard_id: str, image_model: str | None
) -> None:
    """The form's callback (it runs before the page, so it may close the popover)."""
    style = st.session_state.get("sb:all:style", "")
    only_missing = bool(st.session_state.get("sb:all:missing", False))
    provider, model = split_choice(image_model)
    content = {
        "storyboard": storyboard_id,
        "style": style,
        "missing": only_missing,
        "m": image_model,
    }
    key = submission_key(st.session_state, f"sb:all:{storyboard_id}", content, time.monotonic())
    st.session_state.pop(WHOLE_ERROR, None)
    try:
        job = sb.generate_storyboard_images(
            services,
            owner,
            storyboard_id,
            idempotency_key=key,
            style=style,
            only_missing=only_missing,
            provider=provider,
            model=model,
        )
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
        flash(f"Queued images for {count} scene(s) and character(s).", icon=":material/burst_mode:")
        st.session_state.pop(OFFER, None)
    st.session_state[WHOLE] = False


def _remember_in_progress(storyboard_id: str, err: InProgress) -> None:
    st.session_state[OFFER] = {
        "storyboard": storyboard_id,
        "job_id": err.job_id,
        "message": "Images for this storyboard are already being made. If that job is stuck, "
        "clear it and try again.",
    }


def render_add_entity(services: Services, owner: str, view: StoryboardPage) -> None:
    with st.expander(
        "Add a scene or character", icon=":material/add_circle:", expanded=not view.entity_count
    ):
        with st.form(f"sb:add:{view.id}", clear_on_submit=True, border=False):
            kind = st.segmented_control(
                "Kind",
                ["scene", "character"],
                default="scene",
                key=f"sb:add_kind:{view.id}",
                format_func=lambda k: KIND_LABELS[k],
                required=True,
            )
            name = st.text_input(
                "Name",
                key=f"sb:add_name:{view.id}",
                max_chars=sb.MAX_NAME_CHARS,
                placeholder="e.g. Cliff at dusk, or Captain Mara",
            )
            description = st.text_area(
                "Description",
                key=f"sb:add_desc:{view.id}",
                height=90,
                placeholder="What it looks like: the default prompt for its image",
            )
            if st.form_submit_button("Add", type="primary", icon=":material/add:"):
                with user_errors():
                    entity = sb.add_entity(
                        services,
                        owner,
                        view.id,
                        kind=kind or "scene",
                        name=name,
                        description=description,
                    )
                    flash(f"Added {KIND_LABELS[entity.kind].lower()} {md(entity.name)}.")
                    st.rerun()
