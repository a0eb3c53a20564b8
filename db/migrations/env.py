"""Alembic environment: the engine comes from db.migrate (never from an ini file).

On SQLite, foreign keys are switched off while migrations run. A migration that changes a
table's columns there rebuilds the table (copy, drop the old one, rename the copy), and with
foreign keys on, dropping the old table would run its ON DELETE actions: every row pointing at
it (assets at their steps, a step at its parent) would be deleted or cut loose. The keys are
checked again before the migration commits, and switched back on afterwards.
"""

from __future__ import annotations

from typing import Any

from alembic import context

from db.migration_options import context_options


def _sqlite_foreign_keys(connection: Any, on: bool) -> None:
    """PRAGMA foreign_keys only takes effect outside a transaction: set it on the driver's
    connection (in autocommit mode, see db/engine.py) before SQLAlchemy begins one."""
    cursor = connection.connection.driver_connection.cursor()
    cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    cursor.close()


def run_migrations() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _sqlite_foreign_keys(connection, False)
        try:
            context.configure(connection=connection, **context_options(connection))
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").first()
                    if broken is not None:
                        raise RuntimeError(f"a migration broke a foreign key: {tuple(broken)}")
            connection.commit()
        finally:
            if sqlite:
                _sqlite_foreign_keys(connection, True)


run_migrations()
