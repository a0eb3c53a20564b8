"""What the queue tells operators: one log event per job transition and per provider call, and
the Prometheus metrics that count them (studio/jobs/metrics.py).

Every event goes to the `studio.events` logger with its fields in `record.fields`: the job, its
kind, owner, attempt, worker and provider, the subject ids its payload names (generation,
song and verse, storyboard, …) plus any a handler adds with `annotate` (session and step,
storyboard and entity), the stage, and per event a duration, an error class, a provider request
id or a cost. With STUDIO_LOG_FORMAT=json (`configure_logging`) each record is one JSON line;
plain text stays the default.

A provider call made while a job runs carries that job's fields: the worker sets them for its
thread (`job_scope`), and `observed` wraps a provider so each call is timed and logged.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from studio.jobs import metrics
from studio.jobs.statements import ClaimedJob
from studio.providers.base import (
    Heartbeat,
    ImageRequest,
    ImageResult,
    ModelInfo,
    Provider,
    ProviderError,
    VideoRequest,
    VideoResult,
)

log = logging.getLogger("studio.events")

_job: ContextVar[dict[str, Any] | None] = ContextVar("studio_job", default=None)


def subject_ids(payload: dict[str, Any] | None) -> dict[str, Any]:
    """The ids a payload names (keys ending in _id or _ids, and a verse number): what the job is
    about, without the queue knowing what those are."""
    out: dict[str, Any] = {}
    for key, value in (payload or {}).items():
        if key.endswith("_id") and isinstance(value, str | int):
            out[key] = value
        elif key.endswith("_ids") and isinstance(value, list):
            out[key] = [v for v in value if isinstance(v, str | int)][:20]
        elif key == "verse" and isinstance(value, int):
            out[key] = value
    return out


def job_fields(job: ClaimedJob) -> dict[str, Any]:
    return {
        "job_id": job.id,
        "kind": job.kind,
        "owner_id": job.owner_id,
        "attempt": job.attempts,
        "worker": job.lease_owner,
        "provider": job.provider,
        **subject_ids(job.payload),
    }


def event(name: str, message: str, **fields: Any) -> None:
    """Log one event: the current job's fields, then `fields`."""
    if not log.isEnabledFor(logging.INFO):
        return
    current = _job.get() or {}
    log.info(message, extra={"event": name, "fields": {**current, **fields}})


@contextmanager
def job_scope(job: ClaimedJob) -> Iterator[dict[str, Any]]:
    """The fields of `job` for every event logged in this thread (context) meanwhile."""
    token = _job.set(job_fields(job))
    try:
        yield _job.get() or {}
    finally:
        _job.reset(token)


def annotate(**fields: Any) -> None:
    """Add ids to the running job's events from here on (a handler naming its subject:
    session and step, storyboard and entity)."""
    current = _job.get()
    if current is not None:
        current.update({k: v for k, v in fields.items() if v is not None})


# -- job transitions ------------------------------------------------------------------------


def enqueued(job_id: str, kind: str, owner_id: str | None, payload: dict[str, Any]) -> None:
    event(
        "enqueued",
        f"job {job_id[:8]} ({kind}) enqueued",
        job_id=job_id,
        kind=kind,
        owner_id=owner_id,
        **subject_ids(payload),
    )


def claimed(job: ClaimedJob) -> None:
    waited = None
    if job.run_after is not None:
        waited = max(0.0, (datetime.now(UTC) - job.run_after).total_seconds())
        metrics.QUEUE_WAIT.labels(job.kind).observe(waited)
    metrics.CLAIMED.labels(job.kind).inc()
    event(
        "claimed",
        f"job {job.id[:8]} ({job.kind}) claimed, attempt {job.attempts}",
        stage="processing",
        waited_s=None if waited is None else round(waited, 3),
    )


def stage(job: ClaimedJob, name: str) -> None:
    event("stage", f"job {job.id[:8]} ({job.kind}) {name}", stage=name)


def settled(
    job: ClaimedJob,
    status: str,
    *,
    duration_s: float,
    stage: str,
    error_class: str | None = None,
    message: str = "",
) -> None:
    """The job left its run: completed, retried (back to pending), failed, canceled, or lost
    (the lease was no longer this worker's)."""
    name = {"pending": "retried"}.get(status, status)
    if name == "completed":
        metrics.COMPLETED.labels(job.kind).inc()
        metrics.RUN_TIME.labels(job.kind).observe(duration_s)
    elif name == "retried":
        metrics.RETRIED.labels(job.kind, error_class or "unknown").inc()
    elif name == "failed":
        metrics.FAILED.labels(job.kind, error_class or "unknown").inc()
    else:
        metrics.OTHER.labels(job.kind, name).inc()
    event(
        name,
        f"job {job.id[:8]} ({job.kind}) {name}" + (f": {message}" if message else ""),
        stage=stage,
        duration_s=round(duration_s, 3),
        error_class=error_class,
    )


def handed_back(job: ClaimedJob) -> None:
    """Its worker was stopped mid-job: back in the queue, no attempt spent."""
    metrics.OTHER.labels(job.kind, "handed_back").inc()
    with job_scope(job):
        event("handed_back", f"job {job.id[:8]} ({job.kind}) handed back to the queue")


# -- provider calls -------------------------------------------------------------------------


class ObservedProvider:
    """A provider whose calls are timed, counted and logged (with the running job's fields)."""

    def __init__(self, inner: Provider) -> None:
        self._inner = inner
        self.name = inner.name
        self.label = inner.label

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._inner, attr)

    def models(self) -> list[ModelInfo]:
        return self._inner.models()

    def estimate_cost(self, model: str, request: ImageRequest | VideoRequest) -> float:
        return self._inner.estimate_cost(model, request)

    @contextmanager
    def _call(self, call: str, model: str) -> Iterator[dict[str, Any]]:
        out: dict[str, Any] = {}
        started = time.monotonic()
        try:
            yield out
        except ProviderError as err:
            self._record(call, model, time.monotonic() - started, out, err.error_class.value)
            raise
        except Exception:
            self._record(call, model, time.monotonic() - started, out, "unknown")
            raise
        self._record(call, model, time.monotonic() - started, out, None)

    def _record(
        self, call: str, model: str, seconds: float, out: dict[str, Any], error: str | None
    ) -> None:
        metrics.PROVIDER_SECONDS.labels(self.name, model, call).observe(seconds)
        cost = out.get("cost")
        if cost:
            metrics.PROVIDER_COST.labels(self.name, model).inc(cost)
        if error:
            metrics.PROVIDER_ERRORS.labels(self.name, model, error).inc()
        event(
            "provider_call",
            f"{self.name} {model} {call} in {seconds:.2f} s" + (f" ({error})" if error else ""),
            provider=self.name,
            model=model,
            call=call,
            duration_s=round(seconds, 3),
            provider_request_id=out.get("request_id"),
            cost=cost,
            error_class=error,
        )

    def generate_image(self, model: str, request: ImageRequest) -> ImageResult:
        with self._call("generate_image", model) as out:
            result = self._inner.generate_image(model, request)
            out.update(request_id=result.provider_request_id, cost=result.cost_actual)
        return result

    def start_video(self, model: str, request: VideoRequest) -> str:
        with self._call("start_video", model) as out:
            operation = self._inner.start_video(model, request)
            out.update(request_id=operation)
        return operation

    def finish_video(
        self,
        model: str,
        operation: str,
        request: VideoRequest,
        heartbeat: Heartbeat | None = None,
    ) -> VideoResult:
        with self._call("finish_video", model) as out:
            result = self._inner.finish_video(model, operation, request, heartbeat)
            out.update(request_id=result.provider_request_id or operation, cost=result.cost_actual)
        return result


def observed(provider: Provider) -> Provider:
    return provider if isinstance(provider, ObservedProvider) else ObservedProvider(provider)


# -- log format -----------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and an event's fields (all of
    them, null when unknown, so each event has one shape)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        name = getattr(record, "event", None)
        if name:
            line["event"] = name
            line.update(getattr(record, "fields", {}))  # every field, null when unknown
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


TEXT_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def configure_logging(log_format: str, level: int = logging.INFO, name: str | None = None) -> None:
    """Logging for a process (the root logger, or only logger `name`, e.g. "studio" inside an
    app whose framework owns the root): text (the default) or one JSON line per record. Like
    `logging.basicConfig`, it leaves a logger that has handlers already as it is."""
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    if name is None:
        logging.basicConfig(level=level, handlers=[handler])
        return
    logger = logging.getLogger(name)
    if not logger.handlers:
        logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
