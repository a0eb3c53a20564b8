"""Models and migrations agree, on both databases, and the engine is set up as the queue needs."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from db.engine import make_engine
from db.migrate import pending_diff, upgrade
from db.schema import metadata


def test_autogenerate_finds_no_difference(engine: sa.Engine) -> None:
    assert pending_diff(engine) == []


def test_every_model_table_exists(engine: sa.Engine) -> None:
    tables = set(sa.inspect(engine).get_table_names())
    assert set(metadata.tables) <= tables


def test_upgrade_is_idempotent(engine: sa.Engine) -> None:
    upgrade(engine)
    upgrade(engine)
    assert pending_diff(engine) == []


def test_job_indexes_carry_the_guarantees(engine: sa.Engine) -> None:
    indexes = {ix["name"]: ix for ix in sa.inspect(engine).get_indexes("jobs")}
    assert indexes["uq_jobs_idempotency_key"]["unique"]
    assert indexes["uq_jobs_running_concurrency_key"]["unique"]
    assert {"ix_jobs_claim", "ix_jobs_lease_expires"} <= set(indexes)


def test_running_concurrency_key_is_unique_in_the_database(engine: sa.Engine) -> None:
    insert = sa.text(
        "INSERT INTO jobs (id, kind, payload, status, stage, priority, run_after, attempts,"
        " max_attempts, retry_count, rate_limit_waits, sequence, ordered, held, cancel_requested,"
        " created_at, concurrency_key) VALUES (:id, 'x', '{}', 'running', 'processing', 1, :now,"
        " 0, 3, 0, 0, 0, false, false, false, :now, 'song:1')"
    )
    now = "2026-01-01 00:00:00"
    with engine.begin() as conn:
        conn.execute(insert, {"id": "a", "now": now})
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(insert, {"id": "b", "now": now})


def test_sqlite_pragmas(tmp_path) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    engine.dispose()


def test_sqlite_transactions_begin_immediate(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A second writer cannot start a transaction while the first holds one (no lock upgrades)."""
    import sqlite3

    path = tmp_path / "i.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x)")
    with engine.begin() as conn:
        conn.exec_driver_sql("SELECT 1")  # a read-only statement already holds the write lock
        other = sqlite3.connect(path, timeout=0.05, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
    engine.dispose()
