"""One scene or character on the Storyboards page: its current image and video, the four
generate buttons, editing and deleting it, its work in flight and its history; and the grid of
earlier work the page reuses."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import streamlit as st

from db.types import utcnow
from studio import storyboards as sb
from studio.humanize import money
from studio.services import Services
from studio.storyboards import EntityView, GenerationView
from studio.submissions import submission_key
from studio.ui.common.feedback import flash, user_errors
from studio.ui.common.media import full_image, thumbnail
from studio.ui.storyboards.header import KIND_LABELS, format_when, model_label, split_choice

HISTORY_COLUMNS = 4
STATUS_ICONS = {
    "queued": ":material/hourglass_top:",
    "running": ":material/autorenew:",
    "succeeded": ":material/check_circle:",
    "failed": ":material/error:",
    "canceled": ":material/cancel:",
}
DURATION_LABELS = {4: "4 s", 6: "6 s", 8: "8 s"}


def _media_caption(
    services: Services, gen: GenerationView | None, when: datetime | None, now: datetime
) -> str:
    parts = [f"Generated {format_when(when, now)}"] if when else []
    if gen is not None:
        parts.append(gen.mode_label)
        parts.append(model_label(services, gen.generation.provider, gen.generation.model))
        cost = money(gen.generation.cost_actual, gen.generation.cost_estimate)
        if cost not in ("–", "free"):
            parts.append(cost)
    return " · ".join(parts)


def _show_image(services: Services, ev: EntityView, now: datetime) -> None:
    st.markdown("**Image**")
    data = full_image(ev.image)
    if data is None:
        with st.container(
            border=True, height=160, vertical_alignment="center", horizontal_alignment="center"
        ):
            st.caption(":material/image: No image yet")
        return
    image = ev.image
    assert image is not None  # full_image(None) is None
    portrait = (image.height or 0) > (image.width or 0)
    st.image(data, width=300 if portrait else "stretch")
    st.caption(_media_caption(services, ev.image_generation, ev.entity.image_generated_at, now))


def _show_video(services: Services, ev: EntityView, now: datetime) -> None:
    st.markdown("**Video**")
    data = full_image(ev.video)
    if data is None:
        with st.container(
            border=True, height=160, vertical_alignment="center", horizontal_alignment="center"
        ):
            st.caption(":material/movie: No video yet")
        return
    video = ev.video
    assert video is not None  # full_image(None) is None
    portrait = (video.height or 0) > (video.width or 0)
    st.video(data, format=video.mime_type, width=260 if portrait else "stretch")
    st.caption(_media_caption(services, ev.video_generation, ev.entity.video_generated_at, now))


def _video_options(prefix: str) -> sb.VideoOptions:
    c1, c2, c3 = st.columns(3)
    aspect = c1.segmented_control(
        "Aspect", list(sb.ASPECT_RATIOS), default="16:9", key=f"{prefix}:aspect", required=True
    )
    duration = c2.segmented_control(
        "Duration",
        list(sb.DURATIONS),
        default=8,
        format_func=lambda d: DURATION_LABELS[d],
        key=f"{prefix}:duration",
        required=True,
    )
    resolution = c3.segmented_control(
        "Resolution",
        list(sb.RESOLUTIONS),
        default="720p",
        key=f"{prefix}:resolution",
        required=True,
    )
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


def _generate_form(
    services: Services, owner: str, ev: EntityView, models: tuple[str | None, str | None]
) -> None:
    prefix = f"sb:gen:{ev.id}"
    has_image = ev.image is not None
    with st.form(prefix, border=False):
        prompt = st.text_area(
            "Prompt",
            key=f"{prefix}:prompt",
            height=80,
            value=sb.entity_prompt(ev.entity),
            max_chars=services.settings.max_prompt_chars,
            help="For edits and animations, say what should change or move.",
        )
        options = _video_options(prefix)
        clicked = None
        for (action, (label, icon)), col in zip(ACTIONS.items(), st.columns(4), strict=True):
            needs_image = action in ("edit", "animate")
            if col.form_submit_button(
                label,
                icon=icon,
                key=f"{prefix}:{action}",
                width="stretch",
                disabled=needs_image and not has_image,
                type="primary" if action == "image" else "secondary",
                help="Generate an image first."
                if needs_image and not has_image
                else ACTION_HELP[action],
            ):
                clicked = action
    if clicked is None:
        return
    image_model, video_model = models
    provider, model = split_choice(image_model if clicked in ("image", "edit") else video_model)
    content = {
        "entity": ev.id,
        "action": clicked,
        "prompt": prompt,
        "options": options.to_json(),
        "model": model,
    }
    key = submission_key(st.session_state, f"{prefix}:{clicked}", content, time.monotonic())
    with user_errors():
        common: dict[str, Any] = {
            "prompt": prompt,
            "idempotency_key": key,
            "provider": provider,
            "model": model,
        }
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
            description = st.text_area(
                "Description", value=ev.description, height=100, key=f"sb:edit_desc:{ev.id}"
            )
            if st.form_submit_button("Save", type="primary"):
                with user_errors():
                    sb.update_entity(services, owner, ev.id, name=name, description=description)
                    flash(f"Saved {name.strip() or ev.name}.")
                    st.rerun()
    if st.button("Delete…", key=f"sb:delete:{ev.id}", icon=":material/delete:", type="tertiary"):
        _confirm_delete(services, owner, ev.id, ev.name, KIND_LABELS[ev.kind].lower())


@st.dialog("Delete")
def _confirm_delete(services: Services, owner: str, entity_id: str, name: str, what: str) -> None:
    st.write(
        f"Delete the {what} **{name}** with its history? Work still queued for it is "
        "canceled. This cannot be undone."
    )
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
    with st.expander(
        f"History · {total} earlier version{'s' * (total != 1)}", icon=":material/history:"
    ):
        if images:
            st.markdown("**Earlier images**")
            grid(images, now, lambda g: st.image(thumbnail(g.asset) or b"", width="stretch"))
        if videos:
            st.markdown("**Earlier videos**")
            grid(
                videos,
                now,
                lambda g: st.video(full_image(g.asset) or b"", format=_mime(g)),
            )


def grid(
    gens: list[GenerationView],
    now: datetime,
    show: Callable[[GenerationView], object],
    *,
    show_ids: bool = False,
) -> None:
    for start in range(0, len(gens), HISTORY_COLUMNS):
        cols = st.columns(HISTORY_COLUMNS)
        for col, gen in zip(cols, gens[start : start + HISTORY_COLUMNS], strict=False):
            with col:
                show(gen)
                prompt = " ".join(gen.prompt.split())
                short = prompt if len(prompt) <= 80 else prompt[:79] + "…"
                st.caption(f"{format_when(gen.finished_at, now)} · {gen.mode_label}: {short}")
                if show_ids and gen.asset is not None:
                    st.caption(f"asset `{gen.asset.id}`")


def render_entity(
    services: Services, owner: str, ev: EntityView, models: tuple[str | None, str | None]
) -> None:
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
            st.markdown(describe_own(gen))
        for media in ("image", "video"):
            failure = ev.last_failure(media)
            if failure is not None:
                st.error(
                    f"The last {failure.mode_label} failed: {failure.error}",
                    icon=":material/error:",
                )
        image_col, video_col = st.columns(2, gap="medium")
        with image_col:
            _show_image(services, ev, now)
        with video_col:
            _show_video(services, ev, now)
        _generate_form(services, owner, ev, models)
        _history(services, ev, now)


def describe_own(gen: GenerationView) -> str:
    state = gen.stage if gen.status == "running" and gen.stage else gen.status
    return f"{STATUS_ICONS.get(gen.status, '')} {gen.mode_label.capitalize()} · {state}"


def _mime(gen: GenerationView) -> str:
    return gen.asset.mime_type if gen.asset is not None else "video/mp4"
