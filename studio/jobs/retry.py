"""What happens to a job that failed: retried after a backoff, waiting for a provider's quota
without spending an attempt, or failed for good."""

from __future__ import annotations

import random
from dataclasses import dataclass

BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 300.0
RATE_LIMIT_DEFAULT_S = 30.0
RATE_LIMIT_CAP_S = 600.0
MAX_RATE_LIMIT_WAITS = 10


def backoff_seconds(attempt: int, *, rng: random.Random | None = None) -> float:
    """Capped exponential backoff with ±50% jitter: about 2, 4, 8 … seconds, at most 300."""
    base = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2 ** max(0, attempt - 1))
    return min(BACKOFF_CAP_S, base * (0.5 + (rng or random).random()))


@dataclass(frozen=True)
class RetryDecision:
    """`retry_in` seconds until the job runs again (None: it fails for good); `free` when the
    wait costs no attempt (a provider's rate limit)."""

    retry_in: float | None
    free: bool = False


RETRIED_CLASSES = ("temporary", "unknown", "rate_limit")


def decide(
    error_class: str,
    *,
    attempts: int,
    max_attempts: int,
    rate_limit_waits: int,
    retry_after_s: float | None = None,
) -> RetryDecision:
    """Rate limits wait for the provider's Retry-After (bounded, at most MAX_RATE_LIMIT_WAITS
    times) without spending an attempt; temporary and unknown errors retry with backoff while
    attempts remain; everything else (permanent, auth, refusals) fails at once."""
    if error_class == "rate_limit" and rate_limit_waits < MAX_RATE_LIMIT_WAITS:
        return RetryDecision(
            min(RATE_LIMIT_CAP_S, retry_after_s or RATE_LIMIT_DEFAULT_S), free=True
        )
    if error_class in RETRIED_CLASSES and attempts < max_attempts:
        return RetryDecision(backoff_seconds(attempts))
    return RetryDecision(None)
