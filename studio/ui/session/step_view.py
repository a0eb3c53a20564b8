"""The selected step: its image large with badges, where it came from, its details, and what
can be done with it (regenerate, duplicate into the form, cancel, delete, download, compare)."""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from studio import sessions
from studio.humanize import duration, money
from studio.providers.base import mode_label
from studio.services import Services
from studio.sessions import GenerationView, SessionPage, costs
from studio.sessions.diff import diff_steps
from studio.submissions import submission_key
from studio.ui.common.feedback import flash, user_errors
from studio.ui.common.media import mask_overlay, media_source, show_image
from studio.ui.common.text import md
from studio.ui.lifecycle.delete import delete_button
from studio.ui.session.changes import render_diff
from studio.ui.session.history_tree import STATUS_COLORS, STATUS_ICONS

FAILURE_LABELS = {
    "permanent": "refused",
    "safety": "refused for safety reasons",
    "out_of_credits": "out of credits",
    "auth": "not authorized",
    "rate_limit": "rate limited",
    "temporary": "a temporary error",
}


def image_alt(gen: GenerationView, what: str = "Image") -> str:
    return f"{what} of step {gen.step}: {gen.generation.prompt[:200]}"


def render_viewer(view: SessionPage, gen: GenerationView) -> None:
    """The selected step's image (or its state), with badges."""
    g = gen.generation
    st.header(f"Step {gen.step} · {mode_label(g.mode)}", anchor=False)
    _lineage(view, gen)
    out = gen.output
    if gen.status == "succeeded" and out is not None:
        image: bytes | str | None = media_source(out)
        if gen.mask is not None and st.toggle(
            "Show the mask",
            key=f"overlay:{gen.id}",
            help="Tints the region this step was allowed to change.",
        ):
            image = mask_overlay(out, gen.mask) or image
        if image is None:
            st.warning("This image's file is missing from storage.", icon=":material/broken_image:")
        else:
            show_image(image, alt=image_alt(gen), width="stretch")
            st.text(g.prompt[:200])  # the prompt as plain text, never as markdown
        if len(gen.outputs) > 1:
            cols = st.columns(len(gen.outputs))
            for i, (col, asset) in enumerate(zip(cols, gen.outputs, strict=True)):
                extra = media_source(asset)
                if extra is not None:
                    with col:
                        show_image(
                            extra,
                            alt=image_alt(gen, f"Image {i + 1}"),
                            width="stretch",
                            caption=f"image {i + 1}",
                        )
    elif gen.active:
        what = (
            "is waiting for a worker"
            if gen.status == "queued"
            else (f"is being generated ({gen.stage or 'running'})")
        )
        st.info(
            f"Step {gen.step} {what}. This page updates by itself.", icon=":material/hourglass_top:"
        )
    elif gen.status == "failed":
        label = FAILURE_LABELS.get(gen.error_class or "", "an error")
        st.error(
            f"Step {gen.step} failed ({label}): {md(gen.error or 'no reason given')}",
            icon=":material/error:",
        )
    else:
        st.warning(f"Step {gen.step} was canceled.", icon=":material/block:")
    _badges(view, gen)
    parent = view.parent
    if parent is not None:
        with st.expander(f"What changed from step {parent.step}", icon=":material/difference:"):
            render_diff(
                diff_steps(parent, gen, view.step_numbers()),
                title=f"Step {parent.step} → step {gen.step}",
            )


def _lineage(view: SessionPage, gen: GenerationView) -> None:
    """Where the step came from: its nearest ancestors, parent last."""
    if not view.lineage:
        if gen.input is not None:
            st.caption("Made from an uploaded image.")
        return
    steps = [f"step {a.step}" for a in reversed(view.lineage)] + [f"step {gen.step}"]
    start = "" if view.lineage_complete else "… → "
    st.caption(f"Made from {start}{' → '.join(steps)}")


def _badges(view: SessionPage, gen: GenerationView) -> None:
    g, p = gen.generation, gen.params
    out = gen.output
    width = out.width if out is not None else p.get("width")
    height = out.height if out is not None else p.get("height")
    row = st.container(horizontal=True, gap="small")
    with row:
        st.badge(f"{md(g.provider)} · {md(g.model)}", icon=":material/memory:", color="violet")
        if width and height:
            st.badge(f"{width} × {height}", icon=":material/aspect_ratio:", color="gray")
        if p.get("seed") is not None:
            st.badge(f"seed {p['seed']}", icon=":material/casino:", color="gray")
        st.badge(
            gen.status,
            icon=STATUS_ICONS.get(gen.status),
            color=STATUS_COLORS.get(gen.status, "gray"),
        )
        if g.duration_ms is not None:
            st.badge(duration(g.duration_ms), icon=":material/timer:", color="blue")
        st.badge(money(g.cost_actual, g.cost_estimate), icon=":material/payments:", color="orange")
        totals = costs.path_totals(g, view.parent.generation if view.parent else None)
        so_far = money(None, totals.cost) if totals.estimated else money(totals.cost, None)
        st.badge(
            f"to here: {so_far} · {duration(totals.ms)}",
            icon=":material/account_tree:",
            color="orange",
        )
        if g.mask_outside_changed is not None:
            kept = g.mask_outside_changed == 0
            st.badge(
                "mask held: 0 pixels changed outside"
                if kept
                else f"mask broken: {g.mask_outside_changed} pixels changed outside",
                icon=":material/verified:" if kept else ":material/warning:",
                color="green" if kept else "red",
            )


def render_details(view: SessionPage, gen: GenerationView) -> None:
    g, p = gen.generation, gen.params
    parent = view.parent
    rows = [
        ("Prompt", g.prompt),
        ("Negative prompt", g.negative_prompt or "–"),
        ("Mode", mode_label(g.mode)),
        ("Provider · model", f"{g.provider} · {g.model}"),
        ("Iterated from", f"step {parent.step}" if parent else ("upload" if gen.input else "–")),
        ("Mask", "yes" if gen.mask else "no"),
        *[(k.replace("_", " ").capitalize(), str(v)) for k, v in sorted(p.items())],
        ("Created", f"{g.created_at:%Y-%m-%d %H:%M:%S} UTC"),
        ("Started", f"{g.started_at:%H:%M:%S} UTC" if g.started_at else "–"),
        ("Completed", f"{g.completed_at:%H:%M:%S} UTC" if g.completed_at else "–"),
        ("Generation time", duration(g.duration_ms)),
        ("Cost", money(g.cost_actual, g.cost_estimate)),
        ("Cost to here", money(g.path_cost, None) if g.path_cost is not None else "–"),
        ("Time to here", duration(g.path_ms)),
        (
            "Pixels changed outside the mask",
            str(g.mask_outside_changed) if g.mask_outside_changed is not None else "–",
        ),
        ("Error", f"{gen.error} ({gen.error_class})" if gen.error else "–"),
    ]
    with st.expander(f"Step {gen.step}: parameters, timing and cost", icon=":material/info:"):
        st.dataframe(
            {"Parameter": [r[0] for r in rows], "Value": [r[1] for r in rows]},
            hide_index=True,
            width="stretch",
        )


def render_actions(
    services: Services,
    owner: str,
    view: SessionPage,
    gen: GenerationView,
    *,
    on_duplicate: Callable[[str], None],
    on_new_step: Callable[[str], None],
) -> None:
    """Buttons for the selected step."""
    row = st.container(horizontal=True, gap="small")
    with row:
        if st.button(
            "Regenerate",
            icon=":material/refresh:",
            key="act_regenerate",
            help="The same step again with a new seed (a new branch beside it).",
        ):
            with user_errors():
                key = submission_key(st.session_state, f"regen:{gen.id}", {}, time.monotonic())
                new = sessions.regenerate(services, owner, gen.id, idempotency_key=key)
                flash(f"Step {new.step} queued: step {gen.step} with a new seed")
                on_new_step(new.id)
                st.rerun()
        st.button(
            "Duplicate into the form",
            icon=":material/content_copy:",
            key="act_duplicate",
            on_click=on_duplicate,
            args=(gen.id,),
            help="Fill the form below with this step's prompt and parameters.",
        )
        if gen.active:
            if st.button("Cancel", icon=":material/stop_circle:", key="act_cancel"):
                with user_errors():
                    outcome = sessions.cancel_generation(services, owner, gen.id)
                    flash(
                        f"Step {gen.step} canceled"
                        if outcome == "canceled"
                        else f"Step {gen.step} will stop at its next stage"
                    )
                    st.rerun()
        delete_button(services, owner, "step", gen.id, key="act_delete", label="Delete step")
        if gen.status == "succeeded" and gen.output is not None:
            name = f"step-{gen.step}.png"
            st.download_button(
                "Download",
                data=lambda: _download(services, owner, gen.id),
                file_name=name,
                mime="image/png",
                icon=":material/download:",
                key="act_download",
                help="PNG with the prompt and parameters embedded (readable by other tools).",
            )


def _download(services: Services, owner: str, generation_id: str) -> bytes:
    _, data = sessions.download_bytes(services, owner, generation_id)
    return data


def render_compare(view: SessionPage, gen: GenerationView) -> None:
    """Two finished images side by side: by default the selected step and its parent, and the
    boxes follow the selection (their keys name the selected step)."""
    outputs = view.choices
    if len(outputs) < 2:
        return
    # A toggle, not an expander: an expander's body runs (and loads both images) even closed.
    if not st.toggle("Compare two outputs side by side", key=f"cmp:{view.id}"):
        return
    labels = {g.id: f"Step {g.step}: {g.generation.prompt[:50]}" for g in outputs}
    ids = list(labels)
    first = ids.index(gen.id) if gen.id in labels else 0
    parent = view.parent
    other = (
        parent.id
        if parent is not None and parent.id in labels and parent.id != ids[first]
        else (ids[1] if first == 0 else ids[0])
    )
    c1, c2 = st.columns(2)
    label_of = labels.__getitem__
    a = c1.selectbox(
        "Left", ids, index=first, format_func=label_of, key=f"cmp_a:{view.id}:{gen.id}"
    )
    b = c2.selectbox(
        "Right",
        ids,
        index=ids.index(other),
        format_func=label_of,
        key=f"cmp_b:{view.id}:{gen.id}",
    )
    for col, gid in ((c1, a), (c2, b)):
        if gid is None:
            continue
        shown = view.by_id[gid]
        data = media_source(shown.output)
        with col:
            if data is not None:
                show_image(data, alt=image_alt(shown), width="stretch")
            p = shown.params
            st.caption(
                f"{md(shown.generation.model)} · seed {p.get('seed', '–')} · "
                f"strength {p.get('strength', '–')} · {duration(shown.generation.duration_ms)}"
            )
    if a is not None and b is not None and a != b:
        render_diff(
            diff_steps(view.by_id[a], view.by_id[b], view.step_numbers()),
            title=f"What changed from step {view.by_id[a].step} to step {view.by_id[b].step}",
        )
