"""Settings: every environment variable the studio reads, typed, with defaults.

This is the only module that reads the environment (and `.env`). Everything else receives a
`Settings` instance, so tests build one with the values they need.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MB = 1024 * 1024


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


def parse_caps(text: str) -> dict[tuple[str, str], int]:
    """ "kind:storyboard_video=1, provider:openai=5" as {("kind", "storyboard_video"): 1, …}."""
    caps: dict[tuple[str, str], int] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        target, _, number = item.partition("=")
        scope, _, name = target.strip().partition(":")
        if scope not in ("kind", "provider") or not name or not number.strip().isdigit():
            raise ValueError(f"a cap is kind:NAME=N or provider:NAME=N, not {item!r}")
        if int(number) < 1:
            raise ValueError(f"a cap is at least 1: {item!r}")
        caps[(scope, name.strip())] = int(number)
    return caps


# The one user of the local demo (no sign-in): every row it makes is owned by this id.
DEMO_OWNER = "local"


class Settings(BaseSettings):
    """The studio's configuration. Field docs are shown on the Home page and in the README."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    # --- where things live -------------------------------------------------------------
    database_url: str = Field(
        "sqlite:///var/studio.db",
        validation_alias=_env("STUDIO_DATABASE_URL", "database_url"),
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host/db",
    )
    storage_url: str = Field(
        "var/media",
        validation_alias=_env("STUDIO_STORAGE_URL", "storage_url"),
        description="A folder for files on disk, or s3://bucket[/prefix] for S3-compatible storage",
    )
    s3_endpoint_url: str | None = Field(
        None,
        validation_alias=_env("STUDIO_S3_ENDPOINT_URL", "s3_endpoint_url"),
        description="Endpoint of an S3-compatible store (MinIO, R2, Supabase); empty for AWS",
    )
    s3_region: str | None = Field(
        None,
        validation_alias=_env("STUDIO_S3_REGION", "s3_region"),
        description="Region of the S3 bucket (R2: auto); empty: AWS_DEFAULT_REGION or the profile",
    )
    media_url_seconds: int = Field(
        900,
        ge=600,
        le=7 * 24 * 3600,
        validation_alias=_env("STUDIO_MEDIA_URL_SECONDS", "media_url_seconds"),
        description="S3 storage: how long the presigned links pages hand the browser stay valid",
    )
    sessions_bucket: str = Field(
        "session-assets", validation_alias=_env("STUDIO_SESSIONS_BUCKET", "sessions_bucket")
    )
    verse_illustrations_bucket: str = Field(
        "verse-illustrations",
        validation_alias=_env(
            "STUDIO_VERSE_ILLUSTRATIONS_BUCKET",
            "SUPABASE_VERSE_ILLUSTRATIONS_BUCKET",
            "verse_illustrations_bucket",
        ),
    )
    storyboard_images_bucket: str = Field(
        "storyboard-images",
        validation_alias=_env("STUDIO_STORYBOARD_IMAGES_BUCKET", "storyboard_images_bucket"),
    )
    storyboard_videos_bucket: str = Field(
        "storyboard-videos",
        validation_alias=_env("STUDIO_STORYBOARD_VIDEOS_BUCKET", "storyboard_videos_bucket"),
    )

    # --- behaviour ---------------------------------------------------------------------
    default_provider: str = Field(
        "local", validation_alias=_env("STUDIO_DEFAULT_PROVIDER", "default_provider")
    )
    embedded_worker: bool = Field(
        True,
        validation_alias=_env("STUDIO_EMBEDDED_WORKER", "embedded_worker"),
        description="Run a worker thread inside the app (the local demo)",
    )
    stale_job_seconds: int = Field(
        300,
        ge=1,
        validation_alias=_env("STUDIO_STALE_JOB_SECONDS", "stale_job_seconds"),
        description="A running job with no heartbeat for this long is cleared automatically",
    )
    lease_seconds: int = Field(
        60, ge=1, validation_alias=_env("STUDIO_LEASE_SECONDS", "lease_seconds")
    )
    max_attempts: int = Field(3, ge=1, validation_alias=_env("STUDIO_MAX_ATTEMPTS", "max_attempts"))
    video_poll_seconds: float = Field(
        10.0,
        gt=0,
        validation_alias=_env("STUDIO_VIDEO_POLL_SECONDS", "video_poll_seconds"),
        description="How often a worker asks the provider whether a video is ready",
    )
    trash_days: int = Field(
        7,
        ge=0,
        le=3650,
        validation_alias=_env("STUDIO_TRASH_DAYS", "trash_days"),
        description="How long deleted sessions, steps, songs and storyboards can be restored",
    )
    retention_days: int | None = Field(
        None,
        ge=1,
        validation_alias=_env("STUDIO_RETENTION_DAYS", "retention_days"),
        description="studio prune: drop finished jobs and failed steps' inputs older than this",
    )
    queue_caps: str = Field(
        "",
        validation_alias=_env("STUDIO_QUEUE_CAPS", "queue_caps"),
        description=(
            "Jobs run at once per kind or provider, across all workers, e.g. "
            "kind:storyboard_video=1,provider:openai=5 (editors can change them on the Jobs page)"
        ),
    )
    log_format: str = Field(
        "text",
        pattern="^(text|json)$",
        validation_alias=_env("STUDIO_LOG_FORMAT", "log_format"),
        description="text, or json: one JSON line per job transition and provider call",
    )
    admins: str = Field(
        "",
        validation_alias=_env("STUDIO_ADMINS", "admins"),
        description="Comma-separated admin emails (sign-in on; matched only when the provider "
        "says the email is verified)",
    )
    cli_owner: str = Field(
        DEMO_OWNER,
        min_length=1,
        max_length=200,
        validation_alias=_env("STUDIO_CLI_OWNER", "cli_owner"),
        description="The user the `studio` command acts as (its --owner default): an owner id "
        "as the studio's sidebar shows it",
    )

    # --- limits ------------------------------------------------------------------------
    max_upload_bytes: int = Field(
        20 * MB, ge=1, validation_alias=_env("STUDIO_MAX_UPLOAD_BYTES", "max_upload_bytes")
    )
    max_image_pixels: int = Field(
        40_000_000, ge=1, validation_alias=_env("STUDIO_MAX_IMAGE_PIXELS", "max_image_pixels")
    )
    max_image_side: int = Field(
        8192, ge=1, validation_alias=_env("STUDIO_MAX_IMAGE_SIDE", "max_image_side")
    )
    max_prompt_chars: int = Field(
        4000, ge=1, validation_alias=_env("STUDIO_MAX_PROMPT_CHARS", "max_prompt_chars")
    )
    generations_per_hour: int = Field(
        120, ge=1, validation_alias=_env("STUDIO_GENERATIONS_PER_HOUR", "generations_per_hour")
    )
    running_jobs_per_user: int = Field(
        8, ge=1, validation_alias=_env("STUDIO_RUNNING_JOBS_PER_USER", "running_jobs_per_user")
    )
    daily_budget_usd: float = Field(
        10.0, ge=0, validation_alias=_env("STUDIO_DAILY_BUDGET_USD", "daily_budget_usd")
    )

    # --- providers ---------------------------------------------------------------------
    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    openai_base_url: str | None = Field(None, validation_alias=_env("OPENAI_BASE_URL"))
    openrouter_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENROUTER_API_KEY"))
    openrouter_model: str = Field(
        "google/gemini-2.5-flash-image", validation_alias=_env("OPENROUTER_MODEL")
    )
    openrouter_base_url: str = Field(
        "https://openrouter.ai/api/v1", validation_alias=_env("OPENROUTER_BASE_URL")
    )
    openrouter_http_referer: str | None = Field(
        None, validation_alias=_env("OPENROUTER_HTTP_REFERER")
    )
    openrouter_app_title: str = Field("Image Studio", validation_alias=_env("OPENROUTER_APP_TITLE"))
    google_api_key: SecretStr | None = Field(
        None,
        validation_alias=_env("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GENERATIVE_AI_API_KEY"),
        description="Gemini API key (Google AI Studio): the Gemini image models only",
    )
    google_base_url: str | None = Field(
        None,
        validation_alias=_env("GOOGLE_BASE_URL"),
        description="Override of the Gemini API's address (and Vertex AI's, unless set below)",
    )
    google_vertex_api_key: SecretStr | None = Field(
        None,
        validation_alias=_env("GOOGLE_VERTEX_API_KEY"),
        description="Vertex AI express-mode API key: Imagen and Veo",
    )
    google_cloud_project: str | None = Field(
        None,
        validation_alias=_env("GOOGLE_CLOUD_PROJECT"),
        description="Vertex AI project for Imagen and Veo (with application default credentials)",
    )
    google_cloud_location: str = Field(
        "us-central1",
        validation_alias=_env("GOOGLE_CLOUD_LOCATION"),
        description="Vertex AI region for Imagen and Veo",
    )
    google_application_credentials: str | None = Field(
        None,
        validation_alias=_env("GOOGLE_APPLICATION_CREDENTIALS"),
        description="Application default credentials file (else gcloud's, or the metadata server)",
    )
    google_vertex_base_url: str | None = Field(
        None, validation_alias=_env("GOOGLE_VERTEX_BASE_URL")
    )
    cloudsdk_config: str | None = Field(None, validation_alias=_env("CLOUDSDK_CONFIG"))
    google_cloud_runtime: str | None = Field(
        None, validation_alias=_env("K_SERVICE", "GAE_SERVICE", "GCE_METADATA_HOST")
    )

    @field_validator("queue_caps")
    @classmethod
    def _caps_parse(cls, v: str) -> str:
        parse_caps(v)
        return v

    def caps(self) -> dict[tuple[str, str], int]:
        """STUDIO_QUEUE_CAPS as {(scope, name): cap}: scope "kind" or "provider"."""
        return parse_caps(self.queue_caps)

    @field_validator(
        "openai_api_key",
        "openrouter_api_key",
        "google_api_key",
        "google_vertex_api_key",
        "google_cloud_project",
        "google_application_credentials",
        "retention_days",
        mode="before",
    )
    @classmethod
    def _blank_key_is_none(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v

    def google_adc(self) -> str | None:
        """Where application default credentials would come from, found without any network:
        GOOGLE_APPLICATION_CREDENTIALS, gcloud's well-known file, or a Google Cloud runtime's
        metadata server. None when there are none."""
        if self.google_application_credentials:
            path = Path(self.google_application_credentials)
            return str(path) if path.is_file() else None
        folder = (
            Path(self.cloudsdk_config) if self.cloudsdk_config else Path.home() / ".config/gcloud"
        )
        well_known = folder / "application_default_credentials.json"
        if well_known.is_file():
            return str(well_known)
        if self.google_cloud_runtime:
            return "the Google Cloud metadata server"
        return None
