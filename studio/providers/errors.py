"""Map SDK exceptions (openai, google-genai, httpx2) to ProviderError.

Classes: 400/404/422 permanent; 401/403 auth; 402 permanent (out of credits); 408/409/5xx,
connection errors and timeouts temporary; 429 rate_limit with Retry-After in `retry_after_s`.
Safety refusals are permanent with `safety=True`. The provider's own message is kept.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from typing import Any

import httpx2
import openai
from google.genai import errors as genai_errors

from studio.providers.base import NO_IMAGE, ErrorClass, ProviderError

SAFETY_PREFIX = "The provider refused this prompt for safety reasons"

# OpenAI error codes that mean "refused for safety".
OPENAI_SAFETY_CODES = frozenset({"moderation_blocked", "content_policy_violation"})
# Gemini finishReason / promptFeedback.blockReason values that mean "refused for safety".
GEMINI_SAFETY_REASONS = frozenset(
    {
        "IMAGE_SAFETY",
        "IMAGE_PROHIBITED_CONTENT",
        "NO_IMAGE",
        "SAFETY",
        "PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "JAILBREAK",
        "MODEL_ARMOR",
    }
)

# Every exception an adapter should translate (anything else is a bug and propagates).
SDK_ERRORS: tuple[type[BaseException], ...] = (
    openai.OpenAIError,
    genai_errors.APIError,
    httpx2.HTTPError,
)


def safety_error(detail: str | None, provider: str | None = None) -> ProviderError:
    """A permanent, safety-flagged refusal; `detail` is what the provider said."""
    message = f"{SAFETY_PREFIX}: {detail}" if detail else f"{SAFETY_PREFIX}."
    return ProviderError(ErrorClass.PERMANENT, message, safety=True, provider=provider)


def no_image_error(provider: str | None = None, said: str | None = None) -> ProviderError:
    """The call succeeded but carried no image (or video)."""
    message = f"{NO_IMAGE} It said: {said.strip()}" if said and said.strip() else NO_IMAGE
    return ProviderError(ErrorClass.PERMANENT, message, provider=provider)


def class_for_status(status: int) -> ErrorClass:
    """The queue's view of an HTTP status."""
    if status in (401, 403):
        return ErrorClass.AUTH
    if status == 429:
        return ErrorClass.RATE_LIMIT
    if status in (408, 409) or status >= 500:
        return ErrorClass.TEMPORARY
    if 400 <= status < 500:
        return ErrorClass.PERMANENT
    return ErrorClass.UNKNOWN


def parse_retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `retry-after` (seconds or an HTTP date)."""
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = lowered.get(name)
        if value is None:
            continue
        try:
            return max(float(value) / divisor, 0.0)
        except ValueError:
            if name == "retry-after":
                parsed = email.utils.parsedate_tz(value)
                if parsed is not None:
                    return max(email.utils.mktime_tz(parsed) - time.time(), 0.0)
    return None


def _google_retry_delay(details: Any) -> float | None:
    """`google.rpc.RetryInfo.retryDelay` ("7s") from a Google error body, if any."""
    error = details.get("error", details) if isinstance(details, Mapping) else None
    items = error.get("details") if isinstance(error, Mapping) else None
    for item in items if isinstance(items, list) else []:
        delay = item.get("retryDelay") if isinstance(item, Mapping) else None
        if isinstance(delay, str) and (m := re.fullmatch(r"\s*([\d.]+)s\s*", delay)):
            return float(m.group(1))
    return None


def _google_reasons(details: Any) -> set[str]:
    error = details.get("error", details) if isinstance(details, Mapping) else None
    items = error.get("details") if isinstance(error, Mapping) else None
    return {
        str(item.get("reason"))
        for item in (items if isinstance(items, list) else [])
        if isinstance(item, Mapping) and item.get("reason")
    }


def _with_status(status: int, message: str) -> str:
    if status == 402:
        return f"Out of credits: {message}"
    return message


def from_openai(exc: openai.OpenAIError, provider: str = "openai") -> ProviderError:
    """An `openai` SDK exception (also used for OpenRouter) as a ProviderError."""
    if isinstance(exc, openai.APITimeoutError):
        return ProviderError(
            ErrorClass.TEMPORARY, f"The provider timed out: {exc}", provider=provider
        )
    if isinstance(exc, openai.APIConnectionError):
        return ProviderError(
            ErrorClass.TEMPORARY, f"Could not reach the provider: {exc}", provider=provider
        )
    if isinstance(exc, openai.APIStatusError):
        body = exc.body if isinstance(exc.body, Mapping) else {}
        message = body.get("message") if isinstance(body.get("message"), str) else None
        message = message or str(exc)
        if exc.code in OPENAI_SAFETY_CODES or _openrouter_flagged(body):
            return safety_error(message, provider)
        status = exc.status_code
        error_class = class_for_status(status)
        retry_after = parse_retry_after(exc.response.headers) if status == 429 else None
        return ProviderError(
            error_class,
            _with_status(status, message),
            retry_after_s=retry_after,
            provider=provider,
        )
    return ProviderError(ErrorClass.UNKNOWN, str(exc) or type(exc).__name__, provider=provider)


def _openrouter_flagged(body: Mapping[str, Any]) -> bool:
    """OpenRouter's moderation refusal: 403 with metadata.reasons / flagged_input."""
    metadata = body.get("metadata")
    return isinstance(metadata, Mapping) and bool(
        metadata.get("flagged_input") or metadata.get("reasons")
    )


def from_google(exc: genai_errors.APIError, provider: str = "google") -> ProviderError:
    """A google-genai APIError (ClientError / ServerError) as a ProviderError."""
    status = int(exc.code or 0)
    message = exc.message or str(exc)
    error_class = class_for_status(status) if status else ErrorClass.UNKNOWN
    if "API_KEY_INVALID" in _google_reasons(exc.details):
        error_class = ErrorClass.AUTH
    retry_after = None
    if error_class is ErrorClass.RATE_LIMIT:
        headers = getattr(exc.response, "headers", None)
        retry_after = parse_retry_after(dict(headers) if headers is not None else None)
        if retry_after is None:
            retry_after = _google_retry_delay(exc.details)
    return ProviderError(
        error_class,
        _with_status(status, message),
        retry_after_s=retry_after,
        provider=provider,
    )


def from_transport(exc: httpx2.HTTPError, provider: str | None = None) -> ProviderError:
    """Connection failures and timeouts raised straight from httpx2 (google-genai does this)."""
    if isinstance(exc, httpx2.TimeoutException):
        message = f"The provider timed out: {exc or type(exc).__name__}"
    else:
        message = f"Could not reach the provider: {exc or type(exc).__name__}"
    return ProviderError(ErrorClass.TEMPORARY, message, provider=provider)


def map_exception(exc: BaseException, provider: str) -> ProviderError:
    """Any SDK exception as a ProviderError (a ProviderError passes through unchanged)."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, openai.OpenAIError):
        return from_openai(exc, provider)
    if isinstance(exc, genai_errors.APIError):
        return from_google(exc, provider)
    if isinstance(exc, httpx2.HTTPError):
        return from_transport(exc, provider)
    return ProviderError(ErrorClass.UNKNOWN, str(exc) or type(exc).__name__, provider=provider)
