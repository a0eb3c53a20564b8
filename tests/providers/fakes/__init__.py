"""Fake provider servers on 127.0.0.1, as strict as the real services.

The real `openai` and `google-genai` SDKs are pointed at these, so the tests exercise the SDKs'
own request building, response parsing and exceptions, and every request the adapters send is
checked against the providers' published definitions (vendored schemas in
tests/providers/schemas/, and the documented rules each fake's docstring lists).
"""

from tests.providers.fakes.google_fake import GoogleFake
from tests.providers.fakes.google_wire import (
    gemini_parts,
    gemini_response,
    google_error,
    key_invalid,
    keys_not_supported,
    write_adc_file,
)
from tests.providers.fakes.openai_fake import (
    OpenAIFake,
    insufficient_quota,
    moderation_blocked,
    openai_error,
)
from tests.providers.fakes.openai_fake import rate_limited as openai_rate_limited
from tests.providers.fakes.openrouter_fake import (
    OpenRouterFake,
    chat_completion,
    content_policy_violation,
    guardrail_blocked,
    in_band_error,
    moderation_flagged,
    openrouter_error,
    out_of_credits,
)
from tests.providers.fakes.openrouter_fake import rate_limited as openrouter_rate_limited
from tests.providers.fakes.server import (
    FAKE_MP4,
    FAKE_PNG,
    FakeServer,
    Part,
    Recorded,
    Reply,
    b64,
    decode_b64_any,
    parse_multipart,
    png,
)

__all__ = [
    "FAKE_MP4", "FAKE_PNG", "FakeServer", "GoogleFake", "OpenAIFake", "OpenRouterFake", "Part",
    "Recorded", "Reply", "b64", "chat_completion", "content_policy_violation", "decode_b64_any",
    "gemini_parts", "gemini_response", "google_error", "guardrail_blocked", "in_band_error",
    "insufficient_quota", "key_invalid", "keys_not_supported", "moderation_blocked",
    "moderation_flagged", "openai_error", "openai_rate_limited", "openrouter_error",
    "openrouter_rate_limited", "out_of_credits", "parse_multipart", "png", "write_adc_file",
]  # fmt: skip
