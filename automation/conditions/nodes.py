"""Compiled conditions: nodes that test one customer in Python and select many in SQL.

Every node has ``matches(facts)`` and ``to_sql(now)``, both built from the one operator
table, so they agree (tests/conditions/test_conditions.py checks it at random). History nodes count
rows with the same filters either way: Python runs the count for one customer.
:class:`Condition` wraps the root node that ``compile_condition`` builds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, ClassVar, Protocol

from sqlalchemy import Table, and_, exists, func, not_, or_, select, true
from sqlalchemy.sql.elements import ColumnElement

from automation.conditions.errors import ConditionError, Path
from automation.conditions.facts import Facts
from automation.conditions.fields import Field
from automation.conditions.operators import OPERATORS, Clause, Target
from automation.conditions.tables import CUSTOMERS, EVENTS, POLICIES, SEGMENT_MEMBERS
from automation.conditions.targets import CountTarget
from automation.conditions.times import Relative, business_tz


def _resolve(operand: Any, now: datetime) -> Any:
    if isinstance(operand, Relative):
        return now + operand.delta
    if isinstance(operand, tuple):
        return tuple(_resolve(item, now) for item in operand)
    return operand


@dataclass(frozen=True, slots=True)
class Test:
    """One operator and its validated operand (a :class:`Relative` until evaluated)."""

    op: str
    operand: Any


def _run_py(tests: tuple[Test, ...], value: Any, now: datetime, tz: tzinfo) -> bool:
    return all(OPERATORS[t.op].py(value, _resolve(t.operand, now), tz) for t in tests)


def _run_sql(tests: tuple[Test, ...], target: Target, now: datetime) -> Clause:
    return and_(*(OPERATORS[t.op].sql(target, _resolve(t.operand, now)) for t in tests))


class Node(Protocol):
    """A compiled condition or part of one."""

    def matches(self, facts: Facts) -> bool: ...

    def to_sql(self, now: datetime) -> Clause: ...


@dataclass(frozen=True, slots=True)
class FieldTest:
    """A field and its operator tests, ANDed; ``at`` is where it was written."""

    field: Field
    tests: tuple[Test, ...]
    at: tuple[str | int, ...]

    def matches(self, facts: Facts) -> bool:
        tz = business_tz()
        return _run_py(self.tests, self.field.read(facts, tz), facts.now, tz)

    def to_sql(self, now: datetime) -> Clause:
        if self.field.target is None:
            raise ValueError(f"{self.field.path} has no SQL form")
        return _run_sql(self.tests, self.field.target(now, business_tz()), now)


@dataclass(frozen=True, slots=True)
class Always:
    """The empty condition."""

    def matches(self, facts: Facts) -> bool:
        return True

    def to_sql(self, now: datetime) -> Clause:
        return true()


@dataclass(frozen=True, slots=True)
class And:
    """Every part matches."""

    parts: tuple[Node, ...]

    def matches(self, facts: Facts) -> bool:
        return all(part.matches(facts) for part in self.parts)

    def to_sql(self, now: datetime) -> Clause:
        return and_(*(part.to_sql(now) for part in self.parts))


@dataclass(frozen=True, slots=True)
class Or:
    """Some part matches."""

    parts: tuple[Node, ...]

    def matches(self, facts: Facts) -> bool:
        return any(part.matches(facts) for part in self.parts)

    def to_sql(self, now: datetime) -> Clause:
        return or_(*(part.to_sql(now) for part in self.parts))


@dataclass(frozen=True, slots=True)
class Not:
    """The part does not match."""

    part: Node

    def matches(self, facts: Facts) -> bool:
        return not self.part.matches(facts)

    def to_sql(self, now: datetime) -> Clause:
        return not_(self.part.to_sql(now))


AT_LEAST_ONE = (Test("gte", 1),)
NONE = (Test("eq", 0),)


class _History:
    """Counts the customer's rows of ``table`` passing ``filters`` and tests the count."""

    table: ClassVar[Table]
    count: tuple[Test, ...]

    def filters(self, now: datetime) -> list[Clause]:
        """The rows counted, of every customer (the owner's test is added by the caller)."""
        raise NotImplementedError

    def matches(self, facts: Facts) -> bool:
        customer, found = facts.customer, None
        if customer is not None and facts.counts is not None:
            found = facts.counts.get(self, customer.customer_id, facts.now)
        if found is None:
            found = 0
            if facts.session is not None and customer is not None:
                owner = self.table.c.customer_id == customer.customer_id
                query = select(func.count()).select_from(self.table)
                found = int(facts.session.scalar(query.where(owner, *self.filters(facts.now))))
        return _run_py(self.count, found, facts.now, business_tz())

    def to_sql(self, now: datetime) -> Clause:
        owner, filters = self.table.c.customer_id, self.filters(now)
        if self.count in (AT_LEAST_ONE, NONE):
            found = exists(select(owner).where(owner == CUSTOMERS.c.customer_id, *filters))
            return found if self.count == AT_LEAST_ONE else not_(found)
        # One pass over the table grouped by customer, not a count per customer: the
        # customers whose count fails (when no rows pass, as 0 does) or passes.
        passes = _run_sql(self.count, CountTarget(func.count()), now)
        zero_passes = _run_py(self.count, 0, now, business_tz())
        having = not_(passes) if zero_passes else passes
        grouped = select(owner).where(*filters).group_by(owner).having(having).subquery()
        found = exists().where(grouped.c.customer_id == CUSTOMERS.c.customer_id)
        return not_(found) if zero_passes else found


@dataclass(frozen=True, slots=True)
class PolicyCount(_History):
    """How many of the customer's policies pass ``where``, tested by ``count``."""

    table: ClassVar[Table] = POLICIES
    where: tuple[FieldTest, ...]
    count: tuple[Test, ...]

    def filters(self, now: datetime) -> list[Clause]:
        return [w.to_sql(now) for w in self.where]

    def matches(self, facts: Facts) -> bool:
        if facts.policies is None:
            return _History.matches(self, facts)
        # The same tests as the SQL, on policies the caller loaded (a request that has
        # them already saves a round trip).
        tz = business_tz()
        found = sum(
            1
            for policy in facts.policies
            if all(
                _run_py(
                    w.tests, getattr(policy, w.field.path.split(".", 1)[1], None), facts.now, tz
                )
                for w in self.where
            )
        )
        return _run_py(self.count, found, facts.now, tz)


@dataclass(frozen=True, slots=True)
class EventCount(_History):
    """How many of the customer's events of ``types`` up to now (and ``within``) pass."""

    table: ClassVar[Table] = EVENTS
    types: tuple[str, ...]
    within: timedelta | None
    where: tuple[FieldTest, ...]
    count: tuple[Test, ...]

    def filters(self, now: datetime) -> list[Clause]:
        at = EVENTS.c.occurred_at
        window = [at <= now] if self.within is None else [at <= now, at >= now - self.within]
        return [EVENTS.c.type.in_(self.types), *window, *(w.to_sql(now) for w in self.where)]


@dataclass(frozen=True, slots=True)
class SegmentMembership(_History):
    """Whether the customer is now in any of ``segments`` (``count`` says in or not in)."""

    table: ClassVar[Table] = SEGMENT_MEMBERS
    segments: tuple[str, ...]
    count: tuple[Test, ...]

    def filters(self, now: datetime) -> list[Clause]:
        return [SEGMENT_MEMBERS.c.segment_id.in_(self.segments)]


# --- the compiled condition ----------------------------------------------------------


class Condition:
    """A compiled condition.

    Attributes:
        fields: every field path it names (``customer.age``, ``event.product``,
            ``policies``, ``policies.status``, ``events``, ``events.content`` …), and
            ``events:<type>`` for each event type it counts.
        uses_event: it names ``event.*`` or ``policy.*`` (so it has no SQL form).
        uses_history: it counts policies or events (Python needs ``Facts.session``).
    """

    __slots__ = ("_event_at", "_root", "fields", "uses_event", "uses_history")

    def __init__(self, root: Node, fields: frozenset[str], event_at: Path | None, history: bool):
        self._root, self.fields, self._event_at = root, fields, event_at
        self.uses_event, self.uses_history = event_at is not None, history

    def matches(self, facts: Facts) -> bool:
        """True when the customer (and event) in ``facts`` pass."""
        return self._root.matches(facts)

    def event_counts(self) -> list[EventCount]:
        """The ``events:`` counts it makes, for a caller that reads them ahead for many
        customers at once (``Facts.counts``)."""
        found, todo = [], [self._root]
        while todo:
            node = todo.pop()
            if isinstance(node, EventCount):
                found.append(node)
            elif isinstance(node, (And, Or)):
                todo.extend(node.parts)
            elif isinstance(node, Not):
                todo.append(node.part)
        return found

    def to_sql(self, now: datetime) -> ColumnElement[bool]:
        """A WHERE clause over ``customers`` as of ``now`` (aware).

        Raises:
            ConditionError: the condition names ``event.*`` or ``policy.*``.
        """
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError(f"to_sql needs an aware now, got {now!r}")
        if self._event_at is not None:
            raise ConditionError(self._event_at, _python_only(str(self._event_at[-1])))
        return self._root.to_sql(now)

    def __repr__(self) -> str:
        return f"Condition({self._root!r})"


def _python_only(path: str) -> str:
    return f"{path} exists only while an event is handled; it cannot select customers in SQL"
