"""The prompt and advanced-parameter widgets shared by Home and the Session page.

Widgets are keyed `{prefix}:{field}` so "duplicate into the form" can fill them through
session_state (from a button callback, before they are drawn again)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import streamlit as st

from studio.model_choices import ModelChoice
from studio.sessions import MAX_GUIDANCE, MAX_IMAGES, MAX_SEED, MAX_STEPS, GenerationParams

SIZES = {
    "Square 1024 × 1024": (1024, 1024),
    "Landscape 1536 × 1024": (1536, 1024),
    "Portrait 1024 × 1536": (1024, 1536),
    "Wide 1344 × 768": (1344, 768),
    "Small 512 × 512": (512, 512),
}


def _k(prefix: str, name: str) -> str:
    return f"{prefix}:{name}"


def prompt_box(prefix: str, *, label: str, placeholder: str, max_chars: int) -> str:
    """The prompt. Not truncated by the widget: a pasted prompt over `max_chars` reaches the
    service, which says how long it is and what the limit is (nothing is cut silently)."""
    return (
        st.text_area(
            label,
            key=_k(prefix, "prompt"),
            placeholder=placeholder,
            height=110,
            help=f"Up to {max_chars:,} characters.",
        )
        or ""
    )


def advanced(prefix: str, *, size: bool, strength: bool) -> None:
    """The advanced parameters, in an expander (their values are read by `params`)."""
    with st.expander("Advanced parameters", icon=":material/tune:"):
        st.text_input(
            "Negative prompt",
            key=_k(prefix, "negative"),
            placeholder="what the image should not show",
        )
        c1, c2, c3 = st.columns(3)
        if size:
            c1.selectbox("Size", list(SIZES), key=_k(prefix, "size"))
        else:
            c1.caption("Size: the source image's")
        c2.number_input(
            "Seed",
            min_value=0,
            max_value=MAX_SEED,
            value=None,
            step=1,
            key=_k(prefix, "seed"),
            placeholder="random",
            help="Same prompt, model, size and seed give the same image.",
        )
        c3.number_input("Images", min_value=1, max_value=MAX_IMAGES, value=1, key=_k(prefix, "n"))
        c4, c5, c6 = st.columns(3)
        c4.number_input(
            "Steps",
            min_value=1,
            max_value=MAX_STEPS,
            value=None,
            step=1,
            key=_k(prefix, "steps"),
            placeholder="model default",
        )
        c5.number_input(
            "Guidance",
            min_value=0.0,
            max_value=MAX_GUIDANCE,
            value=None,
            step=0.5,
            key=_k(prefix, "guidance"),
            placeholder="model default",
        )
        if strength:
            c6.slider(
                "Strength",
                0.0,
                1.0,
                0.6,
                0.05,
                key=_k(prefix, "strength"),
                help="How far the new image may move away from the source: 0 keeps it, "
                "1 ignores it.",
            )


def params(prefix: str, choice: ModelChoice | None, *, prompt: str) -> GenerationParams:
    """What the form holds, as GenerationParams (validated by the service, not here)."""
    state = st.session_state
    width, height = SIZES.get(state.get(_k(prefix, "size")) or "", (1024, 1024))
    seed, steps = state.get(_k(prefix, "seed")), state.get(_k(prefix, "steps"))
    guidance = state.get(_k(prefix, "guidance"))
    return GenerationParams(
        prompt=prompt,
        negative_prompt=state.get(_k(prefix, "negative")) or None,
        provider=choice.provider if choice else "",
        model=choice.model if choice else "",
        width=width,
        height=height,
        seed=int(seed) if seed is not None else None,
        steps=int(steps) if steps is not None else None,
        guidance=float(guidance) if guidance is not None else None,
        strength=float(state.get(_k(prefix, "strength"), 0.6)),
        n=int(state.get(_k(prefix, "n")) or 1),
    )


def form_content(prefix: str, **extra: Any) -> dict[str, Any]:
    """Everything the form holds, for the double-submit check (studio.submissions)."""
    content = {str(k): v for k, v in st.session_state.items() if str(k).startswith(f"{prefix}:")}
    return content | extra


def fill(state: MutableMapping[Any, Any], prefix: str, p: GenerationParams, model_key: str) -> None:
    """Put a step's parameters into the form (call from a button callback)."""
    state[_k(prefix, "prompt")] = p.prompt
    state[_k(prefix, "negative")] = p.negative_prompt or ""
    state[_k(prefix, "seed")] = p.seed
    state[_k(prefix, "steps")] = p.steps
    state[_k(prefix, "guidance")] = p.guidance
    state[_k(prefix, "strength")] = float(p.strength)
    state[_k(prefix, "n")] = p.n
    size = next((name for name, wh in SIZES.items() if wh == (p.width, p.height)), None)
    if size:
        state[_k(prefix, "size")] = size
    state[model_key] = f"{p.provider}/{p.model}"
