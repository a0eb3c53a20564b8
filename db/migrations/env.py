"""Alembic environment: the engine comes from db.migrate (never from an ini file)."""

from __future__ import annotations

from alembic import context

from db.migration_options import context_options


def run_migrations() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(connection=connection, **context_options(connection))
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
