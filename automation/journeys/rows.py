"""ORM rows on the journey engine's hot path, built and changed as SQLAlchemy's own
loading does, without SQLModel's per-attribute machinery.

``Enrollment(...)`` runs pydantic's construction and sets every field through
SQLModel's ``__setattr__`` (SQLAlchemy's instrumented set, then pydantic's): 150 µs an
enrollment or a message, measured, where :func:`new` takes 6 µs. The row it builds has
the same ``__dict__`` (every field, defaults filled in as ``__init__`` fills them) and
the same instance state as one ``__init__`` builds; the session inserts it alike.
:func:`put` sets attributes through SQLAlchemy alone: a third of the cost of three
plain assignments, which also update pydantic's set of fields given (nothing here
reads it).
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.attributes import set_attribute

T = TypeVar("T")


def new(model: type[T], **values: Any) -> T:
    """A new (transient) row of ``model``: ``values``, and each other field's default."""
    fixed, factories = _shape(model)
    row: Any = model._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    state = row.__dict__
    state.update(fixed)
    for name, factory in factories.items():
        if name not in values:
            state[name] = factory()
    state.update(values)
    object.__setattr__(row, "__pydantic_fields_set__", set(values))
    return row  # type: ignore[no-any-return]


def defaults(model: type) -> dict[str, Any]:
    """Each field's default, as ``__init__`` would fill it (required fields left out)."""
    fixed, factories = _shape(model)
    return {**fixed, **{name: factory() for name, factory in factories.items()}}


def put(row: Any, **values: Any) -> None:
    """Set attributes of a row the session tracks (the change is flushed as any other)."""
    for key, value in values.items():
        set_attribute(row, key, value)


@functools.cache
def _shape(model: type) -> tuple[dict[str, Any], dict[str, Any]]:
    configure_mappers()  # the instrumented attributes exist only once the mappers are set up
    fixed: dict[str, Any] = {}
    factories: dict[str, Any] = {}
    for name, field in model.model_fields.items():  # type: ignore[attr-defined]
        if field.default_factory is not None:
            factories[name] = field.default_factory
        elif not field.is_required():
            fixed[name] = field.get_default()
    return fixed, factories
