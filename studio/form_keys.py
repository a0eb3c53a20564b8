"""Idempotency keys for form submissions (DESIGN §8: double clicks and reruns never
duplicate work).

A submission gets a fresh key, except when the very same form content is submitted again
within a short window: that is a double click (or a resubmit while the first is in flight),
and it must map to the first submission's key so the service returns what it already made.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, MutableMapping
from typing import Any

DOUBLE_SUBMIT_WINDOW_S = 10.0


def _digest(content: Mapping[str, Any]) -> str:
    text = json.dumps(content, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def submission_key(
    state: MutableMapping[str, Any],
    form: str,
    content: Mapping[str, Any],
    now: float,
    window_s: float = DOUBLE_SUBMIT_WINDOW_S,
) -> str:
    """The idempotency key for submitting `form` with `content` at time `now` (seconds).
    `state` is where the last submission is remembered (Streamlit's session_state)."""
    slot = f"_submission_{form}"
    digest = _digest(content)
    last = state.get(slot)
    if last and last["digest"] == digest and now - last["at"] < window_s:
        last["at"] = now
        return str(last["key"])
    key = uuid.uuid4().hex
    state[slot] = {"digest": digest, "key": key, "at": now}
    return key
