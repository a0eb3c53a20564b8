"""AppTest fixtures: the real app.py against a scratch SQLite database and media folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from studio.config import Settings
from studio.services import Services

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def app_services(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> Services:
    db = tmp_path / "app.db"
    shutil.copy(sqlite_template, db)
    monkeypatch.setenv("STUDIO_DATABASE_URL", f"sqlite:///{db}")
    monkeypatch.setenv("STUDIO_STORAGE_URL", str(tmp_path / "media"))
    monkeypatch.setenv("STUDIO_EMBEDDED_WORKER", "false")
    monkeypatch.chdir(ROOT)
    return Services.build(Settings(_env_file=None), migrate=False)  # type: ignore[call-arg]


@pytest.fixture
def app(app_services: Services) -> AppTest:
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
