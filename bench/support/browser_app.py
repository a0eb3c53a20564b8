"""The real app (`streamlit run app.py`) on a free loopback port against a scratch SQLite
database, its embedded worker on, and headless Chromium to drive it: what the browser
benchmarks measure. Streamlit's file watcher is off, as it would be in production."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("STUDIO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_app() -> Iterator[tuple[str, str]]:
    """Start the studio; yields (its URL, its database URL)."""
    with tempfile.TemporaryDirectory() as tmp:
        port = _free_port()
        db_url = f"sqlite:///{tmp}/bench.db"
        env = dict(os.environ)
        env.update(
            STUDIO_DATABASE_URL=db_url,
            STUDIO_STORAGE_URL=f"{tmp}/media",
            STUDIO_EMBEDDED_WORKER="true",
            STUDIO_GENERATIONS_PER_HOUR="100000",
        )
        log = Path(tmp) / "streamlit.log"
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--server.fileWatcherType",
                "none",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                        if r.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"streamlit did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.2)
            yield url, db_url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def browser_page(width: int = 1400, height: int = 2400) -> Iterator[Any]:
    """A fresh page of headless Chromium."""
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"this benchmark needs chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(60_000)
            yield page
        finally:
            browser.close()
