"""Run Alembic migrations from code (`studio init`, app start, tests)."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy.engine import Engine

# Alembic logs its set-up at INFO (its plugins as it is imported, the DDL mode and each revision
# as it runs), which a process logging at INFO (`studio worker`) would print on every start.
# Keep it to warnings, unless its level was chosen explicitly.
if logging.getLogger("alembic").level == logging.NOTSET:
    logging.getLogger("alembic").setLevel(logging.WARNING)

from alembic import command  # noqa: E402
from alembic.config import Config  # noqa: E402

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database up to `revision` (head by default). Safe to call on every start."""
    command.upgrade(alembic_config(engine), revision)


def pending_diff(engine: Engine) -> list[object]:
    """What autogenerate would add to a new migration: empty when models and migrations agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from db.migration_options import context_options
    from db.schema import metadata

    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts=context_options(conn))
        return list(compare_metadata(ctx, metadata))
