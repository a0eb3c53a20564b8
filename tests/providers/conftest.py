"""Fixtures: fake provider servers on 127.0.0.1 and adapters pointed at them (no retries)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from studio.providers.google import GoogleProvider, VertexAccess
from studio.providers.openai_images import OpenAIImagesProvider
from studio.providers.openrouter import OpenRouterProvider
from tests.providers.fakes import GoogleFake, OpenAIFake, OpenRouterFake

TIMEOUT = 5.0  # generous for a loaded CI box; the timeout tests use their own small value


@pytest.fixture
def openai_fake() -> Iterator[OpenAIFake]:
    with OpenAIFake() as fake:
        yield fake


@pytest.fixture
def openrouter_fake() -> Iterator[OpenRouterFake]:
    with OpenRouterFake() as fake:
        yield fake


@pytest.fixture
def google_fake() -> Iterator[GoogleFake]:
    with GoogleFake() as fake:
        yield fake


@pytest.fixture
def openai_provider(openai_fake: OpenAIFake) -> OpenAIImagesProvider:
    return OpenAIImagesProvider(
        "test", base_url=f"{openai_fake.url}/v1", timeout=TIMEOUT, max_retries=0
    )


@pytest.fixture
def openrouter_provider(openrouter_fake: OpenRouterFake) -> OpenRouterProvider:
    return OpenRouterProvider(
        "test",
        model="google/gemini-2.5-flash-image",
        base_url=f"{openrouter_fake.url}/api/v1",
        http_referer="https://studio.example",
        app_title="Image Studio Tests",
        timeout=TIMEOUT,
        max_retries=0,
    )


def google_adapter(
    fake: GoogleFake, vertex: VertexAccess | None = None, **kw: object
) -> GoogleProvider:
    """Both families: the fake's Gemini API key, and its Vertex express key (or `vertex`)."""
    options: dict[str, object] = {"timeout": TIMEOUT, "max_retries": 0, "poll_interval": 0.01}
    options.update(kw)
    access = vertex or VertexAccess("express", api_key=fake.vertex_key)
    return GoogleProvider(fake.api_key, access, base_url=fake.url, **options)  # type: ignore[arg-type]


@pytest.fixture
def google_provider(google_fake: GoogleFake) -> GoogleProvider:
    return google_adapter(google_fake)
