"""`studio providers check` against the fakes: one authenticated models list per credential, a
line per model family (accepted or refused with the provider's reason, models, prices)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from studio.cli import main
from tests.providers.fakes import GoogleFake, OpenAIFake, OpenRouterFake, write_adc_file

ENV = (
    "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENROUTER_API_KEY", "OPENROUTER_BASE_URL",
    "GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GENERATIVE_AI_API_KEY", "GOOGLE_VERTEX_API_KEY",
    "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION", "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_BASE_URL", "GOOGLE_VERTEX_BASE_URL", "K_SERVICE", "GAE_SERVICE", "GCE_METADATA_HOST",
)  # fmt: skip


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "no-gcloud"))
    monkeypatch.chdir(tmp_path)  # no .env file of the developer's
    yield monkeypatch


@pytest.fixture
def fakes() -> Iterator[tuple[OpenAIFake, OpenRouterFake, GoogleFake]]:
    with OpenAIFake() as oa, OpenRouterFake() as orf, GoogleFake() as gf:
        yield oa, orf, gf


def configure(env: pytest.MonkeyPatch, oa: OpenAIFake, orf: OpenRouterFake, gf: GoogleFake) -> None:
    env.setenv("OPENAI_API_KEY", oa.api_key)
    env.setenv("OPENAI_BASE_URL", f"{oa.url}/v1")
    env.setenv("OPENROUTER_API_KEY", orf.api_key)
    env.setenv("OPENROUTER_BASE_URL", f"{orf.url}/api/v1")
    env.setenv("GOOGLE_API_KEY", gf.api_key)
    env.setenv("GOOGLE_VERTEX_API_KEY", gf.vertex_key)
    env.setenv("GOOGLE_BASE_URL", gf.url)


def run(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(["providers", "check"])
    return status, capsys.readouterr().out


def test_every_configured_provider_answers(
    env: pytest.MonkeyPatch,
    fakes: tuple[OpenAIFake, OpenRouterFake, GoogleFake],
    capsys: pytest.CaptureFixture[str],
) -> None:
    oa, orf, gf = fakes
    configure(env, oa, orf, gf)
    status, out = run(capsys)
    assert status == 0, out
    assert "ok OpenAI: credential accepted" in out
    assert "ok OpenRouter: credential accepted" in out
    assert "ok Google · Gemini image models: credential accepted" in out
    assert "ok Google · Imagen and Veo: credential accepted" in out
    assert (
        "gpt-image-2 (GPT Image 2): available; tokens: text in $5, image in $8, image out $30 per 1M"
        in out
    )
    assert "veo-3.1-fast-generate-preview (Veo 3.1 Fast): available; $0.15 per second" in out
    assert "gemini-3.1-flash-image (Gemini 3.1 Flash Image): available" in out
    assert "checked 2026-12-01" in out and "https://ai.google.dev/gemini-api/docs/pricing" in out
    # one cheap authenticated call per credential, nothing generated
    assert [r.route for r in oa.requests] == ["/v1/models"]
    assert [r.route for r in orf.requests] == ["/api/v1/models/user"]
    assert orf.requests[0].headers["authorization"] == "Bearer test"
    assert sorted(r.route for r in gf.requests) == [
        "/v1beta/models",
        "/v1beta1/publishers/google/models",
    ]


def test_refused_keys_say_why_and_fail_the_check(
    env: pytest.MonkeyPatch,
    fakes: tuple[OpenAIFake, OpenRouterFake, GoogleFake],
    capsys: pytest.CaptureFixture[str],
) -> None:
    oa, orf, gf = fakes
    configure(env, oa, orf, gf)
    env.setenv("OPENAI_API_KEY", "sk-wrong")
    env.setenv("GOOGLE_API_KEY", gf.vertex_key)  # a Vertex key where the Gemini API key goes
    env.setenv("GOOGLE_VERTEX_API_KEY", gf.api_key)  # and the Gemini key for Vertex
    status, out = run(capsys)
    assert status == 1
    assert (
        "!! OpenAI: credential refused: OpenAI refused the credentials: Incorrect API key provided."
        in out
    )
    assert (
        "!! Google · Gemini image models: credential refused: Google refused the credentials: API key not valid"
        in out
    )
    assert (
        "!! Google · Imagen and Veo: credential refused: Google refused the credentials: API keys are not supported by this API"
        in out
    )
    assert "ok OpenRouter: credential accepted" in out


def test_an_unreachable_provider_fails_the_check_and_unconfigured_families_are_listed(
    env: pytest.MonkeyPatch, fakes: tuple[OpenAIFake, OpenRouterFake, GoogleFake],
    capsys: pytest.CaptureFixture[str], tmp_path: Path,
) -> None:  # fmt: skip
    oa, orf, gf = fakes
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    env.setenv("OPENAI_API_KEY", "test")
    env.setenv("OPENAI_BASE_URL", f"http://127.0.0.1:{closed}/v1")
    env.setenv("GOOGLE_API_KEY", gf.api_key)
    env.setenv("GOOGLE_BASE_URL", gf.url)
    status, out = run(capsys)
    assert status == 1
    assert "!! OpenAI: no answer: Could not reach the provider" in out
    assert "-- OpenRouter: off: OPENROUTER_API_KEY is not set" in out
    assert (
        "-- Google · Imagen and Veo: off: Imagen and Veo need Vertex AI: set GOOGLE_CLOUD_PROJECT"
        in out
    )
    assert "ok Google · Gemini image models: credential accepted" in out

    # Vertex through a project and application default credentials answers too.
    env.delenv("OPENAI_API_KEY")
    env.setenv("GOOGLE_CLOUD_PROJECT", gf.project)
    env.setenv("GOOGLE_APPLICATION_CREDENTIALS", write_adc_file(tmp_path, gf))
    status, out = run(capsys)
    assert status == 0, out
    assert "ok Google · Imagen and Veo: credential accepted" in out
    assert gf.last("/publishers/google/models").headers["authorization"] == "Bearer ya29.fake-token"


def test_nothing_configured(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys)
    assert status == 0
    assert "No provider is configured: only the offline renderer is on." in out
