"""The stamp of what is published: journeys, their versions, segments."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

from sqlalchemy import BigInteger, Column, Integer
from sqlmodel import Field, SQLModel

T = TypeVar("T")
Stamp = tuple[str, int]  # the database's URL and its stamp (``Chunk.definitions``)


class DefinitionsStamp(SQLModel, table=True):
    """One row, its ``stamp`` set to a new random number by the database itself (triggers
    of migrations 0013 and 0014) whenever a statement writes ``journeys``,
    ``journey_versions``, a segment's definition or a product's code or category,
    whoever runs it.

    The pipeline reads the stamp once per chunk, in the claim, and keeps what it read of
    those tables for as long as the stamp stays (``journeys/registry.current``,
    ``segments/registry.conditions``): three queries per chunk became none. Random, not
    a counter, so that a database created again (a test's, a bench's) cannot repeat a
    stamp a process has seen; a missing row means nothing is kept.
    """

    __tablename__ = "definitions_stamp"

    id: int = Field(default=1, sa_column=Column(Integer, primary_key=True, autoincrement=False))
    stamp: int = Field(sa_column=Column(BigInteger, nullable=False))


class PerStamp(Generic[T]):
    """What a process keeps of the definitions it read under a stamp: the values of the
    last few stamps (or databases); ``None`` as a stamp keeps nothing."""

    LIMIT = 8

    def __init__(self) -> None:
        self._kept: dict[Stamp, T] = {}
        self._lock = threading.Lock()

    def get(self, stamp: Stamp | None) -> T | None:
        """The value kept under ``stamp``, if any."""
        return None if stamp is None else self._kept.get(stamp)

    def keep(self, stamp: Stamp | None, value: T) -> T:
        """Keep ``value`` under ``stamp`` (older stamps go when there are too many)."""
        if stamp is not None:
            with self._lock:
                if len(self._kept) >= self.LIMIT:
                    self._kept.clear()
                self._kept[stamp] = value
        return value
