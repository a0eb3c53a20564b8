"""Browser tests: the real app (`streamlit run`) on a free loopback port, driven by Playwright
through Debian's /usr/bin/chromium. Without chromium they skip, unless STUDIO_REQUIRE_BROWSER=1.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.browser import Reruns, settle, wait_for_image

__all__ = ["ARTIFACTS", "Reruns", "settle", "wait_for_image"]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
DOC_IMAGES = ROOT / "docs" / "images"
CHROMIUM = os.environ.get("STUDIO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_free_port = free_port  # the name other tests knew


@pytest.fixture(scope="session")
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        if os.environ.get("STUDIO_REQUIRE_BROWSER") == "1":
            pytest.fail(f"STUDIO_REQUIRE_BROWSER=1 but {CHROMIUM} is missing")
        pytest.skip(f"browser tests need chromium at {CHROMIUM}")
    return CHROMIUM


class RunningApp:
    def __init__(
        self, url: str, db_url: str, media: Path, proc: subprocess.Popen[bytes], log: Path
    ) -> None:
        self.url, self.db_url, self.media, self.proc, self.log = url, db_url, media, proc, log


def start_app(
    tmp_path: Path,
    db: Path,
    *,
    embedded: bool = False,
    port: int | None = None,
    secrets_toml: str | None = None,
    env_extra: dict[str, str] | None = None,
) -> RunningApp:
    """`streamlit run app.py` on 127.0.0.1. With `secrets_toml`, the app runs in a scratch
    folder whose `.streamlit/secrets.toml` holds it (Streamlit reads secrets from the working
    directory's `.streamlit/` and from ~/.streamlit/), so the repository's own stays untouched."""
    port = port or free_port()
    env = dict(os.environ)
    env.update(
        STUDIO_DATABASE_URL=f"sqlite:///{db}",
        STUDIO_STORAGE_URL=str(tmp_path / "media"),
        STUDIO_EMBEDDED_WORKER="true" if embedded else "false",
        **(env_extra or {}),
    )
    cwd = ROOT
    if secrets_toml is not None:
        cwd = tmp_path / "app-cwd"
        (cwd / ".streamlit").mkdir(parents=True, exist_ok=True)
        (cwd / ".streamlit" / "secrets.toml").write_text(secrets_toml)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    log = tmp_path / "streamlit.log"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--server.address",
            "127.0.0.1",
        ],
        cwd=cwd,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"streamlit did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return RunningApp(url, f"sqlite:///{db}", tmp_path / "media", proc, log)


def stop_app(app: RunningApp) -> None:
    app.proc.terminate()
    try:
        app.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        app.proc.kill()


@pytest.fixture
def studio_app(
    tmp_path: Path, sqlite_template: Path, request: pytest.FixtureRequest
) -> Iterator[RunningApp]:
    """Start the studio on a scratch SQLite database. Mark a test with
    `@pytest.mark.embedded_worker` to run the app's embedded worker too."""
    db = tmp_path / "e2e.db"
    shutil.copy(sqlite_template, db)
    embedded = request.node.get_closest_marker("embedded_worker") is not None
    app = start_app(tmp_path, db, embedded=embedded)
    yield app
    stop_app(app)


@pytest.fixture
def page(chromium: str, request: pytest.FixtureRequest) -> Iterator[object]:
    from playwright.sync_api import expect, sync_playwright

    # Assertions wait as long as locators do: a loaded CI machine renders a page slowly.
    expect.set_options(timeout=60_000)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.set_default_timeout(60_000)
        yield pg
        pg.screenshot(path=str(ARTIFACTS / f"{request.node.name}-final.png"), full_page=True)
        browser.close()


def doc_screenshot(page: object, name: str) -> None:
    """A screenshot for the README: always into test-artifacts/, and into docs/images/ when
    STUDIO_DOC_IMAGES=1 (`make doc-images`), so ordinary test runs leave the tree untouched."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)  # type: ignore[attr-defined]
    if os.environ.get("STUDIO_DOC_IMAGES") == "1":
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOC_IMAGES / name), full_page=True)  # type: ignore[attr-defined]
