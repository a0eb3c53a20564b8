"""Every error class, produced by the real SDKs from the fakes' wire errors, then mapped."""

from __future__ import annotations

import email.utils
import socket
import time

import pytest

from studio.providers.base import ErrorClass, ImageRequest, ProviderError, VideoRequest
from studio.providers.errors import map_exception, parse_retry_after
from studio.providers.google import GoogleProvider
from studio.providers.openai_images import OpenAIImagesProvider
from studio.providers.openrouter import OpenRouterProvider
from tests.providers.fakes import (
    GoogleFake,
    OpenAIFake,
    OpenRouterFake,
    Reply,
    chat_completion,
    gemini_response,
    google_error,
    openai_error,
    openrouter_error,
)

T2I = ImageRequest("text_to_image", "a quiet harbour")
SAFETY = "The provider refused this prompt for safety reasons: "
PERM, AUTH, TEMP, RATE = (
    ErrorClass.PERMANENT,
    ErrorClass.AUTH,
    ErrorClass.TEMPORARY,
    ErrorClass.RATE_LIMIT,
)


def assert_error(
    exc: ProviderError,
    error_class: ErrorClass,
    text: str,
    *,
    safety: bool = False,
    retry_after: float | None = None,
) -> None:
    assert exc.error_class is error_class
    assert text in exc.message  # the provider's own words are kept
    assert exc.safety is safety
    if retry_after is None:
        assert exc.retry_after_s is None
    else:
        assert exc.retry_after_s == pytest.approx(retry_after)


OPENAI_CASES = [
    (openai_error(400, "Rejected by the safety system.", "moderation_blocked"), PERM, True, None),
    (openai_error(400, "Invalid size '7x7'.", "invalid_value"), PERM, False, None),
    (openai_error(401, "Incorrect API key provided.", "invalid_api_key"), AUTH, False, None),
    (openai_error(403, "Organization must be verified.", None), AUTH, False, None),
    (openai_error(404, "The model does not exist.", "model_not_found"), PERM, False, None),
    (openai_error(409, "Lock timeout, try again.", None), TEMP, False, None),
    (openai_error(422, "Unprocessable image.", None), PERM, False, None),
    (
        openai_error(
            429, "Rate limit reached.", "rate_limit_exceeded", headers={"retry-after": "7"}
        ),
        RATE,
        False,
        7.0,
    ),
    (openai_error(429, "Slow down.", None, headers={"retry-after-ms": "1500"}), RATE, False, 1.5),
    (openai_error(500, "The server had an error.", None, "server_error"), TEMP, False, None),
    (openai_error(503, "Overloaded.", None, "server_error"), TEMP, False, None),
]


@pytest.mark.parametrize(("reply", "error_class", "safety", "retry_after"), OPENAI_CASES)
def test_openai_status_errors(
    reply: Reply,
    error_class: ErrorClass,
    safety: bool,
    retry_after: float | None,
    openai_provider: OpenAIImagesProvider,
    openai_fake: OpenAIFake,
) -> None:
    openai_fake.enqueue(reply)
    with pytest.raises(ProviderError) as info:
        openai_provider.generate_image("gpt-image-1.5", T2I)
    message = reply.body["error"]["message"]
    assert_error(info.value, error_class, message, safety=safety, retry_after=retry_after)
    if safety:
        assert info.value.message == SAFETY + message
    assert info.value.provider == "openai"
    assert len(openai_fake.requests) == 1  # max_retries=0: the SDK did not retry


OPENROUTER_CASES = [
    (
        openrouter_error(402, "Insufficient credits. Add more using https://openrouter.ai/credits"),
        PERM,
        False,
        None,
    ),
    (openrouter_error(401, "User not found."), AUTH, False, None),
    (
        openrouter_error(
            403, "Input was flagged.", {"reasons": ["violence"], "flagged_input": "x"}
        ),
        PERM,
        True,
        None,
    ),
    (
        openrouter_error(
            429, "Rate limit exceeded: free-models-per-min.", headers={"retry-after": "3"}
        ),
        RATE,
        False,
        3.0,
    ),
    (openrouter_error(502, "Provider returned error."), TEMP, False, None),
]


@pytest.mark.parametrize(("reply", "error_class", "safety", "retry_after"), OPENROUTER_CASES)
def test_openrouter_status_errors(
    reply: Reply,
    error_class: ErrorClass,
    safety: bool,
    retry_after: float | None,
    openrouter_provider: OpenRouterProvider,
    openrouter_fake: OpenRouterFake,
) -> None:
    openrouter_fake.enqueue(reply)
    with pytest.raises(ProviderError) as info:
        openrouter_provider.generate_image("google/gemini-2.5-flash-image", T2I)
    message = reply.body["error"]["message"]
    assert_error(info.value, error_class, message, safety=safety, retry_after=retry_after)
    if reply.status == 402:
        assert info.value.message.startswith("Out of credits: ")


RETRY_INFO = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"}]
KEY_INVALID = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}]
GOOGLE_CASES = [
    (google_error(400, "Request contains an invalid argument."), PERM, None),
    (google_error(400, "API key not valid. Please pass a valid API key.", KEY_INVALID), AUTH, None),
    (google_error(401, "Request had invalid authentication credentials."), AUTH, None),
    (google_error(403, "Permission denied on resource."), AUTH, None),
    (google_error(404, "models/x is not found."), PERM, None),
    (google_error(429, "Resource has been exhausted.", headers={"retry-after": "7"}), RATE, 7.0),
    (google_error(429, "Quota exceeded.", RETRY_INFO), RATE, 12.0),
    (google_error(500, "Internal error encountered."), TEMP, None),
    (google_error(503, "The model is overloaded."), TEMP, None),
]


@pytest.mark.parametrize(("reply", "error_class", "retry_after"), GOOGLE_CASES)
@pytest.mark.parametrize("model", ["gemini-2.5-flash-image", "imagen-4.0-generate-001"])
def test_google_status_errors(
    reply: Reply,
    error_class: ErrorClass,
    retry_after: float | None,
    model: str,
    google_provider: GoogleProvider,
    google_fake: GoogleFake,
) -> None:
    google_fake.enqueue(reply)
    with pytest.raises(ProviderError) as info:
        google_provider.generate_image(model, T2I)
    assert_error(info.value, error_class, reply.body["error"]["message"], retry_after=retry_after)


def test_google_video_start_errors_are_mapped(
    google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    google_fake.enqueue(google_error(429, "Too many videos.", headers={"retry-after": "30"}))
    with pytest.raises(ProviderError) as info:
        google_provider.generate_video("veo-3.1-generate-preview", VideoRequest("x"))
    assert_error(info.value, RATE, "Too many videos.", retry_after=30.0)


def test_gemini_image_safety_with_http_200(
    google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    google_fake.enqueue(Reply(200, gemini_response(text=None, finish_reason="IMAGE_SAFETY")))
    with pytest.raises(ProviderError) as info:
        google_provider.generate_image("gemini-2.5-flash-image", T2I)
    assert_error(info.value, PERM, "IMAGE_SAFETY", safety=True)
    assert info.value.message.startswith(SAFETY)


# --- no image -------------------------------------------------------------------------------


def test_no_image_openai(openai_provider: OpenAIImagesProvider, openai_fake: OpenAIFake) -> None:
    openai_fake.enqueue(Reply(200, {"created": 1, "data": []}))
    with pytest.raises(ProviderError) as info:
        openai_provider.generate_image("gpt-image-1.5", T2I)
    assert_error(info.value, PERM, "The provider returned no image.")


def test_no_image_openrouter(
    openrouter_provider: OpenRouterProvider, openrouter_fake: OpenRouterFake
) -> None:
    openrouter_fake.enqueue(Reply(200, chat_completion(text=None)))
    with pytest.raises(ProviderError) as info:
        openrouter_provider.generate_image("google/gemini-2.5-flash-image", T2I)
    assert info.value.message == "The provider returned no image."
    assert info.value.error_class is PERM


def test_no_image_gemini(google_provider: GoogleProvider, google_fake: GoogleFake) -> None:
    google_fake.enqueue(Reply(200, {"candidates": []}))
    with pytest.raises(ProviderError) as info:
        google_provider.generate_image("gemini-2.5-flash-image", T2I)
    assert info.value.message == "The provider returned no image."


def test_no_image_imagen(google_provider: GoogleProvider, google_fake: GoogleFake) -> None:
    google_fake.enqueue(Reply(200, {"predictions": []}))
    with pytest.raises(ProviderError) as info:
        google_provider.generate_image("imagen-4.0-generate-001", T2I)
    assert_error(info.value, PERM, "The provider returned no image.")


# --- timeouts and unreachable servers ---------------------------------------------------------


def test_timeout_openai(openai_fake: OpenAIFake) -> None:
    provider = OpenAIImagesProvider(
        "test", base_url=f"{openai_fake.url}/v1", timeout=0.2, max_retries=0
    )
    openai_fake.enqueue(Reply(200, {"created": 1, "data": []}, delay=1.0))
    with pytest.raises(ProviderError) as info:
        provider.generate_image("gpt-image-1.5", T2I)
    assert_error(info.value, TEMP, "timed out")


def test_timeout_openrouter(openrouter_fake: OpenRouterFake) -> None:
    provider = OpenRouterProvider(
        "test", base_url=f"{openrouter_fake.url}/api/v1", timeout=0.2, max_retries=0
    )
    openrouter_fake.enqueue(Reply(200, chat_completion(), delay=1.0))
    with pytest.raises(ProviderError) as info:
        provider.generate_image("google/gemini-2.5-flash-image", T2I)
    assert_error(info.value, TEMP, "timed out")


@pytest.mark.parametrize("model", ["gemini-2.5-flash-image", "imagen-4.0-generate-001"])
def test_timeout_google(model: str, google_fake: GoogleFake) -> None:
    provider = GoogleProvider("test", base_url=google_fake.url, timeout=0.2, max_retries=0)
    google_fake.enqueue(Reply(200, gemini_response(), delay=1.0))
    with pytest.raises(ProviderError) as info:
        provider.generate_image(model, T2I)
    assert_error(info.value, TEMP, "timed out")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_servers_are_temporary() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    providers = [
        (OpenAIImagesProvider("k", base_url=f"{url}/v1", max_retries=0), "gpt-image-1.5"),
        (
            OpenRouterProvider("k", base_url=f"{url}/api/v1", max_retries=0),
            "google/gemini-2.5-flash-image",
        ),
        (GoogleProvider("k", base_url=url, max_retries=0), "gemini-2.5-flash-image"),
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


def test_openrouter_error_inside_http_200(
    openrouter_provider: OpenRouterProvider, openrouter_fake: OpenRouterFake
) -> None:
    body = {"error": {"code": 502, "message": "Upstream provider failed mid-request."}}
    openrouter_fake.enqueue(Reply(200, body))
    with pytest.raises(ProviderError) as info:
        openrouter_provider.generate_image("google/gemini-2.5-flash-image", T2I)
    assert_error(info.value, TEMP, "Upstream provider failed mid-request.")
