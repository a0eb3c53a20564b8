"""OpenRouter adapter through the real `openai` SDK against the fake chat-completions API."""

from __future__ import annotations

import base64

import pytest

from studio.providers.base import ErrorClass, ImageRequest, ProviderError, Turn
from studio.providers.openrouter import OpenRouterProvider
from tests.providers.fakes import FAKE_PNG, OpenRouterFake, Reply, b64, chat_completion, png
from tests.providers.fakes.openrouter_fake import usage_for

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
    assert req.headers["x-openrouter-title"] == "Image Studio Tests"
    assert req.headers["x-title"] == "Image Studio Tests"  # the older name, still accepted
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
    assert result.usage["completion_tokens"] == 1300
    assert result.cost_actual == pytest.approx(result.usage["cost"])  # as OpenRouter reports it
    assert result.cost_actual == pytest.approx((20 * 0.3 + 1300 * 30) / 1e6)
    assert result.provider_request_id == "gen-fake-1"


@pytest.mark.parametrize("model", [MODEL, "google/gemini-3.1-flash-image"])
def test_earlier_verses_are_replayed_as_user_reference_images(
    model: str, openrouter_provider: OpenRouterProvider, openrouter_fake: OpenRouterFake
) -> None:
    """Gemini 3 refuses replayed assistant images without their reasoning details (which a
    stored thumbnail cannot carry): earlier pictures go back inside the user's message."""
    thumb = png((16, 16), (5, 6, 7))
    context = [
        Turn("user", "verse one: a lighthouse"),
        Turn("assistant", "A lighthouse at dusk.", thumb),
    ]
    request = ImageRequest(
        mode="text_to_image", prompt="verse two: the storm", context=context, conversation_id="s"
    )
    result = openrouter_provider.generate_image(model, request)
    assert result.images == [FAKE_PNG] and openrouter_fake.refused == []

    (message,) = openrouter_fake.last().json["messages"]
    assert message["role"] == "user"
    texts = [p["text"] for p in message["content"] if p["type"] == "text"]
    assert "Earlier request: verse one: a lighthouse" in texts
    assert "Your answer to it: A lighthouse at dusk." in texts
    assert texts[-1] == "verse two: the storm"
    (image,) = [p for p in message["content"] if p["type"] == "image_url"]
    assert decode_data_url(image["image_url"]["url"]) == ("image/png", thumb)


def test_fake_refuses_gemini_3_assistant_images_without_reasoning_details(
    openrouter_fake: OpenRouterFake,
) -> None:
    import openai

    client = openai.OpenAI(api_key="test", base_url=f"{openrouter_fake.url}/api/v1", max_retries=0)
    image = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(FAKE_PNG)}"}}
    messages = [
        {"role": "user", "content": "a boat"},
        {"role": "assistant", "content": [image]},
        {"role": "user", "content": "now at night"},
    ]
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="google/gemini-3.1-flash-image",
            messages=messages,
            modalities=["image", "text"],  # type: ignore[arg-type]
        )
    assert "missing a thought_signature" in str(info.value.body)


def test_long_conversation_ids_fit_the_256_character_session_limit(
    openrouter_provider: OpenRouterProvider, openrouter_fake: OpenRouterFake
) -> None:
    long_id = "song-" + "x" * 300
    openrouter_provider.generate_image(
        MODEL, ImageRequest("text_to_image", "x", conversation_id=long_id)
    )
    req = openrouter_fake.last()
    assert openrouter_fake.refused == []
    assert (
        len(req.json["session_id"]) <= 256 and req.headers["x-session-id"] == req.json["session_id"]
    )
    again = ImageRequest("text_to_image", "y", conversation_id=long_id)
    openrouter_provider.generate_image(MODEL, again)
    assert openrouter_fake.last().json["session_id"] == req.json["session_id"]  # stable


def test_fake_refuses_a_session_id_over_256_characters(openrouter_fake: OpenRouterFake) -> None:
    import openai

    client = openai.OpenAI(api_key="test", base_url=f"{openrouter_fake.url}/api/v1", max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": "x"}],
            extra_body={"session_id": "s" * 257},
        )
    assert "session_id" in str(info.value.body)


def test_byok_cost_adds_the_upstream_inference_cost() -> None:
    with OpenRouterFake(byok=True) as fake:
        provider = OpenRouterProvider("test", base_url=f"{fake.url}/api/v1", max_retries=0)
        result = provider.generate_image(MODEL, ImageRequest("text_to_image", "x"))
    usage = usage_for(MODEL, 20, 1, byok=True)
    assert result.cost_actual == pytest.approx(
        usage["cost"] + usage["cost_details"]["upstream_inference_cost"]
    )
    assert result.cost_actual == pytest.approx(1.05 * (20 * 0.3 + 1300 * 30) / 1e6)


@pytest.mark.parametrize("mode", ["image_to_image", "inpaint"])
def test_edit_sends_source_as_image_part_and_never_the_mask(
    mode: str, openrouter_provider: OpenRouterProvider, openrouter_fake: OpenRouterFake
) -> None:
    source = png((24, 24), (200, 100, 0))
    mask = png((24, 24), (255, 255, 255))
    request = ImageRequest(mode=mode, prompt="make it night", source=source, mask=mask)  # type: ignore[arg-type]
    result = openrouter_provider.generate_image(MODEL, request)

    (message,) = openrouter_fake.last().json["messages"]
    text, image = message["content"]  # no context: the prompt and the source only
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
    assert result.cost_actual == pytest.approx(2 * (20 * 0.3 + 1300 * 30) / 1e6)


def test_reported_cost_is_used(
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
    assert info.value.safety and info.value.error_class is ErrorClass.SAFETY
    assert info.value.message.startswith("The provider refused this prompt for safety reasons")


def test_models_put_the_configured_model_first(openrouter_fake: OpenRouterFake) -> None:
    provider = OpenRouterProvider(
        "k", model="acme/painter-1", base_url=f"{openrouter_fake.url}/api/v1"
    )
    ids = [m.id for m in provider.models()]
    assert ids[0] == "acme/painter-1"
    assert MODEL in ids
