"""OpenRouter adapter through the real `openai` SDK against the fake chat-completions API."""

from __future__ import annotations

import base64

import pytest

from studio.providers.base import ErrorClass, ImageRequest, ProviderError, Turn
from studio.providers.openrouter import OpenRouterProvider
from tests.providers.fakes import FAKE_PNG, OpenRouterFake, Reply, chat_completion, png

MODEL = "google/gemini-2.5-flash-image"


def decode_data_url(url: str) -> tuple[str, bytes]:
    header, payload = url.split(",", 1)
    assert header.startswith("data:") and header.endswith(";base64")
    return header[5:-7], base64.b64decode(payload)


def test_text_to_image_carries_conversation_modalities_and_app_headers(
    openrouter_provider: OpenRouterProvider, openrouter_fake: OpenRouterFake
) -> None:
    request = ImageRequest(
        mode="text_to_image",
        prompt="verse one: a lighthouse",
        width=1920,
        height=1080,
        conversation_id="song-42",
    )
    result = openrouter_provider.generate_image(MODEL, request)

    req = openrouter_fake.last()
    assert (req.method, req.path) == ("POST", "/api/v1/chat/completions")
    assert req.headers["authorization"] == "Bearer test"
    assert req.headers["http-referer"] == "https://studio.example"
    assert req.headers["x-title"] == "Image Studio Tests"
    assert req.headers["x-conversation-id"] == "song-42"
    assert req.headers["x-session-id"] == "song-42"
    body = req.json
    assert body["model"] == MODEL
    assert body["modalities"] == ["image", "text"]
    assert body["session_id"] == "song-42"
    assert body["image_config"] == {"aspect_ratio": "16:9"}
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "verse one: a lighthouse"}]}
    ]

    assert result.images == [FAKE_PNG]
    assert result.text == "Here is your image."
    assert result.usage == {"prompt_tokens": 20, "completion_tokens": 1300, "total_tokens": 1320}
    assert result.cost_actual == pytest.approx(1300 * 30 / 1e6)
    assert result.provider_request_id == "gen-fake-1"


def test_earlier_verses_are_replayed_as_turns_with_text_and_images(
    openrouter_provider: OpenRouterProvider, openrouter_fake: OpenRouterFake
) -> None:
    thumb = png((16, 16), (5, 6, 7))
    context = [
        Turn("user", "verse one: a lighthouse"),
        Turn("assistant", "A lighthouse at dusk.", thumb),
    ]
    request = ImageRequest(
        mode="text_to_image", prompt="verse two: the storm", context=context, conversation_id="s"
    )
    openrouter_provider.generate_image(MODEL, request)

    messages = openrouter_fake.last().json["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[0]["content"] == [{"type": "text", "text": "verse one: a lighthouse"}]
    text_part, image_part = messages[1]["content"]
    assert text_part == {"type": "text", "text": "A lighthouse at dusk."}
    assert image_part["type"] == "image_url"
    assert decode_data_url(image_part["image_url"]["url"]) == ("image/png", thumb)
    assert messages[2]["content"] == [{"type": "text", "text": "verse two: the storm"}]


@pytest.mark.parametrize("mode", ["image_to_image", "inpaint"])
def test_edit_sends_source_as_image_part_and_never_the_mask(
    mode: str, openrouter_provider: OpenRouterProvider, openrouter_fake: OpenRouterFake
) -> None:
    source = png((24, 24), (200, 100, 0))
    mask = png((24, 24), (255, 255, 255))
    request = ImageRequest(mode=mode, prompt="make it night", source=source, mask=mask)  # type: ignore[arg-type]
    result = openrouter_provider.generate_image(MODEL, request)

    (message,) = openrouter_fake.last().json["messages"]
    text, image = message["content"]
    assert text == {"type": "text", "text": "make it night"}
    assert decode_data_url(image["image_url"]["url"]) == ("image/png", source)
    assert mask not in openrouter_fake.last().body  # nor anywhere else in the request
    assert result.images == [FAKE_PNG]


def test_without_conversation_no_session_is_sent(
    openrouter_provider: OpenRouterProvider, openrouter_fake: OpenRouterFake
) -> None:
    openrouter_provider.generate_image(MODEL, ImageRequest("text_to_image", "x"))
    req = openrouter_fake.last()
    assert "session_id" not in req.json
    assert "x-session-id" not in req.headers and "x-conversation-id" not in req.headers


def test_n_images_are_n_completions(
    openrouter_provider: OpenRouterProvider, openrouter_fake: OpenRouterFake
) -> None:
    result = openrouter_provider.generate_image(MODEL, ImageRequest("text_to_image", "x", n=2))
    assert result.images == [FAKE_PNG, FAKE_PNG]
    assert len(openrouter_fake.requests) == 2
    assert result.usage["completion_tokens"] == 2600


def test_reported_cost_is_used_when_present(
    openrouter_provider: OpenRouterProvider, openrouter_fake: OpenRouterFake
) -> None:
    usage = {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3, "cost": 0.0412}
    openrouter_fake.enqueue(Reply(200, chat_completion(images=[FAKE_PNG], usage=usage)))
    result = openrouter_provider.generate_image(MODEL, ImageRequest("text_to_image", "x"))
    assert result.cost_actual == pytest.approx(0.0412)


def test_text_only_answer_is_no_image_with_what_the_model_said(
    openrouter_provider: OpenRouterProvider, openrouter_fake: OpenRouterFake
) -> None:
    openrouter_fake.enqueue(Reply(200, chat_completion(text="I can only describe it.")))
    with pytest.raises(ProviderError) as info:
        openrouter_provider.generate_image(MODEL, ImageRequest("text_to_image", "x"))
    assert info.value.error_class is ErrorClass.PERMANENT and not info.value.safety
    assert info.value.message.startswith("The provider returned no image.")
    assert "I can only describe it." in info.value.message


def test_upstream_image_safety_finish_is_a_safety_refusal(
    openrouter_provider: OpenRouterProvider, openrouter_fake: OpenRouterFake
) -> None:
    body = chat_completion(
        text=None, finish_reason="content_filter", native_finish_reason="IMAGE_SAFETY"
    )
    openrouter_fake.enqueue(Reply(200, body))
    with pytest.raises(ProviderError) as info:
        openrouter_provider.generate_image(MODEL, ImageRequest("text_to_image", "x"))
    assert info.value.safety and info.value.error_class is ErrorClass.PERMANENT
    assert info.value.message.startswith("The provider refused this prompt for safety reasons")


def test_models_put_the_configured_model_first(openrouter_fake: OpenRouterFake) -> None:
    provider = OpenRouterProvider(
        "k", model="acme/painter-1", base_url=f"{openrouter_fake.url}/api/v1"
    )
    ids = [m.id for m in provider.models()]
    assert ids[0] == "acme/painter-1"
    assert MODEL in ids
