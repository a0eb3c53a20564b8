"""OpenAI Images adapter through the real `openai` SDK against the fake Images API."""

from __future__ import annotations

import io

import openai
import pytest
from PIL import Image

from studio.providers.base import ErrorClass, ImageRequest, ProviderError
from studio.providers.openai_images import OpenAIImagesProvider, openai_mask
from studio.providers.openai_sizes import size_text, valid
from tests.providers.fakes import FAKE_PNG, OpenAIFake, openai_error, png


def studio_mask(size: tuple[int, int], box: tuple[int, int, int, int]) -> bytes:
    """The studio's convention: L-mode PNG, white (255) inside `box` = change."""
    mask = Image.new("L", size, 0)
    mask.paste(255, box)
    buf = io.BytesIO()
    mask.save(buf, format="PNG")
    return buf.getvalue()


def test_offers_current_models_only(openai_provider: OpenAIImagesProvider) -> None:
    ids = [m.id for m in openai_provider.models()]
    assert ids == ["gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2"]
    assert "gpt-image-1" not in ids and "dall-e-3" not in ids
    assert all(m.price_note for m in openai_provider.models())


def test_text_to_image_posts_generation_json(
    openai_provider: OpenAIImagesProvider, openai_fake: OpenAIFake
) -> None:
    request = ImageRequest(
        mode="text_to_image", prompt="a red fox", width=1600, height=1000, quality="low", n=2
    )
    result = openai_provider.generate_image("gpt-image-1.5", request)

    req = openai_fake.last()
    assert (req.method, req.path) == ("POST", "/v1/images/generations")
    assert req.headers["authorization"] == "Bearer test"
    assert req.json == {
        "model": "gpt-image-1.5",
        "prompt": "a red fox",
        "size": "1536x1024",  # nearest supported size for a landscape request
        "quality": "low",
        "n": 2,
    }
    assert result.images == [FAKE_PNG, FAKE_PNG]
    assert result.mime_type == "image/png"
    assert result.usage["output_tokens_details"]["image_tokens"] == 2 * 408
    # Per-image price of the size and quality used (1536x1024 low: $0.013) × 2, plus the
    # prompt's text tokens at $5 per 1M.
    text_in = result.usage["input_tokens_details"]["text_tokens"]
    assert result.cost_actual == pytest.approx(2 * 0.013 + text_in * 5 / 1e6)
    assert result.provider_request_id == "req_fake_1"


def test_gpt_image_2_snapped_size_and_cost_from_usage(
    openai_provider: OpenAIImagesProvider, openai_fake: OpenAIFake
) -> None:
    request = ImageRequest(
        mode="text_to_image", prompt="city", width=1000, height=600, negative_prompt="people"
    )
    result = openai_provider.generate_image("gpt-image-2", request)

    body = openai_fake.last().json
    assert body["size"] == "1056x640"  # divisible by 16 and at least 655,360 pixels
    assert "quality" not in body  # not given → provider default
    assert body["prompt"] == "city\n\nAvoid: people"
    usage = result.usage
    text_in = usage["input_tokens_details"]["text_tokens"]
    image_out = usage["output_tokens_details"]["image_tokens"]
    # usage: text in × $5 + image out × $30 per 1M
    assert result.cost_actual == pytest.approx((text_in * 5 + image_out * 30) / 1e6)
    assert (usage["size"], usage["quality"]) == ("1056x640", "high")  # "auto" came back as high


@pytest.mark.parametrize(
    ("w", "h", "sent"), [(512, 512, "816x816"), (1000, 600, "1056x640"), (640, 640, "816x816")]
)
def test_small_presets_never_send_a_size_gpt_image_2_refuses(
    w: int, h: int, sent: str, openai_provider: OpenAIImagesProvider, openai_fake: OpenAIFake
) -> None:
    """gpt-image-2 needs at least 655,360 pixels: the "Small 512 × 512" preset is snapped up."""
    result = openai_provider.generate_image(
        "gpt-image-2", ImageRequest("text_to_image", "x", width=w, height=h)
    )
    assert openai_fake.last().json["size"] == sent and result.images == [FAKE_PNG]
    assert openai_fake.refused == []


def test_fake_refuses_what_openai_refuses(openai_fake: OpenAIFake) -> None:
    client = openai.OpenAI(api_key="test", base_url=f"{openai_fake.url}/v1", max_retries=0)
    cases = [
        ({"model": "gpt-image-2", "size": "512x512"}, "invalid_value", "655,360"),
        ({"model": "gpt-image-2", "size": "1000x600"}, "invalid_value", "divisible by 16"),
        ({"model": "gpt-image-2", "size": "3840x1024"}, "invalid_value", "aspect ratio"),
        ({"model": "gpt-image-2", "size": "4096x4096"}, "invalid_value", "longest edge"),
        ({"model": "gpt-image-1.5", "size": "1920x1088"}, "invalid_value", "Supported values"),
        ({"model": "gpt-image-1.5", "n": 11}, "integer_above_max_value", "maximum"),
        ({"model": "gpt-image-1.5", "n": 0}, "integer_below_min_value", "minimum"),
        ({"model": "gpt-image-1.5", "quality": "ultra"}, "invalid_value", "ultra"),
        ({"model": "gpt-image-1", "size": "1024x1024"}, "model_not_found", "gpt-image-1"),
        (
            {"model": "gpt-image-1.5", "response_format": "b64_json"},
            "unknown_parameter",
            "response_format",
        ),
        (
            {"model": "gpt-image-1.5", "extra_body": {"colour": "red"}},
            "unknown_parameter",
            "colour",
        ),
    ]
    for fields, code, words in cases:
        with pytest.raises(openai.APIStatusError) as info:
            client.images.generate(prompt="x", **fields)  # type: ignore[arg-type]
        assert info.value.code == code, fields
        assert words in info.value.message, fields
    assert len(openai_fake.refused) == len(cases)


def test_more_than_ten_images_is_refused_before_the_call(
    openai_provider: OpenAIImagesProvider, openai_fake: OpenAIFake
) -> None:
    with pytest.raises(ProviderError) as info:
        openai_provider.generate_image("gpt-image-1.5", ImageRequest("text_to_image", "x", n=11))
    assert info.value.error_class is ErrorClass.PERMANENT and "1 to 10 images" in info.value.message
    assert openai_fake.requests == []


def test_image_to_image_posts_multipart_edit_without_mask(
    openai_provider: OpenAIImagesProvider, openai_fake: OpenAIFake
) -> None:
    source = png((40, 30), (1, 2, 3))
    request = ImageRequest(mode="image_to_image", prompt="make it blue", source=source)
    result = openai_provider.generate_image("gpt-image-1-mini", request)

    req = openai_fake.last()
    assert req.path == "/v1/images/edits"
    assert req.headers["content-type"].startswith("multipart/form-data; boundary=")
    (image,) = req.parts["image"]
    assert (image.data, image.content_type, image.filename) == (source, "image/png", "image.png")
    assert "mask" not in req.parts
    assert req.field("prompt") == "make it blue"
    assert req.field("model") == "gpt-image-1-mini"
    assert req.field("size") == "1024x1024"
    assert result.images == [FAKE_PNG]


def test_inpaint_sends_mask_transparent_exactly_where_studio_mask_is_white(
    openai_provider: OpenAIImagesProvider, openai_fake: OpenAIFake
) -> None:
    size = (48, 32)
    source = png(size, (90, 90, 90))
    box = (5, 4, 20, 17)
    request = ImageRequest(
        mode="inpaint", prompt="add a hat", source=source, mask=studio_mask(size, box)
    )
    openai_provider.generate_image("gpt-image-1.5", request)

    (mask_part,) = openai_fake.last("/images/edits").parts["mask"]
    assert mask_part.content_type == "image/png"
    assert mask_part.data.startswith(b"\x89PNG\r\n\x1a\n")
    mask = Image.open(io.BytesIO(mask_part.data))
    assert mask.format == "PNG" and mask.mode == "RGBA" and mask.size == size
    alpha = mask.getchannel("A")
    for y in range(size[1]):
        for x in range(size[0]):
            inside = box[0] <= x < box[2] and box[1] <= y < box[3]
            assert alpha.getpixel((x, y)) == (0 if inside else 255), (x, y)
    assert openai_fake.last().parts["image"][0].data == source


def test_mask_of_another_size_is_scaled_to_the_image() -> None:
    converted = Image.open(
        io.BytesIO(openai_mask(studio_mask((10, 10), (0, 0, 5, 10)), png((40, 20))))
    )
    assert converted.size == (40, 20)
    alpha = converted.getchannel("A")
    assert alpha.getpixel((0, 0)) == 0 and alpha.getpixel((39, 19)) == 255


@pytest.mark.parametrize(
    ("model", "w", "h", "size"),
    [
        ("gpt-image-1-mini", 1024, 1024, "1024x1024"),
        ("gpt-image-1.5", 768, 1280, "1024x1536"),
        ("gpt-image-2", 5000, 5000, "2880x2880"),  # capped at 8,294,400 pixels
        ("gpt-image-2", 4000, 1000, "3456x1152"),  # clamped to 3:1, same area
        ("gpt-image-2", 1920, 1080, "1920x1072"),
        ("gpt-image-2", 2160, 3840, "2160x3840"),  # valid as asked
        ("gpt-image-2", 512, 512, "816x816"),  # raised to the 655,360-pixel minimum
    ],
)
def test_size_mapping(model: str, w: int, h: int, size: str) -> None:
    assert size_text(model, w, h) == size
    assert valid(model, *map(int, size.split("x")))


def test_sdk_retries_are_used_not_a_hand_loop(openai_fake: OpenAIFake) -> None:
    provider = OpenAIImagesProvider("test", base_url=f"{openai_fake.url}/v1", max_retries=1)
    openai_fake.enqueue(openai_error(500, "boom", headers={"retry-after-ms": "1"}))
    result = provider.generate_image("gpt-image-1.5", ImageRequest("text_to_image", "x"))
    assert result.images == [FAKE_PNG]
    assert len(openai_fake.requests) == 2
    assert openai_fake.requests[1].headers["x-stainless-retry-count"] == "1"


def test_wrong_key_is_an_auth_error(openai_fake: OpenAIFake) -> None:
    provider = OpenAIImagesProvider("wrong", base_url=f"{openai_fake.url}/v1", max_retries=0)
    with pytest.raises(ProviderError) as info:
        provider.generate_image("gpt-image-1.5", ImageRequest("text_to_image", "x"))
    assert info.value.error_class is ErrorClass.AUTH
    assert "Incorrect API key" in info.value.message


def test_edit_without_source_is_permanent_and_sends_nothing(
    openai_provider: OpenAIImagesProvider, openai_fake: OpenAIFake
) -> None:
    with pytest.raises(ProviderError) as info:
        openai_provider.generate_image("gpt-image-1.5", ImageRequest("image_to_image", "x"))
    assert info.value.error_class is ErrorClass.PERMANENT
    assert openai_fake.requests == []


def test_unreadable_mask_is_permanent_and_sends_nothing(
    openai_provider: OpenAIImagesProvider, openai_fake: OpenAIFake
) -> None:
    request = ImageRequest("inpaint", "x", source=png((8, 8)), mask=b"not an image")
    with pytest.raises(ProviderError) as info:
        openai_provider.generate_image("gpt-image-1.5", request)
    assert info.value.error_class is ErrorClass.PERMANENT
    assert openai_fake.requests == []
