"""Leadership: exactly one scheduler process runs the jobs at a time.

PostgreSQL: a session-level advisory lock held on a dedicated connection; if the
leader dies, its connection closes and PostgreSQL releases the lock at once, so a
follower polling ``pg_try_advisory_lock`` takes over within one poll. SQLite: an
exclusive ``flock`` on a file beside the database, released by the kernel when the
process dies. A leader checks its hold before every job (a PostgreSQL connection
can be cut by the server) and steps down when it has lost it.

Leadership only keeps the work from being done twice *at once*; the jobs' event ids
make a moment of overlap (a leader cut off mid-job) harmless.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Protocol

import psycopg
from filelock import FileLock, Timeout
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

# An arbitrary 64-bit key naming "the automation scheduler" among advisory locks.
LOCK_KEY = 0x6175746F5F736368  # "auto_sch"


class Leadership(Protocol):
    """Try to lead; know whether you still do; let go."""

    def acquire(self) -> bool: ...
    def holds(self) -> bool: ...
    def release(self) -> None: ...


def leadership_for(database_url: str) -> Leadership:
    """The leadership mechanism for the configured database."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        return PostgresLeadership(database_url)
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:"):
            raise ValueError("an in-memory SQLite database has no other process to lead")
        return FileLeadership(Path(database).with_name(Path(database).name + ".scheduler.lock"))
    raise ValueError(f"no leadership for database '{url.get_backend_name()}'")


class PostgresLeadership:
    """``pg_try_advisory_lock`` on a connection of its own, held while it lives."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url).set(drivername="postgresql")
        self._dsn = url.render_as_string(hide_password=False)
        self._conn: psycopg.Connection | None = None

    def acquire(self) -> bool:
        if self.holds():
            return True
        try:
            self._conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=5)
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
        except psycopg.Error as exc:
            log.warning("cannot reach PostgreSQL to take the scheduler lock: %s", exc)
            self._close()
            return False
        if row and row[0]:
            return True
        self._close()
        return False

    def holds(self) -> bool:
        if self._conn is None or self._conn.closed:
            return False
        try:
            # The lock lives as long as this session; a dead connection means it is gone.
            row = self._conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND pid = pg_backend_pid() AND granted "
                "AND ((classid::bigint << 32) | objid::bigint) = %s",
                (LOCK_KEY,),
            ).fetchone()
        except psycopg.Error:
            self._close()
            return False
        if not row or not row[0]:
            self._close()
            return False
        return True

    def release(self) -> None:
        if self._conn is not None and not self._conn.closed:
            with contextlib.suppress(psycopg.Error):
                self._conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
        self._close()

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None


class FileLeadership:
    """An exclusive lock on a file beside the SQLite database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = FileLock(str(path), thread_local=False)

    def acquire(self) -> bool:
        if self._lock.is_locked:
            return True
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        return True

    def holds(self) -> bool:
        return self._lock.is_locked

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)
