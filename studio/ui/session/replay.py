"""Replay this branch with another model: the plan and its estimate before anything runs, then
the controls of a replay in progress (cancel it; requeue or skip a step that failed)."""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from studio import sessions
from studio.errors import StudioError
from studio.humanize import money
from studio.services import Services
from studio.sessions import GenerationView, SessionPage
from studio.submissions import submission_key
from studio.ui.common.feedback import flash, user_errors
from studio.ui.common.model_picker import pick_model
from studio.ui.common.text import md


def render_replay(
    services: Services,
    owner: str,
    view: SessionPage,
    gen: GenerationView,
    *,
    on_new_step: Callable[[str], None],
) -> None:
    """A toggle opening the replay of the selected step's branch (read only while open)."""
    if view.replay_key is not None:
        _replay_controls(services, owner, gen)
    if not st.toggle(
        "Replay this branch with…",
        key=f"replay_open:{view.id}",  # per session: it stays open as the selection moves
        help="Run every step from the first one to this one again with another model.",
    ):
        return
    with st.container(border=True):
        choice = pick_model(
            services, key=f"replay_model:{view.id}", mode=gen.generation.mode, label="Replay with"
        )
        if choice is None:
            st.warning("No other model can make these steps.", icon=":material/block:")
            return
        try:
            plan = sessions.plan_replay(
                services, owner, gen.id, provider=choice.provider, model=choice.model
            )
        except StudioError as err:
            st.warning(md(err.user_message), icon=":material/block:")
            return
        path = " → ".join(f"step {g.step}" for g in plan.steps)
        cost = money(None, plan.total) if plan.priced else f"at least {money(None, plan.total)}"
        st.markdown(
            f"Replays {len(plan.steps)} step{'s' * (len(plan.steps) != 1)} ({path}) on "
            f"**{md(choice.label)}**, in order, each from the previous replayed image, with the "
            f"same prompts, masks, seeds and strengths: **{cost}** in all."
        )
        if st.button(
            f"Replay {len(plan.steps)} steps",
            key=f"replay_go:{gen.id}",
            type="primary",
            icon=":material/replay:",
        ):
            with user_errors():
                content = {"step": gen.id, "provider": choice.provider, "model": choice.model}
                key = submission_key(
                    st.session_state, f"replay:{gen.id}", content, time.monotonic()
                )
                new = sessions.replay_branch(
                    services,
                    owner,
                    gen.id,
                    provider=choice.provider,
                    model=choice.model,
                    idempotency_key=key,
                )
                flash(f"Replay queued: steps {new[0].step}–{new[-1].step} on {md(choice.label)}")
                on_new_step(new[0].id)
                st.rerun()


def _replay_controls(services: Services, owner: str, gen: GenerationView) -> None:
    """The selected step is part of a replay: cancel it, or requeue or skip a failed step."""
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    with row:
        st.caption(":material/replay: Part of a replayed branch.")
        if gen.status == "failed":
            st.caption("The later steps wait until this one is requeued or skipped.")
            for label, skip, icon in (
                ("Requeue", False, ":material/restart_alt:"),
                ("Skip", True, ":material/skip_next:"),
            ):
                if st.button(label, key=f"replay_{label.lower()}:{gen.id}", icon=icon):
                    with user_errors():
                        sessions.requeue_or_skip(services, owner, gen.id, skip=skip)
                        flash(f"Step {gen.step} {'skipped' if skip else 'requeued'}")
                        st.rerun()
        if gen.active or gen.status == "failed":
            if st.button(
                "Cancel the replay", key=f"replay_cancel:{gen.id}", icon=":material/cancel:"
            ):
                with user_errors():
                    n = sessions.cancel_replay(services, owner, gen.id)
                    flash(f"Replay canceled: {n} step{'s' * (n != 1)} that had not run")
                    st.rerun()
