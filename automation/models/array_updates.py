"""PostgreSQL: the rows every event touches, written as arrays at flush: the changed
ones as one UPDATE per set of columns, new enrollments as one INSERT.

Processing a chunk of events changes a customer row and an enrollment row per event.
The ORM writes each as its own UPDATE, binding every value through its type
processing, row by row: about a fifth of an event's time on PostgreSQL, profiled. Here
the changed rows of :data:`MODELS` are taken out of the flush (``before_flush``: their
values read, then committed in the session as a load would, so the ORM's flush does
not visit them) and written as ``UPDATE … FROM unnest(arrays)``, one statement per set
of changed columns: after the ORM's own inserts (``after_flush``, so a row they point
at exists), or at once when nothing is left for the ORM (its flush then stops before
``after_flush``). A column with a Python ``onupdate`` (``updated_at``) is set as the
ORM would. SQLite keeps the ORM's way.

``InstanceState._commit_all`` / ``_commit`` are SQLAlchemy's own (what a load and
``set_committed_value`` call): one call per row instead of one per changed attribute,
and out of the session's modified set. ``tests/models/test_array_updates.py`` and the engine
tests fail if a change is lost.

New enrollments (a sign-up enters two journeys) were an executemany of one INSERT a
row: a seventh of a sign-up chunk's time, measured. They carry their ids already
(taken from the sequence, ``customers/chunk.py``), so ``_take`` inserts them itself and
attaches them as loaded rows (expunged, ``make_transient_to_detached``, added back):
their later changes in the transaction are UPDATEs like any other.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, event, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, UOWTransaction, make_transient_to_detached

from automation.db.sql import column_arrays, execute_arrays, insert_rows, unnest
from automation.models.customers import Customer, Identity
from automation.models.journeys import Enrollment

MODELS: tuple[type, ...] = (Customer, Enrollment, Identity)
INSERTED: tuple[type, ...] = (Enrollment,)  # new rows with their ids already set
_KEY = "array_updates"
_QUERIES: dict[tuple[str, tuple[str, ...]], str] = {}


def install() -> None:
    """Listen to every session's flushes (idempotent; the worker calls it at import)."""
    for name, listener in (
        ("before_flush", _take),
        ("after_flush", _write),
        ("after_rollback", _forget),
    ):
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def _take(session: Session, flush_context: UOWTransaction, instances: Any) -> None:
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return
    _insert_new(session)
    groups: dict[tuple[type, tuple[str, ...]], list[dict[str, Any]]] = {}
    for obj in list(session.dirty):
        if type(obj) not in MODELS:
            continue
        state = inspect(obj)
        if state.deleted or not state.has_identity:
            continue
        # committed_state holds the original of every attribute set since the load: the
        # ORM's own list of what to write (building each attribute's history cost more).
        shape = _shape(type(obj))
        values = state.dict
        pending = state.committed_state
        changed = {key: values[key] for key in pending if key in shape.columns and key in values}
        if not changed:
            continue
        for key, default in shape.onupdate:
            if key not in changed:
                changed[key] = values[key] = default(None)
        if pending.keys() <= shape.columns:
            # Everything it changed is written here: committed as a load would, and out of
            # the session's modified set, so the ORM's flush does not visit it at all
            # (registering, diffing and finalising each such row was a tenth of a move).
            state._commit_all(values, session.identity_map)
        else:
            state._commit(values, list(changed))
        changed[shape.key] = state.identity[0]
        groups.setdefault((type(obj), tuple(sorted(changed))), []).append(changed)
    for (model, _), rows in groups.items():
        key = _shape(model).key
        rows.sort(key=lambda row: row[key])  # the order the ORM would lock them in
    if not groups:
        return
    if session.new or session.deleted or session.dirty:
        session.info.setdefault(_KEY, []).extend(groups.items())  # after the ORM's inserts
    else:
        _run(session, list(groups.items()))  # nothing left: the ORM's flush stops here


def _insert_new(session: Session) -> None:
    """Insert the new rows of :data:`INSERTED` that have their ids, in id order, and
    make them persistent and unchanged, so the ORM's flush leaves them alone. Only when
    nothing else is new: a row they point at (a customer the profile step created) must
    be inserted first, which the ORM's own ordering does."""
    if any(type(o) not in INSERTED for o in session.new):
        return
    for model in INSERTED:
        shape = _shape(model)
        if not shape.insertable:
            continue
        pk = shape.key
        new = [o for o in session.new if type(o) is model and o.__dict__.get(pk) is not None]
        if not new:
            continue
        new.sort(key=lambda o: o.__dict__[pk])
        table = inspect(model).local_table
        found = [{c.key: o.__dict__.get(c.key) for c in table.columns} for o in new]
        for column, default in shape.insert_defaults:
            for row, obj in zip(found, new, strict=True):
                if row[column] is None:  # what the ORM's insert does: the column's default
                    row[column] = obj.__dict__[column] = default(None)
        insert_rows(session.connection(), table, found)
        for obj in new:
            session.expunge(obj)
            make_transient_to_detached(obj)
            session.add(obj)


class _Shape:
    """What ``_take`` needs of a model's table: its column keys, the Python ``onupdate``
    defaults, and the primary key."""

    def __init__(self, model: type) -> None:
        table = inspect(model).local_table
        self.columns = frozenset(c.key for c in table.columns)
        self.onupdate = [
            (c.key, c.onupdate.arg)  # type: ignore[attr-defined]
            for c in table.columns
            if c.onupdate is not None
        ]
        (pk,) = inspect(model).primary_key
        self.key: str = pk.key
        # Python-side defaults for an insert, each a callable taking a context (None);
        # a server-side default could not be honoured by an explicit NULL, so a table
        # with one is left to the ORM's insert.
        self.insertable = all(c.server_default is None for c in table.columns)
        self.insert_defaults = [
            (c.key, _default(c.default.arg))  # type: ignore[attr-defined]
            for c in table.columns
            if c.default is not None and not c.primary_key
        ]


def _default(arg: Any) -> Any:
    return arg if callable(arg) else lambda _context: arg


_SHAPES: dict[type, _Shape] = {}


def _shape(model: type) -> _Shape:
    shape = _SHAPES.get(model)
    if shape is None:
        shape = _SHAPES[model] = _Shape(model)
    return shape


def _write(session: Session, flush_context: UOWTransaction) -> None:
    groups = session.info.pop(_KEY, None)
    if groups:
        _run(session, groups)


def _run(session: Session, groups: list[tuple[tuple[type, tuple[str, ...]], Any]]) -> None:
    conn = session.connection()
    for (model, keys), rows in groups:
        table = inspect(model).local_table
        columns = [table.columns[k] for k in keys]
        params = column_arrays(columns, rows, conn.dialect)
        execute_arrays(conn, _query(table.name, columns, conn.dialect), params)


def _forget(session: Session) -> None:
    session.info.pop(_KEY, None)


def _query(name: str, columns: list[Column[Any]], dialect: Dialect) -> str:
    key = (name, tuple(c.key for c in columns))
    query = _QUERIES.get(key)
    if query is None:
        (pk,) = [c for c in columns if c.primary_key]
        names = ", ".join(c.key for c in columns)
        sets = ", ".join(f"{c.key} = v.{c.key}" for c in columns if not c.primary_key)
        query = (
            f"UPDATE {name} AS t SET {sets} FROM {unnest(columns, dialect)} AS v({names}) "
            f"WHERE t.{pk.key} = v.{pk.key}"
        )
        _QUERIES[key] = query
    return query
