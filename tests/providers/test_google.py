"""Google adapter through the real `google-genai` SDK against the fake Gemini API and Vertex AI."""

from __future__ import annotations

import base64

import pytest
from google.genai import errors as genai_errors
from google.genai import types

from studio.providers.base import ErrorClass, ImageRequest, ProviderError, Turn, VideoRequest
from studio.providers.google import GoogleProvider, VertexAccess
from tests.providers.conftest import google_adapter
from tests.providers.fakes import (
    FAKE_MP4,
    FAKE_PNG,
    GoogleFake,
    Reply,
    b64,
    decode_b64_any,
    gemini_parts,
    gemini_response,
    png,
    write_adc_file,
)

GEMINI = "gemini-2.5-flash-image"
GEMINI_3 = "gemini-3.1-flash-image"


def source_image() -> bytes:
    """A PNG whose base64 differs between the standard and URL-safe alphabets."""
    data = png((20, 20), (251, 255, 254))
    encoded = base64.b64encode(data).decode()
    assert "+" in encoded or "/" in encoded
    return data


def test_models_cover_gemini_imagen_and_veo(google_provider: GoogleProvider) -> None:
    by_id = {m.id: m for m in google_provider.models()}
    assert {"gemini-2.5-flash-image", "gemini-3.1-flash-image"} <= by_id.keys()
    assert "gemini-3.1-flash-image-preview" not in by_id  # the published id has no -preview
    assert by_id["imagen-4.0-fast-generate-001"].modes == ("text_to_image",)
    assert by_id["veo-3.1-generate-preview"].kind == "video"
    assert {m.family for m in by_id.values()} == {"gemini", "vertex"}
    assert all(m.price_note for m in by_id.values())


def test_a_family_without_its_credential_offers_nothing_and_fails_before_the_network(
    google_fake: GoogleFake,
) -> None:
    gemini_only = GoogleProvider("test", base_url=google_fake.url)
    assert {m.family for m in gemini_only.models()} == {"gemini"}
    with pytest.raises(ProviderError) as info:
        gemini_only.generate_image("imagen-4.0-generate-001", ImageRequest("text_to_image", "x"))
    assert info.value.error_class is ErrorClass.AUTH
    assert "Imagen and Veo need Vertex AI: set GOOGLE_CLOUD_PROJECT" in info.value.message
    vertex_only = GoogleProvider(None, VertexAccess("express", api_key="vertex-test"))
    assert {m.family for m in vertex_only.models()} == {"vertex"}
    with pytest.raises(ProviderError) as info:
        vertex_only.generate_image(GEMINI, ImageRequest("text_to_image", "x"))
    assert info.value.error_class is ErrorClass.AUTH and "GOOGLE_API_KEY" in info.value.message
    assert google_fake.requests == []


def test_the_gemini_api_refuses_a_vertex_key(google_fake: GoogleFake) -> None:
    provider = GoogleProvider(google_fake.vertex_key, base_url=google_fake.url, max_retries=0)
    with pytest.raises(ProviderError) as info:
        provider.generate_image(GEMINI, ImageRequest("text_to_image", "x"))
    assert info.value.error_class is ErrorClass.AUTH
    assert "API key not valid" in info.value.message
    assert "Gemini API key from Google AI Studio in GOOGLE_API_KEY" in info.value.message


def test_vertex_refuses_the_gemini_api_key(google_fake: GoogleFake) -> None:
    """The mistake of today's studio: one GOOGLE_API_KEY for both hosts."""
    provider = google_adapter(google_fake, VertexAccess("express", api_key=google_fake.api_key))
    with pytest.raises(ProviderError) as info:
        provider.generate_image("imagen-4.0-generate-001", ImageRequest("text_to_image", "x"))
    assert info.value.error_class is ErrorClass.AUTH
    assert "API keys are not supported by this API" in info.value.message
    assert "GOOGLE_VERTEX_API_KEY" in info.value.message


def test_vertex_with_a_project_and_application_default_credentials(
    google_fake: GoogleFake, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", write_adc_file(tmp_path, google_fake))
    monkeypatch.delenv("GOOGLE_API_KEY", raising=False)
    access = VertexAccess("project", project="p", location="us-central1")
    provider = google_adapter(google_fake, access)
    result = provider.generate_image(
        "imagen-4.0-fast-generate-001", ImageRequest("text_to_image", "a fox")
    )
    assert result.images == [FAKE_PNG]
    req = google_fake.last(":predict")
    assert (
        req.path
        == "/v1beta1/projects/p/locations/us-central1/publishers/google/models/imagen-4.0-fast-generate-001:predict"
    )
    assert req.headers["authorization"] == "Bearer ya29.fake-token"
    assert "x-goog-api-key" not in req.headers
    assert google_fake.count("/token") == 1  # google-auth refreshed the ADC file's token


def test_vertex_project_without_credentials_is_an_auth_error(
    google_fake: GoogleFake, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    provider = google_adapter(
        google_fake, VertexAccess("project", project="p", location="us-central1")
    )
    with pytest.raises(ProviderError) as info:
        provider.generate_image("imagen-4.0-generate-001", ImageRequest("text_to_image", "x"))
    assert info.value.error_class is ErrorClass.AUTH
    assert "Google Cloud credentials" in info.value.message


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
    assert result.usage["candidates_token_count"] == 1290 + 8
    # 10 prompt tokens × $0.30 + 1290 image tokens × $30 + 8 text tokens × $2.50 per 1M
    assert result.cost_actual == pytest.approx((10 * 0.30 + 1290 * 30 + 8 * 2.5) / 1e6)
    assert result.provider_request_id == "resp-fake-1"


@pytest.mark.parametrize("mode", ["image_to_image", "inpaint"])
def test_gemini_edit_sends_inline_image_part(
    mode: str, google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    source = source_image()
    request = ImageRequest(mode, "add snow", source=source, mask=png((20, 20), (255, 255, 255)))  # type: ignore[arg-type]
    result = google_provider.generate_image(GEMINI_3, request)

    req = google_fake.last()
    assert req.path == "/v1beta/models/gemini-3.1-flash-image:generateContent"
    raw = req.json["contents"][0]["parts"][1]
    inline = raw.get("inlineData", raw.get("inline_data"))
    assert "+" not in inline["data"] and "/" not in inline["data"]  # URL-safe on the wire
    assert gemini_parts(req.json) == [
        {"role": "user", "text": "add snow"},
        {"role": "user", "mime_type": "image/png", "data": source},
    ]
    assert result.images == [FAKE_PNG]
    # Gemini 3.1: prompt (10 + 258 for the source) × $0.50, 1120 image × $60, 8 text + 150
    # thinking tokens × $3 per 1M.
    assert result.cost_actual == pytest.approx((268 * 0.5 + 1120 * 60 + 158 * 3) / 1e6)


@pytest.mark.parametrize("model", [GEMINI, GEMINI_3])
def test_earlier_verses_are_replayed_as_user_reference_images(
    model: str, google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    """Gemini 3 refuses a model-role image replayed without its thought signature; earlier
    pictures go back as the user's reference images, which need none."""
    thumb = png((4, 4), (1, 1, 1))
    context = [Turn("user", "first verse"), Turn("assistant", "A boat.", thumb)]
    result = google_provider.generate_image(
        model, ImageRequest("text_to_image", "second", context=context)
    )
    assert result.images == [FAKE_PNG]
    parts = gemini_parts(google_fake.last().json)
    assert {p["role"] for p in parts} == {"user"}
    assert {"role": "user", "mime_type": "image/png", "data": thumb} in parts
    texts = [p["text"] for p in parts if "text" in p]
    assert texts[-1] == "second" and "Earlier request: first verse" in texts
    assert "Your answer to it: A boat." in texts


def test_gemini_3_refuses_a_model_image_without_its_signature(google_fake: GoogleFake) -> None:
    """The fake is as strict as Gemini 3: the SDK's own request, replaying a model image."""
    from google import genai

    client = genai.Client(
        api_key="test",
        http_options=types.HttpOptions(base_url=google_fake.url, api_version="v1beta"),
    )
    replay = [
        types.Content(role="user", parts=[types.Part.from_text(text="a boat")]),
        types.Content(
            role="model", parts=[types.Part.from_bytes(data=FAKE_PNG, mime_type="image/png")]
        ),
        types.Content(role="user", parts=[types.Part.from_text(text="now at night")]),
    ]
    with pytest.raises(genai_errors.ClientError) as info:
        client.models.generate_content(model=GEMINI_3, contents=replay)
    assert info.value.code == 400 and "missing a thought_signature" in info.value.message
    signed = types.Part.from_bytes(data=FAKE_PNG, mime_type="image/png")
    signed.thought_signature = b"fake-thought-signature"
    replay[1] = types.Content(role="model", parts=[signed])
    assert client.models.generate_content(model=GEMINI_3, contents=replay).candidates


def test_a_preview_model_id_that_is_not_published_is_refused(
    google_provider: GoogleProvider,
) -> None:
    with pytest.raises(ProviderError) as info:
        google_provider.generate_image(
            "gemini-3.1-flash-image-preview", ImageRequest("text_to_image", "x")
        )
    assert info.value.error_class is ErrorClass.PERMANENT and "not found" in info.value.message


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
    assert info.value.error_class is ErrorClass.SAFETY and info.value.safety
    assert info.value.message.startswith("The provider refused this prompt for safety reasons: ")
    assert reason in info.value.message


def test_gemini_prompt_feedback_block_is_a_refusal(
    google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    feedback = {"blockReason": "PROHIBITED_CONTENT", "blockReasonMessage": "Prompt was blocked."}
    google_fake.enqueue(Reply(200, gemini_response(prompt_feedback=feedback)))
    with pytest.raises(ProviderError) as info:
        google_provider.generate_image(GEMINI, ImageRequest("text_to_image", "x"))
    assert info.value.error_class is ErrorClass.SAFETY
    assert "Prompt was blocked." in info.value.message


def test_gemini_text_only_answer_is_no_image(
    google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    google_fake.enqueue(Reply(200, gemini_response(text="I would rather describe it.")))
    with pytest.raises(ProviderError) as info:
        google_provider.generate_image(GEMINI, ImageRequest("text_to_image", "x"))
    assert info.value.error_class is ErrorClass.PERMANENT and not info.value.safety
    assert info.value.message.startswith("The provider returned no image.")


def test_undecodable_image_is_a_clear_provider_error(
    google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    body = gemini_response()
    body["candidates"][0]["content"]["parts"].append(
        {"inlineData": {"mimeType": "image/png", "data": "!!not base64**"}}
    )
    google_fake.enqueue(Reply(200, body))
    with pytest.raises(ProviderError) as info:
        google_provider.generate_image(GEMINI, ImageRequest("text_to_image", "x"))
    assert info.value.error_class is ErrorClass.PERMANENT
    assert "could not be read" in info.value.message and "base64" in info.value.message


def test_imagen_predict(google_provider: GoogleProvider, google_fake: GoogleFake) -> None:
    request = ImageRequest(
        "text_to_image", "a lantern", width=1600, height=900, n=2, negative_prompt="blur"
    )
    result = google_provider.generate_image("imagen-4.0-generate-001", request)

    req = google_fake.last()
    assert req.path == "/v1beta1/publishers/google/models/imagen-4.0-generate-001:predict"
    assert req.headers["x-goog-api-key"] == "vertex-test"
    # Imagen 4 takes no negative prompt: it is folded into the prompt.
    assert req.json["instances"] == [{"prompt": "a lantern\n\nAvoid: blur"}]
    params = req.json["parameters"]
    assert "negativePrompt" not in params
    assert params["sampleCount"] == 2 and params["aspectRatio"] == "16:9"
    assert params["includeRaiReason"] is True
    assert params["outputOptions"] == {"mimeType": "image/png"}
    assert result.images == [FAKE_PNG, FAKE_PNG]
    assert result.cost_actual == pytest.approx(0.08)


def test_imagen_filtered_images_come_with_their_reason(
    google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    google_fake.rai_filtered = 1
    with pytest.raises(ProviderError) as info:
        google_provider.generate_image(
            "imagen-4.0-fast-generate-001", ImageRequest("text_to_image", "x")
        )
    assert info.value.error_class is ErrorClass.SAFETY and "usage guidelines" in info.value.message
    google_fake.rai_filtered = 1  # one of two filtered: the other is kept, and only it is paid
    result = google_provider.generate_image(
        "imagen-4.0-fast-generate-001", ImageRequest("text_to_image", "x", n=2)
    )
    assert result.images == [FAKE_PNG] and result.cost_actual == pytest.approx(0.02)
    assert result.usage == {"images": 1, "filtered": 1}


def test_imagen_cannot_edit(google_provider: GoogleProvider, google_fake: GoogleFake) -> None:
    with pytest.raises(ProviderError) as info:
        google_provider.generate_image(
            "imagen-4.0-generate-001", ImageRequest("image_to_image", "x", source=png())
        )
    assert info.value.error_class is ErrorClass.PERMANENT
    assert google_fake.requests == []


def test_veo_start_then_finish_polls_with_heartbeat_until_done(google_fake: GoogleFake) -> None:
    google_fake.pending_polls = 2
    provider = google_adapter(google_fake)
    beats: list[int] = []

    def heartbeat() -> None:
        beats.append(google_fake.count(":fetchPredictOperation"))

    request = VideoRequest("waves at night", duration_s=8, negative_prompt="text")
    name = provider.start_video("veo-3.1-fast-generate-preview", request)
    assert name.endswith("/operations/op-1") and len(google_fake.submissions) == 1
    start = google_fake.submissions[0]
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
        "generateAudio": True,
    }
    result = provider.finish_video("veo-3.1-fast-generate-preview", name, request, heartbeat)
    polls = [r for r in google_fake.requests if r.path.endswith(":fetchPredictOperation")]
    assert len(polls) == 3  # pending, pending, done
    assert polls[0].path == (
        "/v1beta1/projects/p/locations/us-central1/publishers/google/models/"
        "veo-3.1-fast-generate-preview:fetchPredictOperation"
    )
    assert beats == [1, 2]  # a heartbeat before every wait while the video was pending
    assert result.video == FAKE_MP4 and result.mime_type == "video/mp4"
    assert result.cost_actual == pytest.approx(8 * 0.15)
    assert result.provider_request_id == name
    assert len(google_fake.submissions) == 1


def test_veo_operation_is_resumed_by_name_without_a_new_submission(google_fake: GoogleFake) -> None:
    request = VideoRequest("a harbour", duration_s=4)
    name = google_adapter(google_fake).start_video("veo-3.1-generate-preview", request)
    fresh = google_adapter(google_fake)  # another worker, after a crash
    result = fresh.finish_video("veo-3.1-generate-preview", name, request)
    assert result.video == FAKE_MP4 and result.cost_actual == pytest.approx(4 * 0.40)
    assert len(google_fake.submissions) == 1


@pytest.mark.parametrize(
    ("resolution", "asked", "sent"),
    [("720p", 5, 6), ("720p", 4, 4), ("1080p", 4, 8), ("1080p", 6, 8)],
)
def test_veo_duration_follows_the_published_rules(
    resolution: str, asked: int, sent: int, google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    request = VideoRequest("x", duration_s=asked, resolution=resolution)  # type: ignore[arg-type]
    assert google_provider.estimate_cost("veo-3.1-generate-preview", request) == pytest.approx(
        sent * 0.40
    )
    google_provider.start_video("veo-3.1-generate-preview", request)
    params = google_fake.submissions[-1].json["parameters"]
    assert (params["resolution"], params["durationSeconds"]) == (resolution, sent)


def test_fake_veo_refuses_1080p_shorter_than_8_seconds(
    google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    config = types.GenerateVideosConfig(resolution="1080p", duration_seconds=4, generate_audio=True)
    with pytest.raises(genai_errors.ClientError) as info:
        google_provider.vertex_client.models.generate_videos(
            model="veo-3.1-generate-preview",
            source=types.GenerateVideosSource(prompt="x"),
            config=config,
        )
    assert info.value.code == 400 and "must be 8 seconds" in info.value.message
    assert google_fake.submissions == []


def test_veo_image_to_video_sends_the_source(
    google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    source = source_image()
    request = VideoRequest("the boat sails", source=source, aspect_ratio="9:16", duration_s=5)
    name = google_provider.start_video("veo-3.1-generate-preview", request)
    instance = google_fake.submissions[0].json["instances"][0]
    assert instance["prompt"] == "the boat sails"
    assert instance["image"]["mimeType"] == "image/png"
    assert decode_b64_any(instance["image"]["bytesBase64Encoded"]) == source
    params = google_fake.submissions[0].json["parameters"]
    assert params["aspectRatio"] == "9:16" and params["durationSeconds"] == 6
    assert google_provider.finish_video("veo-3.1-generate-preview", name, request).video == FAKE_MP4


def _operation(google_fake: GoogleFake, **body: object) -> None:
    google_fake.enqueue(
        Reply(200, {"name": "x", "done": True, **body}), path=":fetchPredictOperation"
    )


def test_veo_failed_operation_is_permanent(
    google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    name = google_provider.start_video("veo-3.1-generate-preview", VideoRequest("x"))
    _operation(google_fake, error={"code": 3, "message": "Unsupported resolution."})
    with pytest.raises(ProviderError) as info:
        google_provider.finish_video("veo-3.1-generate-preview", name, VideoRequest("x"))
    assert info.value.error_class is ErrorClass.PERMANENT
    assert info.value.message == "Unsupported resolution."


def test_veo_filtered_video_is_a_refusal(
    google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    name = google_provider.start_video("veo-3.1-generate-preview", VideoRequest("x"))
    _operation(
        google_fake,
        response={"raiMediaFilteredCount": 1, "raiMediaFilteredReasons": ["Unsafe content."]},
    )
    with pytest.raises(ProviderError) as info:
        google_provider.finish_video("veo-3.1-generate-preview", name, VideoRequest("x"))
    assert info.value.safety and "Unsafe content." in info.value.message


def test_veo_video_that_cannot_be_decoded_is_a_clear_error(
    google_provider: GoogleProvider, google_fake: GoogleFake
) -> None:
    name = google_provider.start_video("veo-3.1-generate-preview", VideoRequest("x"))
    _operation(
        google_fake, response={"videos": [{"bytesBase64Encoded": "@@@@", "mimeType": "video/mp4"}]}
    )
    with pytest.raises(ProviderError) as info:
        google_provider.finish_video("veo-3.1-generate-preview", name, VideoRequest("x"))
    assert (
        info.value.error_class is ErrorClass.PERMANENT and "could not be read" in info.value.message
    )
    assert b64(FAKE_MP4)  # the fake's own videos do decode
