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


def test_work_state_migration_keeps_what_each_step_and_request_showed(engine: sa.Engine) -> None:
    """Rows written when steps and requests copied their job's status read the same after the
    copies are dropped: a succeeded step stays succeeded, a failed one failed (and no longer
    claims it produced anything), a request refused inside a completed whole-storyboard job
    keeps its refusal, and a failed single request follows its job."""
    from alembic import command

    from db.migrate import alembic_config
    from studio.jobs import work

    command.downgrade(alembic_config(engine), "0004")
    now = "2026-01-01 00:00:00"
    job = (
        "INSERT INTO jobs (id, kind, payload, status, stage, priority, run_after, attempts,"
        " max_attempts, retry_count, rate_limit_waits, sequence, ordered, held, cancel_requested,"
        " created_at, last_error) VALUES (:id, 'k', '{}', :status, 'queued', 1, :now, 1, 3, 0, 0,"
        " 0, false, false, false, :now, :error)"
    )
    gen = (
        "INSERT INTO image_generations (id, session_id, step, status, mode, provider, model,"
        " prompt, params, error, job_id, created_at, completed_at, duration_ms) VALUES (:id, 's',"
        " :step, :status, 'text_to_image', 'local', 'sketch', 'p', '{}', :error, :job, :now,"
        " :now, 5)"
    )
    request = (
        "INSERT INTO storyboard_generations (id, owner_id, media, mode, status, provider, model,"
        " prompt, params, job_id, error, error_class, created_at) VALUES (:id, 'o', 'image',"
        " 'text_to_image', :status, 'local', 'sketch', 'p', '{}', :job, :error, 'permanent', :now)"
    )
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO image_sessions (id, owner_id, title, created_at, updated_at)"
                " VALUES ('s', 'o', 't', :now, :now)"
            ),
            {"now": now},
        )
        for job_id, status, error in [
            ("j-done", "completed", None),
            ("j-failed", "failed", "Refused."),
            ("j-run", "completed", None),
            ("j-one", "failed", "No image."),
        ]:
            conn.execute(sa.text(job), {"id": job_id, "status": status, "now": now, "error": error})
        conn.execute(
            sa.text(gen),
            dict(id="g1", step=1, status="succeeded", error=None, job="j-done", now=now),
        )
        conn.execute(
            sa.text(gen),
            dict(id="g2", step=2, status="failed", error="Refused.", job="j-failed", now=now),
        )
        conn.execute(
            sa.text(request), dict(id="r1", status="failed", job="j-run", error="Unsafe.", now=now)
        )
        conn.execute(
            sa.text(request),
            dict(id="r2", status="failed", job="j-one", error="No image.", now=now),
        )
    upgrade(engine)

    gens, reqs = (
        sa.table(
            "image_generations", sa.column("id"), sa.column("completed_at"), sa.column("job_id")
        ),
        sa.table(
            "storyboard_generations",
            sa.column("id"),
            sa.column("refusal"),
            sa.column("refusal_class"),
            sa.column("asset_id"),
            sa.column("job_id"),
        ),
    )
    with engine.connect() as conn:
        steps = {r.id: r for r in conn.execute(work.join_job(sa.select(gens), gens.c.job_id))}
        asked = {r.id: r for r in conn.execute(work.join_job(sa.select(reqs), reqs.c.job_id))}
    shown = {
        k: work.work_state(r, produced=r.completed_at is not None).status for k, r in steps.items()
    }
    assert shown == {"g1": "succeeded", "g2": "failed"}
    assert work.work_state(steps["g2"], produced=False).error == "Refused."
    refused = {
        k: work.work_state(r, produced=r.asset_id is not None, refusal=r.refusal)
        for k, r in asked.items()
    }
    assert (refused["r1"].status, refused["r1"].error) == ("failed", "Unsafe.")
    assert (refused["r2"].status, refused["r2"].error) == ("failed", "No image.")
    assert asked["r2"].refusal is None, "a single request's failure is its job's, not a refusal"
    assert pending_diff(engine) == []
