"""A journey version compiled to one ``transitions`` state machine, shared by every
customer in it.

Customers are rows, not models: to move one, the engine looks up the machine's
transitions for the trigger and the customer's state, and takes the first whose
conditions pass (:meth:`Compiled.fire`), what ``Event.trigger`` decides, without its
model, event data and callback dispatch: a third of a move's journey step, profiled.
Triggers:

- ``goal:<event>`` and ``exit:<event>``: from every waiting state to the pseudo-states
  ``__converted__`` / ``__exited__``;
- ``event:<event>``: a state's ``on`` rules, guard conditions in order;
- ``timer:after`` / ``timer:at``: a state's timers;
- ``branch`` (conditions in order, the last unconditional) and ``split`` (by bucket).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from transitions import Machine

from automation.conditions import Condition
from automation.journeys.definition import JourneySpec

CONVERTED, EXITED = "__converted__", "__exited__"
# An event that a waiting state has no rule for is normal here, not worth a warning.
logging.getLogger("transitions.core").setLevel(logging.ERROR)


@dataclass(slots=True)
class _Data:
    """What a condition reads of the machine's event data: the trigger's arguments."""

    kwargs: dict[str, Any]


@dataclass(frozen=True)
class Compiled:
    """A version's spec and its machine."""

    version_id: int
    spec: JourneySpec
    machine: Machine

    def fire(self, trigger: str, state: str, **kwargs: Any) -> str | None:
        """The state a trigger moves ``state`` to, or None if nothing fires."""
        event = self.machine.events.get(trigger)
        arms = event.transitions.get(state) if event is not None else None
        if not arms:
            return None  # most events have no rule in most states
        data = _Data(kwargs)
        for transition in arms:  # in the order added: guard conditions in order
            if all(c.func(data) == c.target for c in transition.conditions):
                return str(transition.dest)
        return None


def compile_version(version_id: int, spec: JourneySpec) -> Compiled:
    """Build the machine for one published version."""
    waiting = [s.name for s in spec.states.values() if not s.end and not s.branch and not s.split]
    machine = Machine(
        model=None,
        states=[*spec.states, CONVERTED, EXITED],
        initial=spec.start,
        auto_transitions=False,
        send_event=True,
        ignore_invalid_triggers=True,
    )
    if spec.goal:
        for event in spec.goal.events:
            machine.add_transition(
                f"goal:{event}", waiting, CONVERTED, conditions=[_guard(spec.goal.when)]
            )
    for rule in spec.exits:
        for event in rule.events:
            machine.add_transition(f"exit:{event}", waiting, EXITED, conditions=[_guard(rule.when)])
    for state in spec.states.values():
        _state_transitions(machine, state)
    return Compiled(version_id, spec, machine)


def _state_transitions(machine: Machine, state: Any) -> None:
    for rule in state.on:
        for event in rule.events:
            machine.add_transition(
                f"event:{event}", state.name, rule.to, conditions=[_guard(rule.when)]
            )
    for timer in state.timers:
        machine.add_transition(f"timer:{timer.kind}", state.name, timer.to)
    for branch in state.branch:
        conditions = [_guard(branch.when)] if branch.when is not None else []
        machine.add_transition("branch", state.name, branch.to, conditions=conditions)
    low = 0
    for arm in state.split:
        machine.add_transition(
            "split", state.name, arm.to, conditions=[_bucket(low, low + arm.share)]
        )
        low += arm.share


def _guard(condition: Condition) -> Any:
    def check(event_data: _Data) -> bool:
        return condition.matches(event_data.kwargs["facts"])

    return check


def _bucket(low: int, high: int) -> Any:
    def check(event_data: _Data) -> bool:
        return low <= event_data.kwargs["bucket"] < high

    return check
