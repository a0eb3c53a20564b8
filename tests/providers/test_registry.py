"""provider_statuses(): which providers and model families are on, exactly what is missing for
the others, and adapters built from settings (base URLs and credentials honoured)."""

from __future__ import annotations

from pathlib import Path

import pytest

from studio.config import Settings
from studio.providers.base import ImageRequest
from studio.providers.google import GoogleProvider
from studio.providers.openai_images import OpenAIImagesProvider
from studio.providers.openrouter import OpenRouterProvider
from studio.providers.registry import provider_statuses
from tests.providers.fakes import FAKE_PNG, GoogleFake, OpenAIFake, OpenRouterFake, write_adc_file

T2I = ImageRequest("text_to_image", "a lamp")
VERTEX_MISSING = (
    "Imagen and Veo need Vertex AI: set GOOGLE_CLOUD_PROJECT (and GOOGLE_CLOUD_LOCATION) with "
    "application default credentials, or a Vertex express-mode key in GOOGLE_VERTEX_API_KEY"
)


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(autouse=True)
def _no_ambient_google(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The machine's own Google settings must not leak into these tests."""
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GENERATIVE_AI_API_KEY", "GOOGLE_VERTEX_API_KEY",
                 "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION", "GOOGLE_APPLICATION_CREDENTIALS",
                 "K_SERVICE", "GAE_SERVICE", "GCE_METADATA_HOST"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "no-gcloud"))


def by_name(s: Settings) -> dict[str, object]:
    return {st.name: st for st in provider_statuses(s)}


def families(status: object) -> dict[str, tuple[bool, str]]:
    return {f.name: (f.available, f.reason) for f in status.families}  # type: ignore[attr-defined]


def test_without_keys_only_local_is_available_and_each_family_says_what_is_missing() -> None:
    statuses = provider_statuses(settings())
    assert [s.name for s in statuses] == ["local", "openai", "openrouter", "google"]
    assert statuses[0].available and statuses[0].provider is not None
    off = {s.name: s for s in statuses[1:]}
    assert off["openai"].reason == "OPENAI_API_KEY is not set"
    assert off["openrouter"].reason == "OPENROUTER_API_KEY is not set"
    assert families(off["google"]) == {
        "gemini": (
            False,
            "Gemini image models need a Gemini API key: set GOOGLE_API_KEY (from Google AI Studio)",
        ),
        "vertex": (False, VERTEX_MISSING),
    }
    assert all(not s.available and s.provider is None and s.models == [] for s in off.values())


def test_a_gemini_api_key_does_not_make_imagen_and_veo_look_available() -> None:
    google = by_name(settings(google_api_key="AIza-gemini"))["google"]
    assert google.available  # type: ignore[attr-defined]
    assert families(google) == {
        "gemini": (True, "Gemini API key set (GOOGLE_API_KEY)"),
        "vertex": (
            False,
            VERTEX_MISSING + " (the Gemini API key in GOOGLE_API_KEY does not work on Vertex AI)",
        ),
    }
    ids = {m.id for m in google.models}  # type: ignore[attr-defined]
    assert ids == {"gemini-2.5-flash-image", "gemini-3.1-flash-image"}


def test_a_vertex_express_key_in_google_api_key_does_not_make_gemini_look_available() -> None:
    google = by_name(settings(google_api_key="AQ.express-key"))["google"]
    available, reason = families(google)["gemini"]
    assert not available and "move it to GOOGLE_VERTEX_API_KEY" in reason
    assert not google.available and google.models == []  # type: ignore[attr-defined]


def test_vertex_express_key_turns_imagen_and_veo_on() -> None:
    google = by_name(settings(google_vertex_api_key="AQ.express"))["google"]
    assert families(google)["vertex"] == (True, "Vertex AI express mode (GOOGLE_VERTEX_API_KEY)")
    assert not families(google)["gemini"][0]
    kinds = {(m.family, m.kind) for m in google.models}  # type: ignore[attr-defined]
    assert kinds == {("vertex", "image"), ("vertex", "video")}


def test_vertex_project_needs_application_default_credentials(tmp_path: Path) -> None:
    google = by_name(settings(google_cloud_project="p"))["google"]
    available, reason = families(google)["vertex"]
    assert not available
    assert (
        "GOOGLE_CLOUD_PROJECT=p is set, but no application default credentials were found" in reason
    )
    missing = by_name(
        settings(google_cloud_project="p", google_application_credentials=str(tmp_path / "x.json"))
    )
    assert (
        "GOOGLE_APPLICATION_CREDENTIALS names no file" in families(missing["google"])["vertex"][1]
    )
    adc = tmp_path / "adc.json"
    adc.write_text("{}")
    on = by_name(
        settings(
            google_cloud_project="p",
            google_cloud_location="europe-west4",
            google_application_credentials=str(adc),
        )
    )
    assert families(on["google"])["vertex"] == (
        True,
        f"Vertex AI project p in europe-west4, credentials from {adc}",
    )
    gcloud = tmp_path / "gcloud"
    gcloud.mkdir()
    (gcloud / "application_default_credentials.json").write_text("{}")
    found = by_name(settings(google_cloud_project="p", cloudsdk_config=str(gcloud)))
    assert families(found["google"])["vertex"][0]


def test_blank_key_counts_as_missing() -> None:
    statuses = by_name(settings(openai_api_key="  ", google_vertex_api_key=" "))
    assert not statuses["openai"].available  # type: ignore[attr-defined]
    assert not statuses["google"].available  # type: ignore[attr-defined]


def test_keys_turn_adapters_on() -> None:
    statuses = by_name(
        settings(
            openai_api_key="a",
            openrouter_api_key="b",
            google_api_key="c",
            google_vertex_api_key="d",
        )
    )
    for name, cls in [
        ("openai", OpenAIImagesProvider),
        ("openrouter", OpenRouterProvider),
        ("google", GoogleProvider),
    ]:
        status = statuses[name]
        assert status.available and isinstance(status.provider, cls), name  # type: ignore[attr-defined]
        assert status.models, name  # type: ignore[attr-defined]
        assert all(f.available for f in status.families), name  # type: ignore[attr-defined]


def test_google_key_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEMINI_API_KEY", "from-gemini-env")
    monkeypatch.setenv("GOOGLE_VERTEX_API_KEY", "from-vertex-env")
    google = by_name(Settings(_env_file=None))["google"]  # type: ignore[call-arg]
    assert all(f.available for f in google.families)  # type: ignore[attr-defined]


def test_registry_adapters_use_the_configured_base_urls_and_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        OpenAIFake(api_key="sk-a") as oa,
        OpenRouterFake(api_key="or-b") as orf,
        GoogleFake(api_key="g-c", vertex_key="v-d") as gf,
    ):
        statuses = by_name(
            settings(
                openai_api_key="sk-a",
                openai_base_url=f"{oa.url}/v1",
                openrouter_api_key="or-b",
                openrouter_base_url=f"{orf.url}/api/v1",
                openrouter_model="google/gemini-3.1-flash-image",
                openrouter_http_referer="https://studio.example/app",
                openrouter_app_title="My Studio",
                google_api_key="g-c",
                google_vertex_api_key="v-d",
                google_base_url=gf.url,
            )
        )
        assert statuses["openai"].provider.generate_image("gpt-image-1-mini", T2I).images == [
            FAKE_PNG
        ]  # type: ignore[attr-defined]
        assert oa.last().headers["authorization"] == "Bearer sk-a"

        openrouter = statuses["openrouter"].provider  # type: ignore[attr-defined]
        assert openrouter.models()[0].id == "google/gemini-3.1-flash-image"
        openrouter.generate_image(openrouter.models()[0].id, T2I)
        req = orf.last()
        assert req.headers["http-referer"] == "https://studio.example/app"
        assert req.headers["x-openrouter-title"] == "My Studio"
        assert req.json["model"] == "google/gemini-3.1-flash-image"

        google = statuses["google"].provider  # type: ignore[attr-defined]
        assert google.generate_image("gemini-2.5-flash-image", T2I).images == [FAKE_PNG]
        assert google.generate_image("imagen-4.0-generate-001", T2I).images == [FAKE_PNG]
        keys = {r.route.split("/")[1]: r.headers["x-goog-api-key"] for r in gf.requests}
        assert keys == {"v1beta": "g-c", "v1beta1": "v-d"}  # each host its own key

        # Vertex through a project and application default credentials
        monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", write_adc_file(tmp_path, gf))
        project = by_name(settings(google_cloud_project="p", google_base_url=gf.url))["google"]
        assert project.provider.generate_image("imagen-4.0-fast-generate-001", T2I).images == [
            FAKE_PNG
        ]  # type: ignore[attr-defined]
        assert gf.last(":predict").headers["authorization"] == "Bearer ya29.fake-token"
