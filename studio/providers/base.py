"""Types shared by every provider: requests, results, errors, models, the Provider protocol."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol

Mode = Literal["text_to_image", "image_to_image", "inpaint"]

# What each kind of request is called in the studio's words (pages, messages, the CLI).
MODE_LABELS = {
    "text_to_image": "image from text",
    "image_to_image": "edited image",
    "inpaint": "inpainted image",
    "text_to_video": "video from text",
    "image_to_video": "animated image",
}


def mode_label(mode: str, *, article: bool = False) -> str:
    """ "edited image", or with `article` "an edited image"."""
    label = MODE_LABELS.get(mode, mode.replace("_", " "))
    if not article:
        return label
    return ("an " if label[:1] in "aeiou" else "a ") + label


NO_IMAGE = "The provider returned no image."
NO_VIDEO = "The provider returned no video."


class ErrorClass(StrEnum):
    """What went wrong, as the queue sees it: only temporary, rate-limit and unknown errors are
    retried; the others fail the job at once."""

    TEMPORARY = "temporary"
    PERMANENT = "permanent"
    RATE_LIMIT = "rate_limit"
    AUTH = "auth"
    SAFETY = "safety"  # the provider refused the prompt or the picture
    OUT_OF_CREDITS = "out_of_credits"  # the account has no credits or quota left
    UNKNOWN = "unknown"

    @property
    def retried(self) -> bool:
        return self in (ErrorClass.TEMPORARY, ErrorClass.RATE_LIMIT, ErrorClass.UNKNOWN)


class ProviderError(Exception):
    """A provider call failed. `error_class` decides what the queue does next."""

    def __init__(
        self,
        error_class: ErrorClass | str,
        message: str,
        *,
        retry_after_s: float | None = None,
        provider: str | None = None,
    ) -> None:
        super().__init__(message)
        self.error_class = ErrorClass(error_class)
        self.message = message
        self.retry_after_s = retry_after_s
        self.provider = provider

    @property
    def safety(self) -> bool:
        """A safety refusal: permanent, and worth saying so to the user."""
        return self.error_class is ErrorClass.SAFETY


@dataclass(frozen=True)
class Turn:
    """An earlier exchange replayed as context: what was asked and what came back."""

    role: Literal["user", "assistant"]
    text: str
    image: bytes | None = None
    mime_type: str = "image/png"


@dataclass(frozen=True)
class ImageRequest:
    mode: Mode
    prompt: str
    negative_prompt: str | None = None
    width: int = 1024
    height: int = 1024
    seed: int | None = None
    strength: float = 0.6
    guidance: float | None = None
    steps: int | None = None
    n: int = 1
    quality: str | None = None
    aspect_ratio: str | None = None
    source: bytes | None = None
    mask: bytes | None = None  # studio convention: L-mode PNG, white = change
    context: list[Turn] = field(default_factory=list)
    conversation_id: str | None = None

    @classmethod
    def from_params(
        cls,
        mode: str,
        prompt: str,
        params: dict[str, Any],
        *,
        negative_prompt: str | None = None,
        source: bytes | None = None,
        mask: bytes | None = None,
    ) -> ImageRequest:
        """The request for a stored step or request: `params` as the studio records them
        (width, height, seed, strength, guidance, steps, n, quality, aspect_ratio)."""
        return cls(
            mode=mode,  # type: ignore[arg-type]
            prompt=prompt,
            negative_prompt=negative_prompt,
            width=int(params.get("width", 1024)),
            height=int(params.get("height", 1024)),
            seed=params.get("seed"),
            strength=float(params.get("strength", 0.6)),
            guidance=params.get("guidance"),
            steps=params.get("steps"),
            n=int(params.get("n", 1)),
            quality=params.get("quality"),
            aspect_ratio=params.get("aspect_ratio"),
            source=source,
            mask=mask,
        )


@dataclass
class ImageResult:
    images: list[bytes]
    mime_type: str = "image/png"
    text: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    cost_actual: float | None = None
    provider_request_id: str | None = None

    def require_images(self, provider: str | None = None) -> list[bytes]:
        """The images; a result without any is the provider's permanent failure."""
        if not self.images:
            raise ProviderError(ErrorClass.PERMANENT, NO_IMAGE, provider=provider)
        return self.images


@dataclass(frozen=True)
class VideoRequest:
    prompt: str
    source: bytes | None = None
    aspect_ratio: Literal["16:9", "9:16"] = "16:9"
    duration_s: int = 8
    resolution: Literal["720p", "1080p"] = "720p"
    negative_prompt: str | None = None
    seed: int | None = None
    mime_type: str | None = None  # of `source`; sniffed when None

    @classmethod
    def from_params(
        cls, prompt: str, params: dict[str, Any], *, source: bytes | None = None
    ) -> VideoRequest:
        """The request for a stored video request: `params` as the studio records them
        (aspect_ratio, duration_s, resolution, seed)."""
        return cls(
            prompt=prompt,
            source=source,
            aspect_ratio=params.get("aspect_ratio", "16:9"),
            duration_s=int(params.get("duration_s", 8)),
            resolution=params.get("resolution", "720p"),
            seed=params.get("seed"),
        )


@dataclass
class VideoResult:
    video: bytes
    mime_type: str = "video/mp4"
    usage: dict[str, Any] = field(default_factory=dict)
    cost_actual: float | None = None
    provider_request_id: str | None = None

    def require_video(self, provider: str | None = None) -> bytes:
        """The video; a result without one is the provider's permanent failure."""
        if not self.video:
            raise ProviderError(ErrorClass.PERMANENT, NO_VIDEO, provider=provider)
        return self.video


@dataclass(frozen=True)
class ModelInfo:
    """A model offered in the picker, with how its price is estimated."""

    id: str
    label: str
    kind: Literal["image", "video"] = "image"
    modes: tuple[str, ...] = ("text_to_image", "image_to_image", "inpaint")
    price_note: str = ""
    family: str = ""  # the credential group it belongs to: "gemini", "vertex", ...


Heartbeat = Callable[[], None]


class Provider(Protocol):
    """An adapter. Videos are long operations, split so the caller can store the operation's
    name before waiting for it (a crashed worker then resumes it instead of paying again):
    `start_video` submits and returns the operation's name, `finish_video` waits for it."""

    name: str
    label: str

    def models(self) -> list[ModelInfo]: ...

    def estimate_cost(self, model: str, request: ImageRequest | VideoRequest) -> float: ...

    def generate_image(self, model: str, request: ImageRequest) -> ImageResult: ...

    def start_video(self, model: str, request: VideoRequest) -> str: ...

    def finish_video(
        self,
        model: str,
        operation: str,
        request: VideoRequest,
        heartbeat: Heartbeat | None = None,
    ) -> VideoResult: ...


def generate_video(
    provider: Provider, model: str, request: VideoRequest, heartbeat: Heartbeat | None = None
) -> VideoResult:
    """Start a video and wait for it (callers that need not survive a crash)."""
    operation = provider.start_video(model, request)
    return provider.finish_video(model, operation, request, heartbeat)


class NoVideos:
    """For adapters whose models make only images."""

    name: str
    label: str

    def start_video(self, model: str, request: VideoRequest) -> str:
        raise ProviderError(
            ErrorClass.PERMANENT, f"{self.label} models do not make videos.", provider=self.name
        )

    def finish_video(
        self,
        model: str,
        operation: str,
        request: VideoRequest,
        heartbeat: Heartbeat | None = None,
    ) -> VideoResult:
        return self.start_video(model, request)  # type: ignore[return-value]
