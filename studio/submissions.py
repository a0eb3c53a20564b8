"""Submit once: a form sent twice (a double click, a rerun, a script run again) makes its work
once.

Every submission carries an idempotency key: a fresh one per submission, except when the very
same form content is sent again within a short window — a double click, or a resubmit while the
first is in flight — which maps to the first submission's key (`submission_key`). Scoped by its owner (so keys never cross people)
it becomes the idempotency key of the job the submission enqueues, and the queue's unique
index on job keys does the rest: a repeat finds what the first submission made, and a
concurrent twin that loses the race (`DuplicateKey` from `enqueue(new_only=True)`) rolls back
and returns the winner's work.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Callable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.orm import Session

from studio.errors import Conflict
from studio.jobs.queue import DuplicateKey

if TYPE_CHECKING:
    from studio.services import Services

T = TypeVar("T")


def job_key(kind: str, owner_id: str, idempotency_key: str) -> str:
    """The job's idempotency key for a submission of `owner_id` with `idempotency_key`."""
    if not idempotency_key or not str(idempotency_key).strip():
        raise ValueError("an idempotency key is required")
    text = f"{owner_id}\0{idempotency_key}"
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{kind}:{digest}"


DOUBLE_SUBMIT_WINDOW_S = 10.0


def _digest(content: Mapping[str, Any]) -> str:
    text = json.dumps(content, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def submission_key(
    state: MutableMapping[Any, Any],
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


def new_key() -> str:
    """A fresh idempotency key (for a submission that is never repeated on purpose)."""
    return secrets.token_hex(16)


def submit_once(
    services: Services,
    *,
    replay: Callable[[Session], T | None],
    create: Callable[[], T],
    gone: str,
    raced: tuple[type[Exception], ...] = (),
) -> T:
    """What an earlier submission with the same key made (`replay` finds it), else `create()`.

    `create` writes its rows and enqueues its job with `new_only=True` in one transaction; when
    a concurrent submission took the key meanwhile, that transaction rolls back and the
    winner's work is returned — or Conflict(`gone`) when it no longer exists. `raced`: other
    errors a concurrent twin can cause (e.g. InProgress for exclusive work); after one of them
    the twin's work is returned when there is some, else the error stands."""
    with services.db() as db:
        found = replay(db)
    if found is not None:
        return found
    try:
        return create()
    except (DuplicateKey, *raced) as err:  # type: ignore[misc]  # mypy cannot unpack here
        with services.db() as db:
            found = replay(db)
        if found is not None:
            return found
        if isinstance(err, DuplicateKey):
            raise Conflict(gone) from None
        raise
