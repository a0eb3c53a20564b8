"""The model picker: usable models with their estimated price; providers that are off are
listed under it with the reason (e.g. "OPENAI_API_KEY is not set")."""

from __future__ import annotations

import streamlit as st

from studio.model_choices import ModelChoice, default_choice, model_choices
from studio.services import Services


def pick_model(
    services: Services,
    *,
    key: str,
    mode: str | None = None,
    kind: str = "image",
    provider: str | None = None,
    model: str | None = None,
    label: str = "Model",
) -> ModelChoice | None:
    """A selectbox of models (works inside a form). Preselects `provider`/`model`, else the
    studio's default provider. None when no provider offers such a model."""
    choices, off = model_choices(services.providers, kind=kind, mode=mode)
    if not choices:
        st.warning("No provider that is switched on offers such a model.")
        return None
    if st.session_state.get(key) not in {c.key for c in choices}:
        st.session_state.pop(key, None)  # a model that went away: fall back to the default
        index = default_choice(choices, provider or services.settings.default_provider, model)
        st.session_state[key] = choices[index].key
    by_key = {c.key: c for c in choices}
    picked = st.selectbox(
        label,
        list(by_key),
        key=key,
        format_func=lambda k: by_key[k].title,
        help="Estimated price of one 1024×1024 image (or one second of video) before the call; "
        "the actual cost is recorded from the provider's usage when it reports one.",
    )
    if off:
        st.caption(
            "Off: " + "; ".join(f"{p.label} ({p.reason})" for p in off) + ". See docs/providers.md."
        )
    return by_key.get(picked)
