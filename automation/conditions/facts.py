"""Facts: what a condition is evaluated against in Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


class Counts(Protocol):
    """History counts a caller read ahead, for many customers in one round trip."""

    def get(self, node: Any, customer_id: str, now: datetime) -> int | None:
        """The count of ``node`` (a history node) for the customer at ``now``, or None
        (not read ahead: the node asks the database)."""
        ...


@dataclass(frozen=True, slots=True)
class Facts:
    """What a condition is evaluated against.

    Parameters:
        customer: a Customer row, or None.
        now: the evaluation time (aware).
        event: the Event being handled (``type``, ``properties``), or None.
        session: a database session for history and ``policy.*``; None: no history.
        policy_id: the policy for ``policy.*`` (else the event's ``policy_id``).
        policies: the customer's policies, loaded already: ``policies:`` conditions
            count these in Python instead of asking the database (None: they ask).
        counts: history counts read ahead (``events:`` conditions take theirs from it
            before asking the database).
    """

    customer: Any
    now: datetime
    event: Any = None
    session: Any = None
    policy_id: str | None = None
    policies: Sequence[Any] | None = None
    counts: Counts | None = None

    def __post_init__(self) -> None:
        if self.now.tzinfo is None or self.now.utcoffset() is None:
            raise ValueError(f"Facts.now must be aware, got {self.now!r}")
