"""Engines for both databases.

SQLite: WAL, foreign keys on, a busy timeout, and every transaction begins IMMEDIATE, so two
writers queue on the busy timeout instead of failing with "database is locked" half-way through.
PostgreSQL: psycopg 3 with a connection pool.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalize_url(url: str | URL) -> URL:
    """Accept `postgresql://` and `postgres://` and use the psycopg 3 driver for them."""
    u = make_url(url) if isinstance(url, str) else url
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    return u


def redact_url(url: str | URL) -> str:
    return normalize_url(url).render_as_string(hide_password=True)


def make_engine(url: str | URL, *, pool_size: int = 5, echo: bool = False) -> Engine:
    """Build the engine for `url` with the settings the queue's guarantees rely on."""
    u = normalize_url(url)
    if u.get_backend_name() == "sqlite":
        return _sqlite_engine(u, echo=echo)
    if u.get_backend_name() == "postgresql":
        return sa.create_engine(
            u,
            pool_size=pool_size,
            max_overflow=pool_size * 2,
            pool_pre_ping=True,
            pool_recycle=1800,
            echo=echo,
        )
    raise ValueError(f"unsupported database {u.get_backend_name()!r}: use sqlite or postgresql")


def _sqlite_engine(u: URL, *, echo: bool) -> Engine:
    if u.database and u.database != ":memory:":
        Path(u.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        u,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        echo=echo,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event, not the driver, decide when transactions start.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def database_label(engine: Engine) -> str:
    """A short human label: 'SQLite (var/studio.db)' or 'PostgreSQL (host/db)'."""
    u = engine.url
    if engine.dialect.name == "sqlite":
        return f"SQLite ({os.path.relpath(u.database) if u.database else 'memory'})"
    return f"PostgreSQL ({u.host or 'socket'}/{u.database})"
