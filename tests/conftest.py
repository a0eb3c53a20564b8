"""Shared fixtures: scratch databases (SQLite always, PostgreSQL when configured), Services.

Database tests take the `db_url` fixture (or `engine` / `services`); they run once per backend:
- sqlite: a fresh migrated file per test (copied from a template migrated once per run);
- postgres: when STUDIO_TEST_DATABASE_URL is set, a database per xdist worker, migrated once and
  emptied before every test. With STUDIO_REQUIRE_POSTGRES=1 an unreachable server fails the run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from db.engine import make_engine, normalize_url
from db.migrate import upgrade
from db.schema import metadata
from studio.config import Settings
from studio.services import Services

PG_URL = os.environ.get("STUDIO_TEST_DATABASE_URL", "")
REQUIRE_PG = os.environ.get("STUDIO_REQUIRE_POSTGRES") == "1"

# No test may pick up a developer's real keys or .env.
for _var in (
    "OPENAI_API_KEY",
    "OPENROUTER_API_KEY",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_GENERATIVE_AI_API_KEY",
):
    os.environ.pop(_var, None)


def _worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "gw0")


def _run_id() -> str:
    """Unique per pytest run (shared by its xdist workers), so two runs never share databases."""
    return (os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"p{os.getpid()}")[:10]


def _pg_admin_url() -> sa.URL:
    return normalize_url(PG_URL).set(database="postgres")


def create_pg_database(name: str) -> str:
    """(Re)create database `name` on the test server and return its URL."""
    admin = make_engine(_pg_admin_url())
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    finally:
        admin.dispose()
    return normalize_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(name: str) -> None:
    admin = make_engine(_pg_admin_url())
    try:
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def pg_base_url() -> Iterator[str]:
    """A migrated PostgreSQL database for this xdist worker, or a skip/fail with the reason."""
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("STUDIO_REQUIRE_POSTGRES=1 but STUDIO_TEST_DATABASE_URL is not set")
        pytest.skip("PostgreSQL tests need STUDIO_TEST_DATABASE_URL")
    name = f"{make_url(PG_URL).database or 'test'}_studio_{_run_id()}_{_worker_id()}"
    try:
        url = create_pg_database(name)
    except sa.exc.OperationalError as exc:
        if REQUIRE_PG:
            pytest.fail(f"PostgreSQL is required but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    drop_pg_database(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # closing the last connection checkpoints the WAL into the file
    return path


def _truncate_all(url: str) -> None:
    engine = make_engine(url)
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {names} CASCADE")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty, migrated database; the test runs once per backend."""
    if request.param == "sqlite":
        path = tmp_path / "studio.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_base_url")
    _truncate_all(url)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def make_settings(tmp_path: Path, db_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": db_url,
        "storage_url": str(tmp_path / "media"),
        "embedded_worker": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def settings(tmp_path: Path, db_url: str) -> Settings:
    return make_settings(tmp_path, db_url)


@pytest.fixture
def services(settings: Settings, engine: Engine) -> Iterator[Services]:
    svc = Services.build(settings, engine=engine, migrate=False)
    yield svc
