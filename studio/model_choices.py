"""What the model picker offers: every usable model with its estimated price, and the
providers that are off with the reason. No Streamlit here, so tests reach it."""

from __future__ import annotations

from dataclasses import dataclass

from studio.errors import Invalid
from studio.providers.base import ImageRequest, ModelInfo, Provider, VideoRequest, mode_label
from studio.providers.registry import ProviderStatus

# The picker quotes the price of one square 1024² image, or of one second of video.
_QUOTE_IMAGE = ImageRequest(mode="text_to_image", prompt="", width=1024, height=1024, n=1)
_QUOTE_VIDEO = VideoRequest(prompt="", duration_s=1)


@dataclass(frozen=True)
class ModelChoice:
    provider: str
    provider_label: str
    model: str
    label: str
    kind: str
    modes: tuple[str, ...]
    price_note: str
    estimate: float | None  # USD per 1024² image, or per second of video; None if unknown

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.model}"

    @property
    def price(self) -> str:
        """'free', '≈ $0.040 / image', '≈ $0.50 / s', or the provider's note when unknown."""
        if self.estimate is None:
            return self.price_note or "price unknown"
        if self.estimate == 0:
            return "free"
        unit = "s" if self.kind == "video" else "image"
        return f"≈ ${self.estimate:.3f} / {unit}"

    @property
    def title(self) -> str:
        return f"{self.provider_label} · {self.label} — {self.price}"


@dataclass(frozen=True)
class UnavailableProvider:
    """A provider, or one model family of it, that is off, with exactly what is missing."""

    name: str
    label: str
    reason: str


def _quote(status: ProviderStatus, info: ModelInfo) -> float | None:
    assert status.provider is not None
    request = _QUOTE_VIDEO if info.kind == "video" else _QUOTE_IMAGE
    try:
        return float(status.provider.estimate_cost(info.id, request))
    except Exception:  # an unknown price must not hide the model
        return None


def model_choices(
    statuses: list[ProviderStatus], *, kind: str = "image", mode: str | None = None
) -> tuple[list[ModelChoice], list[UnavailableProvider]]:
    """The models of `kind` (that can do `mode`, if given) of every provider that is on, in
    picker order, and the providers and model families that are off with why."""
    choices: list[ModelChoice] = []
    off: list[UnavailableProvider] = []
    for status in statuses:
        off_families = [f for f in status.families if not f.available]
        if len(status.families) > 1:
            off += [
                UnavailableProvider(status.name, f"{status.label} · {f.label}", f.reason)
                for f in off_families
            ]
        elif off_families or not status.available:
            off.append(UnavailableProvider(status.name, status.label, status.reason))
        if not status.available or status.provider is None:
            continue
        for info in status.models:
            if info.kind != kind or (mode is not None and mode not in info.modes):
                continue
            choices.append(
                ModelChoice(
                    provider=status.name,
                    provider_label=status.label,
                    model=info.id,
                    label=info.label,
                    kind=info.kind,
                    modes=tuple(info.modes),
                    price_note=info.price_note,
                    estimate=_quote(status, info),
                )
            )
    return choices, off


def resolve_model(
    statuses: list[ProviderStatus],
    *,
    kind: str,
    mode: str,
    provider: str,
    model: str | None = None,
    preferred_model: str | None = None,
) -> tuple[Provider, ModelInfo]:
    """The provider and model a request will use, checked: the provider exists and is on, the
    model is one of its models of `kind` and can do `mode`. Without `model`, the provider's
    `preferred_model` when it can, else its first model that can. Raises Invalid saying what
    to choose instead."""
    status = next((s for s in statuses if s.name == provider), None)
    if status is None:
        raise Invalid(f"Unknown provider {provider!r}.")
    if not status.available or status.provider is None:
        raise Invalid(f"The provider {status.label} is off: {status.reason}.")
    offered = status.models
    if model is None:
        usable = [m for m in offered if m.kind == kind and mode in m.modes]
        if not usable:
            raise Invalid(f"{status.label} cannot make {mode_label(mode, article=True)}.")
        return status.provider, next((m for m in usable if m.id == preferred_model), usable[0])
    info = next((m for m in offered if m.id == model), None)
    if info is None:
        choices = ", ".join(m.id for m in offered if m.kind == kind) or "none"
        off = "".join(
            f" {f.label} are off: {f.reason}." for f in status.families if not f.available
        )
        raise Invalid(f"{status.label} has no model {model!r}; choose one of: {choices}.{off}")
    if info.kind != kind:
        raise Invalid(f"{info.label} makes {info.kind}s, not {kind}s; choose another model.")
    if mode not in info.modes:
        raise Invalid(
            f"{info.label} cannot make {mode_label(mode, article=True)}; choose another model."
        )
    return status.provider, info


def default_choice(
    choices: list[ModelChoice], provider: str | None, model: str | None = None
) -> int:
    """Index of the model to preselect: the exact one, else the provider's first, else 0."""
    for i, c in enumerate(choices):
        if c.provider == provider and c.model == model:
            return i
    for i, c in enumerate(choices):
        if c.provider == provider:
            return i
    return 0
