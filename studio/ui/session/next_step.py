"""The form for the session's next step: where it starts (any finished image of the session,
or an upload), an optional mask (painted on a canvas or uploaded), the prompt, the model and
the advanced parameters."""

from __future__ import annotations

import io
import time
from collections.abc import Callable

import streamlit as st
from PIL import Image

from studio import imaging, sessions
from studio.services import Services
from studio.sessions import GenerationParams, GenerationView, SessionPage
from studio.submissions import submission_key
from studio.ui.common.feedback import flash, user_errors
from studio.ui.common.media import media_source
from studio.ui.common.model_picker import pick_model
from studio.ui.common.text import md
from studio.ui.session import param_form
from studio.ui.session.mask_canvas import brush_size, paint_mask
from studio.ui.session.recent_prompts import render_recent_prompts

UPLOAD_TYPES = ["png", "jpg", "jpeg", "webp"]
MASK_CHOICES = {"none": "No mask", "paint": "Paint a mask", "upload": "Upload a mask"}
SOURCE_CHOICES = {"selected": "A step of this session", "upload": "An uploaded image"}


def form_prefix(session_id: str) -> str:
    return f"next-{session_id}"


def model_key(session_id: str) -> str:
    return f"{form_prefix(session_id)}:model"


def render_next_step(
    services: Services,
    owner: str,
    view: SessionPage,
    selected: GenerationView | None,
    *,
    on_select: Callable[[str], None],
    on_new_step: Callable[[str], None],
) -> None:
    sid = view.id
    prefix = form_prefix(sid)
    st.header("Next step", anchor=False)

    source_kind = st.segmented_control(
        "Start from",
        list(SOURCE_CHOICES),
        format_func=lambda choice: SOURCE_CHOICES[choice],
        default="selected",
        key=f"{prefix}/source",
        required=True,
    )
    parent: GenerationView | None = None
    upload_bytes: bytes | None = None
    if source_kind == "upload":
        file = st.file_uploader(
            "Input image (PNG, JPEG or WebP)", type=UPLOAD_TYPES, key=f"{prefix}/input"
        )
        if file is not None:
            upload_bytes = file.getvalue()
            _offer_embedded_parameters(upload_bytes, view.id)
    else:
        parent = _iterate_from(view, selected, on_select, prefix)

    mask_kind = st.segmented_control(
        "Mask",
        list(MASK_CHOICES),
        format_func=lambda choice: MASK_CHOICES[choice],
        default="none",
        key=f"{prefix}/mask_kind",
        required=True,
        help="With a mask only the marked region changes (inpainting); the rest of the image "
        "stays exactly as it is.",
    )
    canvas_data = None
    mask_bytes: bytes | None = None
    paint_on = _paint_source(upload_bytes, parent) if mask_kind == "paint" else None
    brush = 0
    if mask_kind == "paint":
        if paint_on is None:
            st.info("Choose or upload the image to paint on first.")
        else:
            brush = brush_size(key=prefix)
    elif mask_kind == "upload":
        file = st.file_uploader(
            "Mask (same size as the image; white or transparent = change)",
            type=UPLOAD_TYPES,
            key=f"{prefix}/mask_file",
        )
        if file is not None:
            mask_bytes = file.getvalue()
    mode = "image_to_image" if mask_kind == "none" else "inpaint"

    render_recent_prompts(services, owner, prefix)
    with st.form(f"{prefix}/form", border=True):
        if paint_on is not None:  # inside the form: strokes are sent with the submission
            nonce = st.session_state.get(f"{prefix}/canvas_nonce", 0)
            canvas_data = paint_mask(
                paint_on[0], paint_on[1], key=f"{prefix}/canvas/{nonce}", brush=brush
            )
        prompt = param_form.prompt_box(
            prefix,
            label="Prompt",
            placeholder="What should change? (Ctrl+Enter to generate)",
            max_chars=services.settings.max_prompt_chars,
        )
        choice = pick_model(
            services,
            key=model_key(sid),
            mode=mode,
            provider=view.session.provider,
            model=view.session.model,
        )
        param_form.advanced(prefix, size=False, strength=True)
        submitted = st.form_submit_button(
            "Generate", type="primary", icon=":material/auto_awesome:"
        )
    if not submitted:
        return
    with user_errors():
        content = param_form.form_content(
            prefix,
            parent=parent.id if parent else None,
            mask_kind=mask_kind,
            upload=hash(upload_bytes) if upload_bytes else None,
            mask=hash(mask_bytes) if mask_bytes else None,
            canvas=hash(canvas_data.tobytes()) if canvas_data is not None else None,
        )
        key = submission_key(st.session_state, prefix, content, time.monotonic())
        if source_kind == "upload" and upload_bytes is None:
            st.error("Upload an input image first, or start from a step of this session.")
            return
        if mask_kind == "upload" and mask_bytes is None:
            st.error("Upload a mask first, or choose “No mask”.")
            return
        gen = sessions.iterate(
            services,
            owner,
            sid,
            parent.id if parent else None,
            param_form.params(prefix, choice, prompt=prompt),
            idempotency_key=key,
            mask=mask_bytes,
            mask_canvas=canvas_data if mask_kind == "paint" else None,
            input_image=upload_bytes,
        )
        flash(f"Step {gen.step} queued")
        if mask_kind == "paint":  # a fresh canvas for the next mask
            st.session_state[f"{prefix}/canvas_nonce"] = (
                st.session_state.get(f"{prefix}/canvas_nonce", 0) + 1
            )
        on_new_step(gen.id)
        st.rerun()


def _paint_source(
    upload: bytes | None, parent: GenerationView | None
) -> tuple[bytes | str, tuple[int, int]] | None:
    """The image to paint on (bytes, or a URL the browser loads) and its size in pixels."""
    if upload is not None:
        try:
            with Image.open(io.BytesIO(upload)) as im:
                return upload, im.size
        except (OSError, ValueError, Image.DecompressionBombError):
            return None  # not an image: the submission says why
    asset = parent.output if parent is not None else None
    source = media_source(asset)
    if asset is None or source is None or not asset.width or not asset.height:
        return None
    return source, (asset.width, asset.height)


def _offer_embedded_parameters(data: bytes, session_id: str) -> None:
    """An uploaded PNG made here (or by another tool) carries its parameters: offer them."""
    found = imaging.read_parameters(data)
    if not found or not found.get("prompt"):
        return
    params = GenerationParams.from_mapping(found)

    def use() -> None:
        param_form.fill(st.session_state, form_prefix(session_id), params, model_key(session_id))

    st.info(
        f"This image carries its parameters: “{md(params.prompt[:120])}”.",
        icon=":material/data_object:",
    )
    st.button(
        "Use its parameters",
        key=f"{form_prefix(session_id)}/reuse",
        on_click=use,
        icon=":material/content_paste:",
    )


def _iterate_from(
    view: SessionPage,
    selected: GenerationView | None,
    on_select: Callable[[str], None],
    prefix: str,
) -> GenerationView | None:
    """'Iterate from': the selected step when it has an image, else the latest image."""
    outputs = view.choices
    if not outputs:
        st.info("No finished image to iterate from yet: wait for one, or upload an image.")
        return None
    ids = [g.id for g in outputs]
    current = selected.id if selected is not None and selected.id in ids else ids[0]
    st.session_state[f"{prefix}/parent"] = current
    labels = {g.id: f"Step {g.step}: {g.generation.prompt[:60]}" for g in outputs}

    def changed() -> None:
        on_select(st.session_state[f"{prefix}/parent"])

    picked = st.selectbox(
        "Iterate from",
        ids,
        format_func=lambda gid: labels[gid],
        key=f"{prefix}/parent",
        on_change=changed,
        help="The new step records this one as its parent; choosing an older step starts a "
        "new branch and keeps the others. Lists the newest images; select older ones in the "
        "history tree.",
    )
    return view.by_id.get(picked) if picked is not None else None
