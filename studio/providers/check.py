"""`studio providers check`: ask every configured provider, with its real credentials, which
models it serves; one cheap authenticated call (a models list) per provider and credential.

Each model family gets a line: credential accepted or refused (with the provider's reason), or
no answer; then each model the studio offers in it: listed or not, and its price with the price
table's source and date. No database, no storage, nothing billed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from studio.providers import pricing
from studio.providers.base import ErrorClass, ModelInfo, ProviderError
from studio.providers.registry import FamilyStatus, ProviderStatus


@dataclass(frozen=True)
class ModelCheck:
    id: str
    label: str
    listed: bool
    price: str


@dataclass(frozen=True)
class FamilyCheck:
    provider: str
    label: str
    configured: bool
    accepted: bool  # the credential was accepted
    answered: bool  # the provider answered at all (accepted, or refused with a reason)
    reason: str
    models: tuple[ModelCheck, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        return not self.configured or self.accepted


def _price(provider: str, model: ModelInfo) -> str:
    try:
        price = pricing.price_for(provider, model.id)
    except pricing.UnknownPrice:
        return "price unknown"
    return f"{price.note} (source: {price.source}, checked {price.checked})"


def _family(
    status: ProviderStatus, family: FamilyStatus, ask: Callable[[], set[str]]
) -> FamilyCheck:
    label = f"{status.label} · {family.label}" if len(status.families) > 1 else status.label
    if not family.available:
        return FamilyCheck(status.name, label, False, False, False, f"off: {family.reason}")
    try:
        listed = ask()
    except ProviderError as err:
        answered = err.error_class not in (ErrorClass.TEMPORARY, ErrorClass.UNKNOWN)
        what = "refused" if err.error_class is ErrorClass.AUTH else "failed"
        reason = f"credential {what}: {err.message}" if answered else f"no answer: {err.message}"
        return FamilyCheck(status.name, label, True, False, answered, reason)
    models = tuple(
        ModelCheck(m.id, m.label, m.id in listed, _price(status.name, m))
        for m in status.models
        if m.family == family.name or len(status.families) == 1
    )
    missing = [m.id for m in models if not m.listed]
    reason = "credential accepted" + (
        f"; not listed for this account: {', '.join(missing)}" if missing else ""
    )
    return FamilyCheck(status.name, label, True, True, True, reason, models)


def check_providers(statuses: list[ProviderStatus]) -> list[FamilyCheck]:
    """One FamilyCheck per model family of every keyed provider (the offline renderer needs no
    check)."""
    checks: list[FamilyCheck] = []
    for status in statuses:
        if status.name == "local":
            continue
        provider = status.provider
        for family in status.families:
            if provider is None:
                ask: Callable[[], set[str]] = set
            elif status.name == "google":
                ask = partial(provider.available_models, family.name)  # type: ignore[attr-defined]
            else:
                ask = provider.available_models  # type: ignore[attr-defined]
            checks.append(_family(status, family, ask))
    return checks


def report(checks: list[FamilyCheck]) -> tuple[list[str], int]:
    """The lines `studio providers check` prints, and its exit status: 0 when every configured
    credential was accepted, 1 otherwise (refused, or no answer)."""
    lines: list[str] = []
    for c in checks:
        mark = "ok " if c.accepted else ("-- " if not c.configured else "!! ")
        lines.append(f"{mark}{c.label}: {c.reason}")
        for m in c.models:
            state = "available" if m.listed else "NOT listed"
            lines.append(f"     {m.id} ({m.label}): {state}; {m.price}")
    configured = [c for c in checks if c.configured]
    if not configured:
        lines.append("No provider is configured: only the offline renderer is on.")
    return lines, 0 if all(c.ok for c in checks) else 1
