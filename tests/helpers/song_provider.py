"""A scripted image provider for the song tests: the offline renderer, plus a record of every
request, an optional delay (to make calls overlap) and failures on demand."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from studio.providers.base import ImageRequest, ImageResult, ProviderError
from studio.providers.local import LocalProvider
from studio.providers.registry import ProviderStatus
from studio.services import Services


@dataclass
class Call:
    request: ImageRequest
    started: float
    finished: float = 0.0

    @property
    def marker(self) -> str | None:
        """The `S<song>V<verse>` marker the tests put in verse texts."""
        found = re.findall(r"\bS(\d+)V(\d+)\b", self.request.prompt)
        return f"S{found[-1][0]}V{found[-1][1]}" if found else None


@dataclass
class ScriptedProvider:
    """Behaves like the offline renderer; `fail_when(request)` returns an error message to
    fail that call permanently (or None), `delay` seconds are slept inside each call."""

    delay: float = 0.0
    fail_when: Callable[[ImageRequest], str | None] | None = None
    calls: list[Call] = field(default_factory=list)
    name: str = "local"
    label: str = "Offline renderer"
    _inner: LocalProvider = field(default_factory=LocalProvider)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def models(self):  # type: ignore[no-untyped-def]
        return self._inner.models()

    def estimate_cost(self, model, request):  # type: ignore[no-untyped-def]
        return 0.0

    def generate_image(self, model: str, request: ImageRequest) -> ImageResult:
        call = Call(request, time.monotonic())
        with self._lock:
            self.calls.append(call)
        try:
            if self.delay:
                time.sleep(self.delay)
            message = self.fail_when(request) if self.fail_when else None
            if message:
                raise ProviderError("permanent", message, provider=self.name)
            small = ImageRequest(**{**request.__dict__, "width": 64, "height": 36})
            return self._inner.generate_image(model, small)
        finally:
            call.finished = time.monotonic()

    def start_video(self, model, request):  # type: ignore[no-untyped-def]
        raise ProviderError("permanent", "no videos here")

    def finish_video(self, model, operation, request, heartbeat=None):  # type: ignore[no-untyped-def]
        raise ProviderError("permanent", "no videos here")


def use_provider(services: Services, provider: ScriptedProvider) -> ScriptedProvider:
    """Put `provider` in place of the offline renderer of `services`."""
    services.providers = [
        ProviderStatus(provider.name, provider.label, True, "scripted for tests", provider)
        if status.name == provider.name
        else status
        for status in services.providers
    ]
    return provider
