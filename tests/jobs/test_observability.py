"""What operators see: JSON log lines tracing one generation through a worker process, and the
Prometheus metrics a running worker serves."""

from __future__ import annotations

import json
import logging
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from studio import sessions
from studio.jobs.observe import JsonFormatter, subject_ids
from studio.services import Services
from tests.jobs.test_worker_processes import ROOT, _env

OWNER = "alice"
STUDIO = ("-c", "from studio.cli import main; raise SystemExit(main())")


def _events(text: str) -> list[dict[str, Any]]:
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if "event" in record:
                out.append(record)
    return out


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_subject_ids_are_the_ids_a_payload_names() -> None:
    assert subject_ids(
        {"song_id": "s", "verse_id": "v", "verse": 3, "prompt": "x", "generation_ids": ["a"]}
    ) == {"song_id": "s", "verse_id": "v", "verse": 3, "generation_ids": ["a"]}


def test_json_logs_trace_one_generation_through_the_worker(
    services: Services, db_url: str, tmp_path: Path
) -> None:
    capture = _Capture()
    events_log = logging.getLogger("studio.events")
    events_log.addHandler(capture)
    level = events_log.level
    events_log.setLevel(logging.INFO)
    try:
        params = sessions.GenerationParams(prompt="a fox", width=64, height=64)
        session, gen = sessions.create_session(services, OWNER, params, idempotency_key="s")
    finally:
        events_log.removeHandler(capture)
        events_log.setLevel(level)
    env = _env(db_url, tmp_path, STUDIO_LOG_FORMAT="json")  # the same storage folder
    done = subprocess.run(
        [sys.executable, *STUDIO, "worker", "--once"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    events = _events("\n".join(capture.lines)) + _events(done.stderr)
    names = [e["event"] for e in events]
    assert names == [
        "enqueued",
        "claimed",
        "stage",  # generating
        "provider_call",
        "stage",  # uploading
        "completed",
    ], done.stderr
    for e in events:
        assert e["job_id"] == gen.job_id and e["kind"] == "session_generation"
        assert e["owner_id"] == OWNER and e["generation_id"] == gen.id
    for e in events[1:]:
        assert e["attempt"] == 1 and e["worker"].startswith("worker@")
    for e in events[2:]:
        assert e["session_id"] == session.id and e["step"] == 1
    stages = [e["stage"] for e in events if "stage" in e]
    assert stages == ["processing", "generating", "uploading", "completed"]
    call = events[3]
    assert call["provider"] == "local" and call["model"] and call["call"] == "generate_image"
    assert call["duration_s"] >= 0 and "cost" in call and "provider_request_id" in call
    assert events[-1]["duration_s"] >= call["duration_s"]
    assert events[-1]["error_class"] is None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scrape(port: int, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                return str(r.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _value(text: str, name: str, **labels: str) -> float:
    """The sample `name{labels…}` of a scrape (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _until(port: int, check: Any, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while True:
        text = _scrape(port)
        if check(text) or time.monotonic() > deadline:
            return text
        time.sleep(0.3)


@pytest.mark.slow
def test_a_running_worker_serves_metrics_that_move(
    services: Services, db_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    env = _env(db_url, tmp_path)
    worker = subprocess.Popen(
        [sys.executable, *STUDIO, "worker", "--metrics-port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = _scrape(port)
        assert _value(first, "studio_jobs_completed_total", kind="noop") == 0
        for i in range(3):
            services.queue.enqueue("noop", {"n": i})
        services.queue.enqueue("no_such_kind")
        params = sessions.GenerationParams(prompt="a fox", width=64, height=64)
        sessions.create_session(services, OWNER, params, idempotency_key="m")
        text = _until(
            port,
            lambda t: (
                _value(t, "studio_jobs_completed_total", kind="session_generation") == 1
                and _value(t, "studio_jobs_completed_total", kind="noop") == 3
            ),
        )
        assert _value(text, "studio_jobs_claimed_total", kind="noop") == 3
        assert _value(text, "studio_jobs_completed_total", kind="noop") == 3
        assert (
            _value(text, "studio_jobs_failed_total", kind="no_such_kind", error_class="permanent")
            == 1
        )
        assert _value(text, "studio_job_queue_wait_seconds_count", kind="noop") == 3
        assert _value(text, "studio_job_run_seconds_count", kind="session_generation") == 1
        assert _value(text, "studio_provider_call_seconds_count", provider="local") == 1
        assert _value(text, "studio_queue_jobs", kind="no_such_kind", status="failed") == 1

        services.queue.pause("kind", "noop", by="ops")
        services.queue.enqueue("noop", {"n": 9})
        text = _until(port, lambda t: _value(t, "studio_queue_jobs", kind="noop", status="pending"))
        assert _value(text, "studio_queue_jobs", kind="noop", status="pending") == 1
        assert "studio_queue_oldest_pending_seconds" in text
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err
