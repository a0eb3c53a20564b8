"""Google adapter through the real `google-genai` SDK against the fake Gemini/Vertex API."""

from __future__ import annotations

import base64

import pytest

from studio.providers.base import ErrorClass, ImageRequest, ProviderError, Turn, VideoRequest
from studio.providers.google import GoogleProvider
from tests.providers.fakes import (
    FAKE_MP4,
    FAKE_PNG,
    GoogleFake,
    Reply,
    decode_b64_any,
    gemini_parts,
    gemini_response,
    png,
)

GEMINI = "gemini-2.5-flash-image"


def source_image() -> bytes:
    """A PNG whose base64 differs between the standard and URL-safe alphabets."""
    data = png((20, 20), (251, 255, 254))
    encoded = base64.b64encode(data).decode()
    assert "+" in encoded or "/" in encoded
    return data


def test_models_cover_gemini_imagen_and_veo(google_provider: GoogleProvider) -> None:
    by_id = {m.id: m for m in google_provider.models()}
    assert {"gemini-2.5-flash-image", "gemini-3.1-flash-image-preview"} <= by_id.keys()
    assert by_id["imagen-4.0-fast-generate-001"].modes == ("text_to_image",)
    assert by_id["veo-3.1-generate-preview"].kind == "video"
    assert all(m.price_note for m in by_id.values())


def test_gemini_text_to_image(google_provider: GoogleProvider, google_fake: GoogleFake) -> None:
    request = ImageRequest("text_to_image", "a koi pond", width=1920, height=1080, seed=7)
    result = google_provider.generate_image(GEMINI, request)

    req = google_fake.last()
    assert (req.method, req.path) == (
        "POST",
        "/v1beta/models/gemini-2.5-flash-image:generateContent",
    )
    assert req.headers["x-goog-api-key"] == "test"
    config = req.json["generationConfig"]
    assert config["responseModalities"] == ["TEXT", "IMAGE"]
    assert config["imageConfig"] == {"aspectRatio": "16:9"}
    assert config["seed"] == 7
    assert gemini_parts(req.json) == [{"role": "user", "text": "a koi pond"}]

    assert result.images == [FAKE_PNG]
    assert result.text == "A picture."
    assert result.usage["candidates_token_count"] == 1290
    assert result.cost_actual == pytest.approx(1290 * 30 / 1e6)
    assert result.provider_request_id == "resp-fake-1"


@pytest.mark.parametrize("mode", ["image_to_image", "inpaint"])
def test_gemini_edit_sends_inline_image_part(
    mode: str, google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    source = source_image()
    request = ImageRequest(mode, "add snow", source=source, mask=png((20, 20), (255, 255, 255)))  # type: ignore[arg-type]
    result = google_provider.generate_image("gemini-3.1-flash-image-preview", request)

    req = google_fake.last()
    assert req.path == "/v1beta/models/gemini-3.1-flash-image-preview:generateContent"
    raw = req.json["contents"][0]["parts"][1]
    inline = raw.get("inlineData", raw.get("inline_data"))
    assert "+" not in inline["data"] and "/" not in inline["data"]  # URL-safe on the wire
    assert gemini_parts(req.json) == [
        {"role": "user", "text": "add snow"},
        {"role": "user", "mime_type": "image/png", "data": source},
    ]
    assert result.images == [FAKE_PNG]


def test_gemini_replays_context_as_user_and_model_turns(
    google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    thumb = png((4, 4), (1, 1, 1))
    context = [Turn("user", "first verse"), Turn("assistant", "A boat.", thumb)]
    google_provider.generate_image(GEMINI, ImageRequest("text_to_image", "second", context=context))
    assert gemini_parts(google_fake.last().json) == [
        {"role": "user", "text": "first verse"},
        {"role": "model", "text": "A boat."},
        {"role": "model", "mime_type": "image/png", "data": thumb},
        {"role": "user", "text": "second"},
    ]


def test_fake_accepts_both_spellings_and_both_base64_alphabets() -> None:
    data = source_image()
    urlsafe = base64.urlsafe_b64encode(data).decode()
    standard = base64.b64encode(data).decode()
    body = {
        "contents": [
            {
                "parts": [
                    {"inlineData": {"data": urlsafe, "mime_type": "image/png"}},
                    {"inline_data": {"data": standard, "mimeType": "image/png"}},
                    {"inlineData": {"data": urlsafe.rstrip("="), "mimeType": "image/png"}},
                ]
            }
        ]
    }
    assert [p["data"] for p in gemini_parts(body)] == [data, data, data]
    assert decode_b64_any(urlsafe) == data


@pytest.mark.parametrize("reason", ["IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT", "NO_IMAGE"])
def test_gemini_safety_finish_with_http_200_is_a_refusal(
    reason: str, google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    google_fake.enqueue(Reply(200, gemini_response(text=None, finish_reason=reason)))
    with pytest.raises(ProviderError) as info:
        google_provider.generate_image(GEMINI, ImageRequest("text_to_image", "x"))
    assert info.value.error_class is ErrorClass.PERMANENT and info.value.safety
    assert info.value.message.startswith("The provider refused this prompt for safety reasons: ")
    assert reason in info.value.message


def test_gemini_prompt_feedback_block_is_a_refusal(
    google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    feedback = {"blockReason": "PROHIBITED_CONTENT", "blockReasonMessage": "Prompt was blocked."}
    google_fake.enqueue(Reply(200, gemini_response(prompt_feedback=feedback)))
    with pytest.raises(ProviderError) as info:
        google_provider.generate_image(GEMINI, ImageRequest("text_to_image", "x"))
    assert info.value.safety and info.value.error_class is ErrorClass.PERMANENT
    assert "Prompt was blocked." in info.value.message


def test_gemini_text_only_answer_is_no_image(
    google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    google_fake.enqueue(Reply(200, gemini_response(text="I would rather describe it.")))
    with pytest.raises(ProviderError) as info:
        google_provider.generate_image(GEMINI, ImageRequest("text_to_image", "x"))
    assert info.value.error_class is ErrorClass.PERMANENT and not info.value.safety
    assert info.value.message.startswith("The provider returned no image.")


def test_imagen_predict(google_provider: GoogleProvider, google_fake: GoogleFake) -> None:
    request = ImageRequest(
        "text_to_image", "a lantern", width=1600, height=900, n=2, negative_prompt="blur"
    )
    result = google_provider.generate_image("imagen-4.0-generate-001", request)

    req = google_fake.last()
    assert req.path == "/v1beta1/publishers/google/models/imagen-4.0-generate-001:predict"
    assert req.headers["x-goog-api-key"] == "test"
    assert req.json["instances"] == [{"prompt": "a lantern"}]
    params = req.json["parameters"]
    assert params["sampleCount"] == 2
    assert params["aspectRatio"] == "16:9"
    assert params["negativePrompt"] == "blur"
    assert params["outputOptions"] == {"mimeType": "image/png"}
    assert result.images == [FAKE_PNG, FAKE_PNG]
    assert result.cost_actual == pytest.approx(0.08)


def test_imagen_filtered_prediction_is_a_refusal(
    google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    google_fake.enqueue(Reply(200, {"predictions": [{"raiFilteredReason": "Filtered: violence"}]}))
    with pytest.raises(ProviderError) as info:
        google_provider.generate_image(
            "imagen-4.0-fast-generate-001", ImageRequest("text_to_image", "x")
        )
    assert info.value.safety and "Filtered: violence" in info.value.message


def test_imagen_cannot_edit(google_provider: GoogleProvider, google_fake: GoogleFake) -> None:
    with pytest.raises(ProviderError) as info:
        google_provider.generate_image(
            "imagen-4.0-generate-001", ImageRequest("image_to_image", "x", source=png())
        )
    assert info.value.error_class is ErrorClass.PERMANENT
    assert google_fake.requests == []


def test_veo_text_to_video_polls_with_heartbeat_until_done(google_fake: GoogleFake) -> None:
    google_fake.pending_polls = 2
    provider = GoogleProvider("test", base_url=google_fake.url, max_retries=0, poll_interval=0.01)
    beats: list[int] = []

    def heartbeat() -> None:
        beats.append(len([r for r in google_fake.requests if "fetchPredict" in r.path]))

    request = VideoRequest("waves at night", duration_s=8, negative_prompt="text")
    result = provider.generate_video("veo-3.1-fast-generate-preview", request, heartbeat)

    start = google_fake.requests[0]
    assert (
        start.path
        == "/v1beta1/publishers/google/models/veo-3.1-fast-generate-preview:predictLongRunning"
    )
    assert start.json["instances"] == [{"prompt": "waves at night"}]
    assert start.json["parameters"] == {
        "sampleCount": 1,
        "durationSeconds": 8,
        "aspectRatio": "16:9",
        "resolution": "720p",
        "negativePrompt": "text",
    }
    polls = [r for r in google_fake.requests if r.path.endswith(":fetchPredictOperation")]
    assert len(polls) == 3  # pending, pending, done
    assert polls[0].path == (
        "/v1beta1/projects/p/locations/l/publishers/google/models/"
        "veo-3.1-fast-generate-preview:fetchPredictOperation"
    )
    assert polls[0].json["operationName"].endswith("/operations/op-1")
    assert beats == [0, 1, 2]  # a heartbeat before every poll while the video was pending
    assert result.video == FAKE_MP4 and result.mime_type == "video/mp4"
    assert result.cost_actual == pytest.approx(8 * 0.15)
    assert result.provider_request_id.endswith("/operations/op-1")


def test_veo_image_to_video_sends_the_source(
    google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    source = source_image()
    request = VideoRequest("the boat sails", source=source, aspect_ratio="9:16", duration_s=5)
    result = google_provider.generate_video("veo-3.1-generate-preview", request)

    instance = google_fake.requests[0].json["instances"][0]
    assert instance["prompt"] == "the boat sails"
    assert instance["image"]["mimeType"] == "image/png"
    assert decode_b64_any(instance["image"]["bytesBase64Encoded"]) == source
    params = google_fake.requests[0].json["parameters"]
    assert params["aspectRatio"] == "9:16" and params["durationSeconds"] in (4, 6)
    assert result.video == FAKE_MP4


def test_veo_failed_operation_is_permanent(
    google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    error = {"done": True, "error": {"code": 3, "message": "Unsupported resolution."}}
    google_fake.enqueue(
        Reply(
            200,
            {
                "name": "projects/p/locations/l/publishers/google/models/veo-3.1-generate-preview/operations/x",
                **error,
            },
        ),
        path=":fetchPredictOperation",
    )
    google_fake.pending_polls = 1
    with pytest.raises(ProviderError) as info:
        google_provider.generate_video("veo-3.1-generate-preview", VideoRequest("x"))
    assert info.value.error_class is ErrorClass.PERMANENT
    assert info.value.message == "Unsupported resolution."


def test_veo_filtered_video_is_a_refusal(
    google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    filtered = {
        "name": "projects/p/locations/l/publishers/google/models/veo-3.1-generate-preview/operations/y",
        "done": True,
        "response": {"raiMediaFilteredCount": 1, "raiMediaFilteredReasons": ["Unsafe content."]},
    }
    google_fake.enqueue(Reply(200, filtered), path=":fetchPredictOperation")
    google_fake.pending_polls = 1
    with pytest.raises(ProviderError) as info:
        google_provider.generate_video("veo-3.1-generate-preview", VideoRequest("x"))
    assert info.value.safety and "Unsafe content." in info.value.message
