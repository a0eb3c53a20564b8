"""Submit once: a form sent twice (a double click, a rerun, a script run again) makes its work
once.

Every submission carries an idempotency key. Scoped by its owner (so keys never cross people)
it becomes the idempotency key of the job the submission enqueues, and the queue's unique
index on job keys does the rest: a repeat finds what the first submission made, and a
concurrent twin that loses the race (`DuplicateKey` from `enqueue(new_only=True)`) rolls back
and returns the winner's work.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

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
    digest = hashlib.sha256(f"{owner_id}\0{idempotency_key}".encode()).hexdigest()
    return f"{kind}:{digest}"


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
    except (DuplicateKey, *raced) as err:
        with services.db() as db:
            found = replay(db)
        if found is not None:
            return found
        if isinstance(err, DuplicateKey):
            raise Conflict(gone) from None
        raise
