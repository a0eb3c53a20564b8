"""Waking idle workers when work is enqueued, instead of on their next poll.

Two paths, one per kind of worker:
- In this process (the embedded worker, any database): every database has one `Signal` per
  process. `JobQueue.enqueue` raises it when the enqueuing transaction commits, and idle worker
  slots wait on it between polls.
- Across processes (`studio worker` on PostgreSQL): `enqueue` also sends `NOTIFY studio_jobs`
  in its transaction, which PostgreSQL delivers when (and only if) it commits. A worker loop
  keeps one connection LISTENing and raises its own process's Signal on every notification.

Polling stays: a wake-up that is lost (a listener reconnecting, an enqueue from another process
on SQLite, a retry whose backoff ends) only delays the work until the next poll.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

log = logging.getLogger("studio.jobs.wakeup")

CHANNEL = "studio_jobs"


class Signal:
    """A counter that idle workers wait on. A waiter passes the count it saw before it looked
    for work, so a raise between its look and its wait is never missed."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._count = 0

    @property
    def count(self) -> int:
        with self._cond:
            return self._count

    def raise_(self) -> None:
        """Wake every waiter (each looks for work; the ones that find none wait again)."""
        with self._cond:
            self._count += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> bool:
        """Wait until raised after `seen` (or `timeout` seconds); True when it was."""
        with self._cond:
            return self._cond.wait_for(lambda: self._count != seen, timeout)


_signals: dict[str, Signal] = {}
_signals_lock = threading.Lock()


def signal_for(engine: Engine) -> Signal:
    """This process's Signal for the database `engine` points at (one per database URL, so
    every Services built for one database in this process shares it)."""
    key = engine.url.render_as_string(hide_password=True)
    with _signals_lock:
        return _signals.setdefault(key, Signal())


def announce(db: Session | Connection, signal: Signal, *, is_pg: bool, own: bool) -> None:
    """Tell workers that `db`'s transaction adds claimable work, once it commits.

    PostgreSQL: NOTIFY in the transaction itself (delivered at commit, to every process).
    In process: raise `signal` after the commit. `own`: the caller commits right after this
    returns and raises the signal itself. For a caller's ORM session the signal is raised by its
    `after_commit`. For a caller's Connection it is raised now: on SQLite the transaction holds
    the write lock (BEGIN IMMEDIATE) until it commits, so a worker's claim waits for it; on
    PostgreSQL the NOTIFY arrives after the commit and wakes the worker again."""
    if is_pg:
        db.execute(sa.select(sa.func.pg_notify(CHANNEL, "")))
    if own:
        return
    if isinstance(db, Session):
        event.listen(db, "after_commit", lambda _s: signal.raise_(), once=True)
    else:
        signal.raise_()


class Listener:
    """A thread that LISTENs on PostgreSQL and raises `signal` on every notification, on a
    connection of its own (taken out of the engine's pool). It reconnects after an error; work
    enqueued meanwhile is found by polling."""

    def __init__(
        self, engine: Engine, signal: Signal, stop: threading.Event, *, retry_s: float = 2.0
    ) -> None:
        self.engine = engine
        self.signal = signal
        self.stop = stop
        self.retry_s = retry_s
        self.listening = threading.Event()  # set while a LISTEN is in place (tests wait on it)
        self._thread = threading.Thread(target=self._run, name="studio-listener", daemon=True)

    def start(self) -> Listener:
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self._listen()
            except Exception:  # the server went away: poll until it is back
                log.warning("LISTEN %s failed; polling until it is back", CHANNEL, exc_info=True)
            self.listening.clear()
            self.stop.wait(self.retry_s)

    def _listen(self) -> None:
        raw: Any = self.engine.raw_connection()
        pg = raw.driver_connection
        raw.detach()  # a connection of its own: never handed back to the pool mid-LISTEN
        try:
            pg.rollback()  # the pool's pre-ping may have opened a transaction
            pg.autocommit = True
            pg.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            self.signal.raise_()  # work enqueued while nobody listened: look now
            while not self.stop.is_set():
                for _ in pg.notifies(timeout=0.5):
                    self.signal.raise_()
        finally:
            try:
                pg.close()
            except Exception:  # already broken
                log.debug("closing the listener's connection failed", exc_info=True)
