"""The database: one engine per URL, short sessions, SQLite tuned for a writer and readers."""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlmodel import Session, create_engine

from automation.config import get_settings


def _normalise_url(url: str) -> str:
    # psycopg 3 is the driver we install; plain postgresql:// would ask for psycopg2.
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@functools.cache
def engine_for(url: str) -> Engine:
    """The engine for ``url``, created once per process."""
    url = _normalise_url(url)
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        # No server-side prepared statements: after five runs psycopg would prepare a
        # query, and PostgreSQL's generic plan for "id = ANY(array)" then scans the
        # whole table (measured: 11 ms → 246 ms per 1000-event batch at 100k events).
        kwargs.update(
            pool_size=10,
            max_overflow=10,
            pool_pre_ping=True,
            connect_args={"prepare_threshold": None},
            json_serializer=json_dumps,
            json_deserializer=orjson.loads,
        )
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
    return engine


# Types orjson would write on its own where the standard library refuses them: they go
# to json.dumps, which refuses them as before.
_ORJSON_OPTIONS = (
    orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
)


def json_dumps(value: Any) -> bytes | str:
    """JSON for a PostgreSQL ``jsonb`` column: orjson (the standard library's encoder and
    decoder were a twentieth of processing an event), the standard library for what
    orjson cannot write (integers beyond 64 bits) or would write differently."""
    try:
        return orjson.dumps(value, option=_ORJSON_OPTIONS)
    except TypeError:
        return json.dumps(value)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers go on while the one writer commits; short write transactions
    # keep the API and the in-process worker from locking each other out.
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see below)
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # A deferred transaction that reads then writes can fail with "database is locked"
    # without waiting; taking the write lock up front makes busy_timeout apply.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def get_engine() -> Engine:
    """The engine for the configured ``DATABASE_URL``."""
    return engine_for(get_settings().database_url)


@contextmanager
def session_scope(*, redoable: bool = False) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error; ``redoable``:
    its work is done again from its inputs if a crash loses it (see :func:`mark_redoable`)."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            if redoable:
                mark_redoable(session.connection())
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def mark_redoable(conn: Connection) -> None:
    """Let this transaction's commit return without waiting for PostgreSQL to flush it.

    Only for work that is done again from its inputs if a crash loses it: a chunk of
    events (they stay unprocessed and the relay offers them again), a batch of timers
    (they stay unfired), the scheduler's record of a run. The commit stays atomic and
    is seen by others at once; a crash of the server or the machine within about 0.6 s
    (three ``wal_writer_delay``) can undo it whole, never half of it. What leaves the
    database follows a commit that does wait (an ingest's answer, a delivery's claim
    before the send), and that wait flushes every commit before it too, since the
    write-ahead log is one sequence. A flush cost 0.1 to 0.7 ms a commit on the
    project's machines, more than most chunks' statements. SQLite needs nothing: with
    ``synchronous=NORMAL`` in WAL mode its commits never wait for the disk.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO off")


def dialect_name() -> str:
    """``sqlite`` or ``postgresql``."""
    return get_engine().dialect.name


def open_problem(exc: Exception, url: str | None = None) -> str | None:
    """One line naming the database and why it cannot be opened, if ``exc`` is that
    (a SQLite path that is a folder, in a missing folder, not writable; a PostgreSQL
    server that does not answer); None for any other error."""
    url = url or get_settings().database_url
    text = str(getattr(exc, "orig", exc))
    if url.startswith("sqlite"):
        if "unable to open database file" in text or "file is not a database" in text:
            path = make_url(url).database or ""
            return f"cannot open the database {path}: {_sqlite_reason(path, text)}"
        return None
    if "connection" in text and ("failed" in text or "refused" in text):
        where = make_url(url).render_as_string(hide_password=True)
        return f"cannot connect to the database {where}: {text.splitlines()[0][:200]}"
    return None


def _sqlite_reason(path: str, text: str) -> str:
    if "file is not a database" in text:
        return "the file is not a SQLite database"
    if not path or path == ":memory:":
        return "SQLite cannot open it"
    file = os.path.abspath(path)
    folder = os.path.dirname(file)
    if os.path.isdir(file):
        return "it is a folder, not a file"
    if not os.path.exists(folder):
        return f"the folder {folder} does not exist"
    if not os.path.isdir(folder):
        return f"{folder} is not a folder"
    if os.path.exists(file) and not os.access(file, os.R_OK | os.W_OK):
        return "permission denied: this user cannot read and write the file"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"permission denied: this user cannot write in {folder}"
    return "SQLite cannot open it"
