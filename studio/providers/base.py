"""Types shared by every provider (DESIGN §5)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, Protocol

Mode = Literal["text_to_image", "image_to_image", "inpaint"]


class ErrorClass(StrEnum):
    TEMPORARY = "temporary"
    PERMANENT = "permanent"
    RATE_LIMIT = "rate_limit"
    AUTH = "auth"
    UNKNOWN = "unknown"


class ProviderError(Exception):
    """A provider call failed. `error_class` decides what the queue does next."""

    def __init__(
        self,
        error_class: ErrorClass | str,
        message: str,
        *,
        retry_after_s: float | None = None,
        safety: bool = False,
        provider: str | None = None,
    ) -> None:
        super().__init__(message)
        self.error_class = ErrorClass(error_class)
        self.message = message
        self.retry_after_s = retry_after_s
        self.safety = safety
        self.provider = provider


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


@dataclass
class ImageResult:
    images: list[bytes]
    mime_type: str = "image/png"
    text: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    cost_actual: float | None = None
    provider_request_id: str | None = None


@dataclass(frozen=True)
class VideoRequest:
    prompt: str
    source: bytes | None = None
    aspect_ratio: Literal["16:9", "9:16"] = "16:9"
    duration_s: int = 8
    resolution: Literal["720p", "1080p"] = "720p"
    negative_prompt: str | None = None
    seed: int | None = None


@dataclass
class VideoResult:
    video: bytes
    mime_type: str = "video/mp4"
    usage: dict[str, Any] = field(default_factory=dict)
    cost_actual: float | None = None
    provider_request_id: str | None = None


@dataclass(frozen=True)
class ModelInfo:
    """A model offered in the picker, with how its price is estimated."""

    id: str
    label: str
    kind: Literal["image", "video"] = "image"
    modes: tuple[str, ...] = ("text_to_image", "image_to_image", "inpaint")
    price_note: str = ""


Heartbeat = Callable[[], None]


class Provider(Protocol):
    name: str
    label: str

    def models(self) -> list[ModelInfo]: ...

    def estimate_cost(self, model: str, request: ImageRequest | VideoRequest) -> float: ...

    def generate_image(self, model: str, request: ImageRequest) -> ImageResult: ...

    def generate_video(
        self, model: str, request: VideoRequest, heartbeat: Heartbeat | None = None
    ) -> VideoResult: ...
