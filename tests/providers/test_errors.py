"""Every documented error answer of every provider, produced by the fakes and read by the real
SDKs, mapped to our error class and the message the user sees (one table per provider)."""

from __future__ import annotations

import email.utils
import socket
import time

import pytest

from studio.jobs.retry import decide
from studio.providers.base import ErrorClass, ImageRequest, ProviderError, VideoRequest
from studio.providers.errors import map_exception, parse_retry_after
from studio.providers.google import GoogleProvider, VertexAccess
from studio.providers.openai_images import OpenAIImagesProvider
from studio.providers.openrouter import OpenRouterProvider
from tests.providers.conftest import google_adapter
from tests.providers.fakes import (
    GoogleFake,
    OpenAIFake,
    OpenRouterFake,
    Reply,
    chat_completion,
    content_policy_violation,
    gemini_response,
    google_error,
    guardrail_blocked,
    in_band_error,
    insufficient_quota,
    key_invalid,
    keys_not_supported,
    moderation_blocked,
    moderation_flagged,
    openai_error,
    openai_rate_limited,
    openrouter_error,
    openrouter_rate_limited,
    out_of_credits,
)

T2I = ImageRequest("text_to_image", "a quiet harbour")
PERM, AUTH, TEMP, RATE = (
    ErrorClass.PERMANENT,
    ErrorClass.AUTH,
    ErrorClass.TEMPORARY,
    ErrorClass.RATE_LIMIT,
)
SAFETY, CREDITS = ErrorClass.SAFETY, ErrorClass.OUT_OF_CREDITS
REFUSED = "The provider refused this prompt for safety reasons: "
QUOTA = (
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors."
)
ADD_CREDITS = " Add credits or raise the quota with the provider, then requeue the job."


def check(
    exc: ProviderError, error_class: ErrorClass, message: str, retry_after: float | None
) -> None:
    assert exc.error_class is error_class
    assert exc.message == message  # exactly what the user is shown
    assert exc.safety is (error_class is SAFETY)
    assert exc.retry_after_s == (pytest.approx(retry_after) if retry_after is not None else None)
    permanent = decide(exc.error_class.value, attempts=1, max_attempts=3, rate_limit_waits=0)
    assert (permanent.retry_in is None) is (error_class in (PERM, AUTH, SAFETY, CREDITS))


# (reply, class, the message the user sees, retry-after seconds)
OPENAI_CASES = {
    "moderation_blocked": (
        moderation_blocked(),
        SAFETY,
        REFUSED + "Your request was rejected as a result of our safety system. Your request may "
        "contain content that is not allowed by our safety system.",
        None,
    ),
    "invalid_value": (
        openai_error(400, "Invalid size '7x7'.", "invalid_value"),
        PERM,
        "Invalid size '7x7'.",
        None,
    ),
    "invalid_api_key": (
        openai_error(401, "Incorrect API key provided.", "invalid_api_key"),
        AUTH,
        "OpenAI refused the credentials: Incorrect API key provided.",
        None,
    ),
    "forbidden": (
        openai_error(403, "Organization must be verified.", None),
        AUTH,
        "OpenAI refused the credentials: Organization must be verified.",
        None,
    ),
    "model_not_found": (
        openai_error(404, "The model does not exist.", "model_not_found"),
        PERM,
        "The model does not exist.",
        None,
    ),
    "conflict": (
        openai_error(409, "Lock timeout, try again.", None),
        TEMP,
        "Lock timeout, try again.",
        None,
    ),
    "unprocessable": (
        openai_error(422, "Unprocessable image.", None),
        PERM,
        "Unprocessable image.",
        None,
    ),
    "rate_limit_exceeded": (
        openai_rate_limited("7"),
        RATE,
        "Rate limited by OpenAI: Rate limit reached for images per minute (IPM): Limit 5, Used 5, "
        "Requested 1. Please try again in 7s.",
        7.0,
    ),
    "rate_limit_ms": (
        openai_error(
            429, "Slow down.", "rate_limit_exceeded", "requests", headers={"retry-after-ms": "1500"}
        ),
        RATE,
        "Rate limited by OpenAI: Slow down.",
        1.5,
    ),
    "insufficient_quota": (
        insufficient_quota(),
        CREDITS,
        f"Out of credits at OpenAI: {QUOTA}{ADD_CREDITS}",
        None,
    ),
    "server_error": (
        openai_error(500, "The server had an error.", None, "server_error"),
        TEMP,
        "The server had an error.",
        None,
    ),
    "overloaded": (
        openai_error(503, "Overloaded.", None, "server_error"),
        TEMP,
        "Overloaded.",
        None,
    ),
}


@pytest.mark.parametrize(
    ("reply", "error_class", "message", "retry_after"), OPENAI_CASES.values(), ids=OPENAI_CASES
)
def test_openai_errors(
    reply: Reply, error_class: ErrorClass, message: str, retry_after: float | None,
    openai_provider: OpenAIImagesProvider, openai_fake: OpenAIFake,
) -> None:  # fmt: skip
    openai_fake.enqueue(reply)
    with pytest.raises(ProviderError) as info:
        openai_provider.generate_image("gpt-image-1.5", T2I)
    check(info.value, error_class, message, retry_after)
    assert info.value.provider == "openai"
    assert len(openai_fake.requests) == 1  # max_retries=0: the SDK did not retry


OPENROUTER_CASES = {
    "bad_request": (openrouter_error(400, "Invalid request."), PERM, "Invalid request.", None),
    "content_policy_violation": (
        content_policy_violation(),
        SAFETY,
        REFUSED + "The prompt violates the provider's policy.",
        None,
    ),
    "no_auth": (
        openrouter_error(401, "User not found."),
        AUTH,
        "OpenRouter refused the credentials: User not found.",
        None,
    ),
    "out_of_credits": (
        out_of_credits(),
        CREDITS,
        "Out of credits at OpenRouter: Insufficient credits. Add more using https://openrouter.ai/credits"
        + ADD_CREDITS,
        None,
    ),
    "moderation_flagged": (
        moderation_flagged(),
        SAFETY,
        REFUSED + "Input was flagged by moderation.",
        None,
    ),
    "guardrail_403": (
        guardrail_blocked(),
        SAFETY,
        REFUSED + "Request blocked by a guardrail on this API key.",
        None,
    ),
    "timeout_408": (openrouter_error(408, "Request timed out."), TEMP, "Request timed out.", None),
    "rate_limited": (
        openrouter_rate_limited("3"),
        RATE,
        "Rate limited by OpenRouter: Rate limit exceeded: free-models-per-min.",
        3.0,
    ),
    "bad_gateway": (
        openrouter_error(502, "Provider returned error."),
        TEMP,
        "Provider returned error.",
        None,
    ),
    "unavailable": (
        openrouter_error(503, "No provider available."),
        TEMP,
        "No provider available.",
        None,
    ),
    "upstream_raw": (
        openrouter_error(
            400,
            "Provider returned error",
            {"raw": "Invalid aspect ratio", "provider_name": "Google"},
        ),
        PERM,
        "Provider returned error (Invalid aspect ratio)",
        None,
    ),
    "in_band_502": (
        in_band_error(502, "Upstream error from Google: overloaded"),
        TEMP,
        "The upstream provider failed: Upstream error from Google: overloaded",
        None,
    ),
    "in_band_429": (
        in_band_error(429, "Upstream rate limit"),
        RATE,
        "Rate limited by OpenRouter: The upstream provider failed: Upstream rate limit",
        None,
    ),
    "error_without_choices": (
        Reply(200, {"error": {"code": 502, "message": "Upstream provider failed mid-request."}}),
        TEMP,
        "The upstream provider failed: Upstream provider failed mid-request.",
        None,
    ),
}


@pytest.mark.parametrize(
    ("reply", "error_class", "message", "retry_after"),
    OPENROUTER_CASES.values(),
    ids=OPENROUTER_CASES,
)
def test_openrouter_errors(
    reply: Reply, error_class: ErrorClass, message: str, retry_after: float | None,
    openrouter_provider: OpenRouterProvider, openrouter_fake: OpenRouterFake,
) -> None:  # fmt: skip
    openrouter_fake.enqueue(reply)
    with pytest.raises(ProviderError) as info:
        openrouter_provider.generate_image("google/gemini-2.5-flash-image", T2I)
    check(info.value, error_class, message, retry_after)


RETRY_INFO = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"}]
GEMINI_HINT = (
    " The Gemini image models need a Gemini API key from Google AI Studio in GOOGLE_API_KEY "
    "(a Vertex AI key is refused by the Gemini API)."
)
VERTEX_HINT = (
    " Imagen and Veo need Vertex AI: set GOOGLE_CLOUD_PROJECT and GOOGLE_CLOUD_LOCATION with "
    "application default credentials, or a Vertex express-mode key in GOOGLE_VERTEX_API_KEY "
    "(a Gemini API key is refused by Vertex AI)."
)
GOOGLE_CASES = {
    "invalid_argument": (
        google_error(400, "Request contains an invalid argument."),
        PERM,
        "Request contains an invalid argument.",
        None,
    ),
    "usage_guidelines": (
        google_error(
            400, "The prompt could not be submitted: it violates Vertex AI's usage guidelines."
        ),
        SAFETY,
        REFUSED + "The prompt could not be submitted: it violates Vertex AI's usage guidelines.",
        None,
    ),
    "api_key_invalid": (
        key_invalid(),
        AUTH,
        "Google refused the credentials: API key not valid. Please pass a valid API key.{hint}",
        None,
    ),
    "keys_not_supported": (
        keys_not_supported(),
        AUTH,
        "Google refused the credentials: API keys are not supported by this API. Expected OAuth2 access "
        "token or other authentication credentials that assert a principal. See "
        "https://cloud.google.com/docs/authentication{hint}",
        None,
    ),
    "unauthenticated": (
        google_error(401, "Request had invalid authentication credentials."),
        AUTH,
        "Google refused the credentials: Request had invalid authentication credentials.{hint}",
        None,
    ),
    "permission_denied": (
        google_error(403, "Permission denied on resource."),
        AUTH,
        "Google refused the credentials: Permission denied on resource.{hint}",
        None,
    ),
    "not_found": (
        google_error(404, "models/x is not found."),
        PERM,
        "models/x is not found.",
        None,
    ),
    "exhausted_retry_after": (
        google_error(429, "Resource has been exhausted.", headers={"retry-after": "7"}),
        RATE,
        "Rate limited by Google: Resource has been exhausted.",
        7.0,
    ),
    "exhausted_retry_info": (
        google_error(429, "Quota exceeded.", RETRY_INFO),
        RATE,
        "Rate limited by Google: Quota exceeded.",
        12.0,
    ),
    "internal": (
        google_error(500, "Internal error encountered."),
        TEMP,
        "Internal error encountered.",
        None,
    ),
    "unavailable": (
        google_error(503, "The model is overloaded."),
        TEMP,
        "The model is overloaded.",
        None,
    ),
}


@pytest.mark.parametrize(
    ("reply", "error_class", "message", "retry_after"), GOOGLE_CASES.values(), ids=GOOGLE_CASES
)
@pytest.mark.parametrize("model", ["gemini-2.5-flash-image", "imagen-4.0-generate-001"])
def test_google_errors(
    reply: Reply, error_class: ErrorClass, message: str, retry_after: float | None, model: str,
    google_provider: GoogleProvider, google_fake: GoogleFake,
) -> None:  # fmt: skip
    google_fake.enqueue(reply)
    with pytest.raises(ProviderError) as info:
        google_provider.generate_image(model, T2I)
    hint = VERTEX_HINT if model.startswith("imagen") else GEMINI_HINT
    check(info.value, error_class, message.format(hint=hint), retry_after)


def test_google_video_start_errors_are_mapped(
    google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    google_fake.enqueue(google_error(429, "Too many videos.", headers={"retry-after": "30"}))
    with pytest.raises(ProviderError) as info:
        google_provider.start_video("veo-3.1-generate-preview", VideoRequest("x"))
    check(info.value, RATE, "Rate limited by Google: Too many videos.", 30.0)


def test_refusals_inside_http_200(
    google_provider: GoogleProvider, google_fake: GoogleFake,
    openrouter_provider: OpenRouterProvider, openrouter_fake: OpenRouterFake,
) -> None:  # fmt: skip
    google_fake.enqueue(Reply(200, gemini_response(text=None, finish_reason="IMAGE_SAFETY")))
    with pytest.raises(ProviderError) as info:
        google_provider.generate_image("gemini-2.5-flash-image", T2I)
    check(info.value, SAFETY, REFUSED + "IMAGE_SAFETY", None)
    body = chat_completion(
        text=None, finish_reason="content_filter", native_finish_reason="IMAGE_SAFETY"
    )
    openrouter_fake.enqueue(Reply(200, body))
    with pytest.raises(ProviderError) as info:
        openrouter_provider.generate_image("google/gemini-2.5-flash-image", T2I)
    check(info.value, SAFETY, REFUSED + "IMAGE_SAFETY", None)


# --- no image -------------------------------------------------------------------------------


def test_no_image_openai(openai_provider: OpenAIImagesProvider, openai_fake: OpenAIFake) -> None:
    openai_fake.enqueue(Reply(200, {"created": 1, "data": []}))
    with pytest.raises(ProviderError) as info:
        openai_provider.generate_image("gpt-image-1.5", T2I)
    check(info.value, PERM, "The provider returned no image.", None)


def test_undecodable_images_are_clear_provider_errors(
    openai_provider: OpenAIImagesProvider, openai_fake: OpenAIFake,
    openrouter_provider: OpenRouterProvider, openrouter_fake: OpenRouterFake,
) -> None:  # fmt: skip
    openai_fake.enqueue(Reply(200, {"created": 1, "data": [{"b64_json": "not*base64"}]}))
    with pytest.raises(ProviderError) as info:
        openai_provider.generate_image("gpt-image-1.5", T2I)
    assert info.value.error_class is PERM
    assert info.value.message.startswith("The provider sent an image that could not be decoded")
    body = chat_completion()
    body["choices"][0]["message"]["images"] = [
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,@@@"}}
    ]
    openrouter_fake.enqueue(Reply(200, body))
    with pytest.raises(ProviderError) as info:
        openrouter_provider.generate_image("google/gemini-2.5-flash-image", T2I)
    assert info.value.message.startswith("The provider sent an image that could not be decoded")


def test_no_image_openrouter(
    openrouter_provider: OpenRouterProvider, openrouter_fake: OpenRouterFake
) -> None:
    openrouter_fake.enqueue(Reply(200, chat_completion(text=None)))
    with pytest.raises(ProviderError) as info:
        openrouter_provider.generate_image("google/gemini-2.5-flash-image", T2I)
    check(info.value, PERM, "The provider returned no image.", None)


def test_no_image_gemini_and_imagen(
    google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    google_fake.enqueue(Reply(200, {"candidates": []}))
    with pytest.raises(ProviderError) as info:
        google_provider.generate_image("gemini-2.5-flash-image", T2I)
    check(info.value, PERM, "The provider returned no image.", None)
    google_fake.enqueue(Reply(200, {"predictions": []}))
    with pytest.raises(ProviderError) as info:
        google_provider.generate_image("imagen-4.0-generate-001", T2I)
    check(info.value, PERM, "The provider returned no image.", None)


# --- timeouts and unreachable servers ---------------------------------------------------------


def test_timeout_openai(openai_fake: OpenAIFake) -> None:
    provider = OpenAIImagesProvider(
        "test", base_url=f"{openai_fake.url}/v1", timeout=0.2, max_retries=0
    )
    openai_fake.enqueue(Reply(200, {"created": 1, "data": []}, delay=1.0))
    with pytest.raises(ProviderError) as info:
        provider.generate_image("gpt-image-1.5", T2I)
    assert info.value.error_class is TEMP and "timed out" in info.value.message


def test_timeout_openrouter(openrouter_fake: OpenRouterFake) -> None:
    provider = OpenRouterProvider(
        "test", base_url=f"{openrouter_fake.url}/api/v1", timeout=0.2, max_retries=0
    )
    openrouter_fake.enqueue(Reply(200, chat_completion(), delay=1.0))
    with pytest.raises(ProviderError) as info:
        provider.generate_image("google/gemini-2.5-flash-image", T2I)
    assert info.value.error_class is TEMP and "timed out" in info.value.message


@pytest.mark.parametrize("model", ["gemini-2.5-flash-image", "imagen-4.0-generate-001"])
def test_timeout_google(model: str, google_fake: GoogleFake) -> None:
    provider = google_adapter(google_fake, timeout=0.2)
    google_fake.enqueue(Reply(200, gemini_response(), delay=1.0))
    with pytest.raises(ProviderError) as info:
        provider.generate_image(model, T2I)
    assert info.value.error_class is TEMP and "timed out" in info.value.message


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_servers_are_temporary() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    express = VertexAccess("express", api_key="k")
    providers = [
        (OpenAIImagesProvider("k", base_url=f"{url}/v1", max_retries=0), "gpt-image-1.5"),
        (
            OpenRouterProvider("k", base_url=f"{url}/api/v1", max_retries=0),
            "google/gemini-2.5-flash-image",
        ),
        (GoogleProvider("k", express, base_url=url, max_retries=0), "gemini-2.5-flash-image"),
        (GoogleProvider("k", express, base_url=url, max_retries=0), "imagen-4.0-generate-001"),
    ]
    for provider, model in providers:
        with pytest.raises(ProviderError) as info:
            provider.generate_image(model, T2I)
        assert info.value.error_class is TEMP, provider.name
        assert "Could not reach the provider" in info.value.message


# --- helpers --------------------------------------------------------------------------------


def test_retry_after_forms() -> None:
    assert parse_retry_after({"Retry-After": "2.5"}) == 2.5
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    when = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 50 < parse_retry_after({"retry-after": when}) <= 61  # type: ignore[operator]
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after(None) is None


def test_map_exception_passes_provider_errors_through_and_marks_others_unknown() -> None:
    original = ProviderError(RATE, "slow", retry_after_s=1.0)
    assert map_exception(original, "openai") is original
    other = map_exception(RuntimeError("odd"), "google")
    assert other.error_class is ErrorClass.UNKNOWN and other.message == "odd"
