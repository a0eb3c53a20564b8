"""Map SDK exceptions (openai, google-genai, httpx2) to ProviderError, with the user's message.

Classes: 400/404/422 permanent; 401 (and Google's 403) auth; 402 and OpenAI's 429
`insufficient_quota` out of credits; 408/409/5xx, connection errors and timeouts temporary; 429
rate_limit with Retry-After in `retry_after_s`; refusals (OpenAI `moderation_blocked`,
OpenRouter `content_policy_violation` and its 403 moderation/guardrail blocks, Gemini/Imagen/Veo
safety reasons) safety. The provider's own words are kept in every message.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from typing import Any

import httpx2
import openai
import pydantic
from google.auth import exceptions as auth_exceptions
from google.genai import errors as genai_errors

from studio.providers.base import NO_IMAGE, ErrorClass, ProviderError

SAFETY_PREFIX = "The provider refused this prompt for safety reasons"
LABELS = {"openai": "OpenAI", "openrouter": "OpenRouter", "google": "Google"}

# OpenAI error codes that mean "refused for safety".
OPENAI_SAFETY_CODES = frozenset({"moderation_blocked", "content_policy_violation"})
# OpenRouter `error.metadata.error_type` values that mean "refused for safety".
OPENROUTER_SAFETY_TYPES = frozenset({"content_policy_violation", "refusal"})
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
# Google ErrorInfo reasons that mean "these credentials are not accepted here".
GOOGLE_AUTH_REASONS = frozenset(
    {
        "API_KEY_INVALID",
        "CREDENTIALS_MISSING",
        "ACCESS_TOKEN_TYPE_UNSUPPORTED",
        "API_KEY_SERVICE_BLOCKED",
    }
)

# Every exception an adapter should translate (anything else is a bug and propagates).
SDK_ERRORS: tuple[type[BaseException], ...] = (
    openai.OpenAIError,
    genai_errors.APIError,
    httpx2.HTTPError,
    auth_exceptions.GoogleAuthError,  # application default credentials missing or refused
    pydantic.ValidationError,  # google-genai could not read an answer (e.g. bad base64)
)


def _label(provider: str | None) -> str:
    return LABELS.get(provider or "", provider or "the provider")


def safety_error(detail: str | None, provider: str | None = None) -> ProviderError:
    """A refusal; `detail` is what the provider said."""
    message = f"{SAFETY_PREFIX}: {detail}" if detail else f"{SAFETY_PREFIX}."
    return ProviderError(ErrorClass.SAFETY, message, provider=provider)


def no_image_error(provider: str | None = None, said: str | None = None) -> ProviderError:
    """The call succeeded but carried no image (or video)."""
    message = f"{NO_IMAGE} It said: {said.strip()}" if said and said.strip() else NO_IMAGE
    return ProviderError(ErrorClass.PERMANENT, message, provider=provider)


def out_of_credits(detail: str, provider: str | None = None) -> ProviderError:
    message = (
        f"Out of credits at {_label(provider)}: {detail} "
        "Add credits or raise the quota with the provider, then requeue the job."
    )
    return ProviderError(ErrorClass.OUT_OF_CREDITS, message, provider=provider)


def auth_error(detail: str, provider: str | None = None, hint: str = "") -> ProviderError:
    message = f"{_label(provider)} refused the credentials: {detail}" + (f" {hint}" if hint else "")
    return ProviderError(ErrorClass.AUTH, message, provider=provider)


def class_for_status(status: int) -> ErrorClass:
    """The queue's view of an HTTP status."""
    if status in (401, 403):
        return ErrorClass.AUTH
    if status == 402:
        return ErrorClass.OUT_OF_CREDITS
    if status == 429:
        return ErrorClass.RATE_LIMIT
    if status in (408, 409) or status >= 500:
        return ErrorClass.TEMPORARY
    if 400 <= status < 500:
        return ErrorClass.PERMANENT
    return ErrorClass.UNKNOWN


def error_for(
    error_class: ErrorClass, message: str, provider: str | None, retry_after: float | None = None
) -> ProviderError:
    """A ProviderError of `error_class` whose message says what it means for the user."""
    if error_class is ErrorClass.SAFETY:
        return safety_error(message, provider)
    if error_class is ErrorClass.OUT_OF_CREDITS:
        return out_of_credits(message, provider)
    if error_class is ErrorClass.AUTH:
        return auth_error(message, provider)
    if error_class is ErrorClass.RATE_LIMIT:
        message = f"Rate limited by {_label(provider)}: {message}"
    return ProviderError(error_class, message, retry_after_s=retry_after, provider=provider)


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


def _google_details(details: Any) -> list[Mapping[str, Any]]:
    error = details.get("error", details) if isinstance(details, Mapping) else None
    items = error.get("details") if isinstance(error, Mapping) else None
    return [i for i in (items if isinstance(items, list) else []) if isinstance(i, Mapping)]


def _google_retry_delay(details: Any) -> float | None:
    """`google.rpc.RetryInfo.retryDelay` ("7s") from a Google error body, if any."""
    for item in _google_details(details):
        delay = item.get("retryDelay")
        if isinstance(delay, str) and (m := re.fullmatch(r"\s*([\d.]+)s\s*", delay)):
            return float(m.group(1))
    return None


def _google_reasons(details: Any) -> set[str]:
    return {str(i.get("reason")) for i in _google_details(details) if i.get("reason")}


def openai_class(
    status: int, code: str | None, body: Mapping[str, Any], provider: str
) -> ErrorClass:
    """The class of an OpenAI or OpenRouter error answer."""
    metadata = body.get("metadata") if isinstance(body.get("metadata"), Mapping) else {}
    error_type = metadata.get("error_type") if isinstance(metadata, Mapping) else None
    if code in OPENAI_SAFETY_CODES or error_type in OPENROUTER_SAFETY_TYPES:
        return ErrorClass.SAFETY
    if code == "insufficient_quota" or body.get("type") == "insufficient_quota":
        return ErrorClass.OUT_OF_CREDITS
    if provider == "openrouter" and status == 403 and error_type != "authentication":
        # OpenRouter answers 403 when moderation flagged the input or a guardrail blocked it;
        # bad keys are 401 there.
        return ErrorClass.SAFETY
    return class_for_status(status)


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
        raw = (
            (body.get("metadata") or {}).get("raw")
            if isinstance(body.get("metadata"), Mapping)
            else None
        )
        if isinstance(raw, str) and raw and raw not in message:
            message = f"{message} ({raw})"
        error_class = openai_class(exc.status_code, exc.code, body, provider)
        retry_after = (
            parse_retry_after(exc.response.headers)
            if error_class is ErrorClass.RATE_LIMIT
            else None
        )
        return error_for(error_class, message, provider, retry_after)
    return ProviderError(ErrorClass.UNKNOWN, str(exc) or type(exc).__name__, provider=provider)


def from_google(
    exc: genai_errors.APIError, provider: str = "google", auth_hint: str = ""
) -> ProviderError:
    """A google-genai APIError (ClientError / ServerError) as a ProviderError."""
    status = int(exc.code or 0)
    message = exc.message or str(exc)
    error_class = class_for_status(status) if status else ErrorClass.UNKNOWN
    if _google_reasons(exc.details) & GOOGLE_AUTH_REASONS or status in (401, 403):
        return auth_error(message, provider, auth_hint)
    if error_class is ErrorClass.PERMANENT and "usage guidelines" in message.lower():
        return safety_error(message, provider)
    retry_after = None
    if error_class is ErrorClass.RATE_LIMIT:
        headers = getattr(exc.response, "headers", None)
        retry_after = parse_retry_after(dict(headers) if headers is not None else None)
        if retry_after is None:
            retry_after = _google_retry_delay(exc.details)
    return error_for(error_class, message, provider, retry_after)


def from_transport(exc: httpx2.HTTPError, provider: str | None = None) -> ProviderError:
    """Connection failures and timeouts raised straight from httpx2 (google-genai does this)."""
    if isinstance(exc, httpx2.TimeoutException):
        message = f"The provider timed out: {exc or type(exc).__name__}"
    else:
        message = f"Could not reach the provider: {exc or type(exc).__name__}"
    return ProviderError(ErrorClass.TEMPORARY, message, provider=provider)


def from_answer(exc: pydantic.ValidationError, provider: str | None = None) -> ProviderError:
    """google-genai could not read the provider's answer (an undecodable image, say). A bug of
    ours (a request the SDK's own types refuse) is not an answer and propagates."""
    if not str(exc.title).endswith(("Response", "Operation")):
        raise exc
    details = exc.errors()
    where = ".".join(str(p) for p in details[0]["loc"]) if details else ""
    what = details[0]["msg"] if details else str(exc)
    message = f"The provider sent an answer that could not be read ({where}: {what})."
    return ProviderError(ErrorClass.PERMANENT, message, provider=provider)


def map_exception(exc: BaseException, provider: str, auth_hint: str = "") -> ProviderError:
    """Any SDK exception as a ProviderError (a ProviderError passes through unchanged)."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, pydantic.ValidationError):
        return from_answer(exc, provider)
    if isinstance(exc, auth_exceptions.TransportError):
        return from_transport(httpx2.ConnectError(str(exc)), provider)
    if isinstance(exc, auth_exceptions.GoogleAuthError):
        return auth_error(f"Google Cloud credentials: {exc}", provider, auth_hint)
    if isinstance(exc, openai.OpenAIError):
        return from_openai(exc, provider)
    if isinstance(exc, genai_errors.APIError):
        return from_google(exc, provider, auth_hint)
    if isinstance(exc, httpx2.HTTPError):
        return from_transport(exc, provider)
    return ProviderError(ErrorClass.UNKNOWN, str(exc) or type(exc).__name__, provider=provider)
