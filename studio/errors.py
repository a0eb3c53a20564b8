"""Domain errors. Each carries a message meant for the person using the studio."""

from __future__ import annotations


class StudioError(Exception):
    """Base class: `user_message` is safe and useful to show on a page as-is."""

    # How the job queue treats this error when a job raises it (see studio/jobs/retry.py):
    # a domain error is permanent (retrying the same input gives the same answer) unless a
    # subclass or an instance says it is temporary.
    error_class = "permanent"

    def __init__(self, user_message: str, *, temporary: bool = False) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        if temporary:
            self.error_class = "temporary"


class NotFound(StudioError):
    """The thing does not exist, or it is not the caller's (we never say which)."""


class Invalid(StudioError):
    """Input was rejected; nothing was stored."""


class InProgress(StudioError):
    """Exclusive work is already running on this key (the in-app 409)."""

    def __init__(self, user_message: str, job_id: str) -> None:
        super().__init__(user_message)
        self.job_id = job_id


class LimitExceeded(StudioError):
    """A rate, concurrency or budget limit was reached."""


class Conflict(StudioError):
    """The row changed under us (e.g. a job whose lease was lost)."""
