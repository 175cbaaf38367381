"""The frozen journey definition types and the values they may hold.

They live apart from :mod:`automation.journeys.spec` (which re-exports them) so that
the reader and the checks can build and inspect them without importing the entry
points that use both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any

from automation.conditions import Condition

ID_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,63}$")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
EVENT_PATTERN = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
ACTION_KINDS = ("email", "sms", "call", "set", "emit", "handoff")
DATE_FIELDS = {
    "policy.maturity_date",
    "policy.start_date",
    "customer.birth_date",
    "customer.joined_at",
}
PRIORITIES = ("high", "normal", "low")
# What an e-mail or SMS may name as its product besides a product code: a rule chosen
# per customer when the message is decided (``journeys/products.py``).
PRODUCT_RULES = ("best_for_customer", "md_pick")
PRODUCT_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True, slots=True)
class Action:
    """One thing done on entering a state; ``index`` makes its message key unique."""

    kind: str
    index: int
    args: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Rule:
    """An event (one of ``events``) that passes ``when``; ``to`` is empty for goal and exit."""

    events: tuple[str, ...]
    when: Condition
    to: str = ""


TIMER_KINDS = ("after", "at")


@dataclass(frozen=True, slots=True)
class TimerSpec:
    """``after`` a wait from entering the state, or ``at`` a date field plus an offset."""

    kind: str
    to: str
    wait: timedelta | None = None
    date_field: str | None = None
    offset: timedelta = timedelta(0)
    at_time: time = time(10, 0)
    business_hours: bool = False


@dataclass(frozen=True, slots=True)
class Branch:
    when: Condition | None  # None: the else branch
    to: str


@dataclass(frozen=True, slots=True)
class Arm:
    share: int
    to: str
    control: bool = False


@dataclass(frozen=True, slots=True)
class StateSpec:
    name: str
    actions: tuple[Action, ...] = ()
    on: tuple[Rule, ...] = ()
    timers: tuple[TimerSpec, ...] = ()
    branch: tuple[Branch, ...] = ()
    split: tuple[Arm, ...] = ()
    end: bool = False

    def targets(self) -> list[str]:
        """Every state this one can move to."""
        return (
            [r.to for r in self.on]
            + [t.to for t in self.timers]
            + [b.to for b in self.branch]
            + [a.to for a in self.split]
        )


@dataclass(frozen=True, slots=True)
class Entry:
    events: tuple[str, ...]
    when: Condition
    key: str | None = None  # an event property: one enrollment per value
    reentry: str = "once"  # once | always | after
    cooldown: timedelta | None = None


@dataclass(frozen=True)
class JourneySpec:
    """A validated journey; ``raw`` is the parsed YAML, stored with each version."""

    journey_id: str
    name: str
    description: str
    entry: Entry
    goal: Rule | None
    exits: tuple[Rule, ...]
    start: str
    states: dict[str, StateSpec]
    raw: dict[str, Any] = field(repr=False)

    def state(self, name: str) -> StateSpec:
        return self.states[name]

    def products(self) -> list[tuple[tuple[str | int, ...], str]]:
        """(where in the file, code) for every product code an action names (not rules)."""
        return [
            (("states", s.name, "do", a.index, a.kind, "product"), a.args["product"])
            for s in self.states.values()
            for a in s.actions
            if a.args.get("product") and a.args["product"] not in PRODUCT_RULES
        ]

    def templates(self) -> list[tuple[str, str]]:
        """(channel, template) for every e-mail and SMS action."""
        return [
            (a.kind, a.args["template"])
            for s in self.states.values()
            for a in s.actions
            if a.kind in ("email", "sms")
        ]
