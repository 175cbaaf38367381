"""The stamp of what is published: journeys, their versions, segments."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Integer
from sqlmodel import Field, SQLModel


class DefinitionsStamp(SQLModel, table=True):
    """One row, its ``stamp`` set to a new random number by the database itself (triggers
    of migration 0013) whenever a statement writes ``journeys``, ``journey_versions`` or
    a segment's definition, whoever runs it.

    The pipeline reads the stamp once per chunk and keeps what it read of those tables
    for as long as the stamp stays (``journeys/registry.current``,
    ``segments/registry.conditions``): three queries per chunk became one. Random, not
    a counter, so that a database created again (a test's, a bench's) cannot repeat a
    stamp a process has seen; a missing row means nothing is kept.
    """

    __tablename__ = "definitions_stamp"

    id: int = Field(default=1, sa_column=Column(Integer, primary_key=True, autoincrement=False))
    stamp: int = Field(sa_column=Column(BigInteger, nullable=False))
