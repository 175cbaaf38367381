"""The journey definition format: YAML in, a validated, frozen :class:`JourneySpec` out.

Every problem is reported as ``FILE:LINE: reason``, all of them at once, so a
marketer fixes a file in one pass. See ``docs/journeys.md`` for the format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path
from typing import Any

from automation.conditions import Condition, ConditionError, compile_condition, parse_duration
from automation.errors import ValidationError
from automation.journeys import yamlmap
from automation.journeys.checks import check_graph, check_templates

ID_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,63}$")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
EVENT_PATTERN = re.compile(r"^[a-z][a-z0-9_.:-]{0,63}$")
TOP_KEYS = {"journey", "name", "description", "entry", "goal", "exit", "start", "states"}
STATE_KEYS = {"do", "on", "after", "at", "branch", "split", "end"}
ACTION_KINDS = ("email", "sms", "call", "set", "emit", "handoff")
DATE_FIELDS = {
    "policy.maturity_date",
    "policy.start_date",
    "customer.birth_date",
    "customer.joined_at",
}
PRIORITIES = ("high", "normal", "low")

Where = tuple[str | int, ...]


class SpecError(ValidationError):
    """A journey file was refused; ``problems`` are ``FILE:LINE: reason`` lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


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

    def templates(self) -> list[tuple[str, str]]:
        """(channel, template) for every e-mail and SMS action."""
        return [
            (a.kind, a.args["template"])
            for s in self.states.values()
            for a in s.actions
            if a.kind in ("email", "sms")
        ]


def load_file(path: Path, *, check_files: bool = True) -> JourneySpec:
    """Read and validate a journey file; raises :class:`SpecError` listing every problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError([f"{path}: no such file"]) from None
    except UnicodeDecodeError as exc:
        raise SpecError([f"{path}:1: not UTF-8 ({exc.reason})"]) from None
    return load_text(text, str(path), check_files=check_files)


def load_text(text: str, filename: str = "<journey>", *, check_files: bool = True) -> JourneySpec:
    """Validate YAML text; ``filename`` prefixes the problems."""
    try:
        data, lines = yamlmap.load(text)
    except yamlmap.YamlError as exc:
        raise SpecError([f"{filename}:{exc.line}: {exc}"]) from None
    reader = _Reader(filename, lines)
    spec = reader.journey(data)
    if spec is not None:
        reader.problems.extend(
            f"{filename}:{yamlmap.line_of(lines, where)}: {why}" for where, why in check_graph(spec)
        )
        if check_files:
            reader.problems.extend(
                f"{filename}:{yamlmap.line_of(lines, where)}: {why}"
                for where, why in check_templates(spec)
            )
    if reader.problems or spec is None:
        raise SpecError(reader.problems or [f"{filename}:1: empty journey"])
    return spec


def from_stored(raw: dict[str, Any]) -> JourneySpec:
    """A published version's spec, from the data stored with it."""
    reader = _Reader("<stored>", {})
    spec = reader.journey(raw)
    if spec is None or reader.problems:
        raise SpecError(reader.problems or ["<stored>: empty journey"])
    return spec


class _Reader:
    """Turns parsed YAML into specs, collecting problems with their lines."""

    def __init__(self, filename: str, lines: dict[yamlmap.Path, int]) -> None:
        self.filename = filename
        self.lines = lines
        self.problems: list[str] = []

    def fail(self, where: Where, why: str) -> None:
        self.problems.append(f"{self.filename}:{yamlmap.line_of(self.lines, where)}: {why}")

    def journey(self, data: Any) -> JourneySpec | None:
        if not isinstance(data, dict):
            self.fail((), "a journey is a mapping with journey, name, entry, start and states")
            return None
        self.unknown_keys(data, TOP_KEYS, ())
        for key in ("journey", "name", "entry", "start", "states"):
            if key not in data:
                self.fail((), f"missing '{key}'")
        journey_id = self.text(
            data, "journey", (), ID_PATTERN, "a lower-case slug like maturity-retention"
        )
        states = self.states(data.get("states"))
        start = data.get("start")
        if isinstance(start, str) and states and start not in states:
            self.fail(("start",), f"start state '{start}' is not one of the states")
        goal = self.rule(data["goal"], ("goal",), with_to=False) if "goal" in data else None
        exits = tuple(
            r
            for i, item in enumerate(self.listed(data.get("exit"), ("exit",)))
            if (r := self.rule(item, ("exit", i), with_to=False))
        )
        entry = self.entry(data.get("entry"))
        if journey_id is None or entry is None or not isinstance(start, str) or not states:
            return None
        return JourneySpec(
            journey_id=journey_id,
            name=str(data.get("name", journey_id)),
            description=str(data.get("description", "")).strip(),
            entry=entry,
            goal=goal,
            exits=exits,
            start=start,
            states=states,
            raw=data,
        )

    # --- parts ----------------------------------------------------------------------

    def entry(self, data: Any) -> Entry | None:
        where: Where = ("entry",)
        if not isinstance(data, dict):
            self.fail(where, "entry must be a mapping with 'on'")
            return None
        self.unknown_keys(data, {"on", "when", "key", "reentry"}, where)
        events = self.events(data.get("on"), (*where, "on"))
        when = self.condition(data.get("when"), (*where, "when"))
        key = data.get("key")
        if key is not None and not (isinstance(key, str) and NAME_PATTERN.match(key)):
            self.fail((*where, "key"), "key must name an event property, like policy_id")
            key = None
        reentry, cooldown = self.reentry(data.get("reentry", "once"), (*where, "reentry"))
        if not events or when is None:
            return None
        return Entry(events, when, key, reentry, cooldown)

    def reentry(self, value: Any, where: Where) -> tuple[str, timedelta | None]:
        if value in ("once", "always"):
            return str(value), None
        if isinstance(value, dict) and set(value) == {"after"}:
            wait = self.duration(value["after"], (*where, "after"))
            return "after", wait
        self.fail(where, "reentry is 'once', 'always' or {after: <duration>}")
        return "once", None

    def states(self, data: Any) -> dict[str, StateSpec]:
        if not isinstance(data, dict) or not data:
            self.fail(("states",), "states must be a mapping of state names to states")
            return {}
        out: dict[str, StateSpec] = {}
        for name, body in data.items():
            where: Where = ("states", name)
            if not isinstance(name, str) or not NAME_PATTERN.match(name):
                self.fail(where, f"state name '{name}' must be lower_case_with_underscores")
                continue
            out[name] = self.state(name, body, where)
        return out

    def state(self, name: str, body: Any, where: Where) -> StateSpec:
        if body is None:
            body = {}
        if not isinstance(body, dict):
            self.fail(where, f"state '{name}' must be a mapping")
            return StateSpec(name)
        self.unknown_keys(body, STATE_KEYS, where)
        actions = tuple(
            a
            for i, item in enumerate(self.listed(body.get("do"), (*where, "do")))
            if (a := self.action(item, i, (*where, "do", i)))
        )
        rules = tuple(
            r
            for i, item in enumerate(self.listed(body.get("on"), (*where, "on")))
            if (r := self.rule(item, (*where, "on", i), with_to=True))
        )
        timers = tuple(
            t
            for kind in ("after", "at")
            if kind in body
            if (t := self.timer(kind, body[kind], (*where, kind)))
        )
        end = body.get("end", False)
        if end not in (True, False):
            self.fail((*where, "end"), "end is true or absent")
        return StateSpec(
            name=name,
            actions=actions,
            on=rules,
            timers=timers,
            branch=self.branch(body.get("branch"), (*where, "branch")),
            split=self.split(body.get("split"), (*where, "split")),
            end=end is True,
        )

    def action(self, item: Any, index: int, where: Where) -> Action | None:
        if not isinstance(item, dict) or len(item) != 1 or next(iter(item)) not in ACTION_KINDS:
            self.fail(where, f"an action is one of {', '.join(ACTION_KINDS)}: {{email: template}}")
            return None
        kind, value = next(iter(item.items()))
        args = self.action_args(kind, value, (*where, kind))
        return Action(kind, index, args) if args is not None else None

    def action_args(self, kind: str, value: Any, where: Where) -> dict[str, Any] | None:
        if kind in ("email", "sms", "handoff"):
            if isinstance(value, str) and value:
                return {"template" if kind != "handoff" else "journey": value}
            self.fail(
                where, f"{kind} takes a {'journey id' if kind == 'handoff' else 'template name'}"
            )
            return None
        if kind == "call":
            value = value or {}
            if not isinstance(value, dict) or not isinstance(value.get("queue", "default"), str):
                self.fail(where, "call takes {queue: name, priority: high|normal|low, due: 1d}")
                return None
            self.unknown_keys(value, {"queue", "priority", "due"}, where)
            priority = value.get("priority", "normal")
            if priority not in PRIORITIES:
                self.fail((*where, "priority"), f"priority is one of {', '.join(PRIORITIES)}")
            due = self.duration(value.get("due", "1d"), (*where, "due"))
            return {
                "queue": value.get("queue", "default"),
                "priority": priority,
                "due_seconds": due.total_seconds() if due else 86400,
            }
        if kind == "set":
            if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
                return {"attributes": dict(value)}
            self.fail(where, "set takes a mapping of customer attributes to values")
            return None
        # emit
        if isinstance(value, str):
            value = {"type": value}
        if not isinstance(value, dict) or not EVENT_PATTERN.match(str(value.get("type", ""))):
            self.fail(where, "emit takes an event type, or {type: T, properties: {...}}")
            return None
        self.unknown_keys(value, {"type", "properties"}, where)
        return {"type": value["type"], "properties": dict(value.get("properties") or {})}

    def rule(self, item: Any, where: Where, *, with_to: bool) -> Rule | None:
        if not isinstance(item, dict):
            self.fail(
                where,
                "expected {event: type, when: condition" + (", to: state}" if with_to else "}"),
            )
            return None
        allowed = {"event", "when", "to"} if with_to else {"on", "when"}
        self.unknown_keys(item, allowed, where)
        event_key = "event" if with_to else "on"
        events = self.events(item.get(event_key), (*where, event_key))
        when = self.condition(item.get("when"), (*where, "when"))
        to = item.get("to", "")
        if with_to and (not isinstance(to, str) or not to):
            self.fail(where, "missing 'to': the state to move to")
            return None
        if not events or when is None:
            return None
        return Rule(events, when, to)

    def timer(self, kind: str, value: Any, where: Where) -> TimerSpec | None:
        if not isinstance(value, dict) or not isinstance(value.get("to"), str):
            example = (
                "{wait: 3d, to: state}"
                if kind == "after"
                else "{date: policy.maturity_date, offset: -20d, to: state}"
            )
            self.fail(where, f"{kind} takes {example}")
            return None
        business = value.get("business_hours", False)
        if kind == "after":
            self.unknown_keys(value, {"wait", "to", "business_hours"}, where)
            wait = self.duration(value.get("wait"), (*where, "wait"))
            return (
                TimerSpec("after", value["to"], wait=wait, business_hours=business is True)
                if wait
                else None
            )
        self.unknown_keys(value, {"date", "offset", "time", "to", "business_hours"}, where)
        date_field = value.get("date")
        if date_field not in DATE_FIELDS and not (
            isinstance(date_field, str) and date_field.startswith("event.")
        ):
            self.fail(
                (*where, "date"),
                f"date is one of {', '.join(sorted(DATE_FIELDS))} or event.<property>",
            )
            return None
        offset = self.signed_duration(value.get("offset", "0d"), (*where, "offset"))
        at_time = self.clock_time(value.get("time", "10:00"), (*where, "time"))
        return TimerSpec(
            "at",
            value["to"],
            date_field=date_field,
            offset=offset,
            at_time=at_time,
            business_hours=business is True,
        )

    def branch(self, value: Any, where: Where) -> tuple[Branch, ...]:
        out: list[Branch] = []
        for i, item in enumerate(self.listed(value, where)):
            if isinstance(item, dict) and set(item) == {"else"} and isinstance(item["else"], str):
                out.append(Branch(None, item["else"]))
            elif (
                isinstance(item, dict)
                and set(item) == {"when", "to"}
                and isinstance(item["to"], str)
            ):
                cond = self.condition(item["when"], (*where, i, "when"))
                if cond is not None:
                    out.append(Branch(cond, item["to"]))
            else:
                self.fail(
                    (*where, i),
                    "a branch is {when: condition, to: state}; the last is {else: state}",
                )
        if out and out[-1].when is not None:
            self.fail(where, "a branch needs a last {else: state}, or customers can get stuck")
        return tuple(out)

    def split(self, value: Any, where: Where) -> tuple[Arm, ...]:
        arms: list[Arm] = []
        for i, item in enumerate(self.listed(value, where)):
            share = item.get("share") if isinstance(item, dict) else None
            if (
                not isinstance(item, dict)
                or not isinstance(share, int)
                or isinstance(share, bool)
                or not 0 < share <= 100
                or not isinstance(item.get("to"), str)
            ):
                self.fail(
                    (*where, i), "a split arm is {share: 1..100, to: state, control: true|false}"
                )
                continue
            self.unknown_keys(item, {"share", "to", "control"}, (*where, i))
            arms.append(Arm(share, item["to"], item.get("control") is True))
        if arms and sum(a.share for a in arms) != 100:
            self.fail(where, f"split shares add up to {sum(a.share for a in arms)}, not 100")
        return tuple(arms)

    # --- values -----------------------------------------------------------------------

    def condition(self, value: Any, where: Where) -> Condition | None:
        try:
            return compile_condition(value)
        except ConditionError as exc:
            self.fail((*where, *exc.path), str(exc))
            return None

    def events(self, value: Any, where: Where) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not items:
            self.fail(where, "name an event type, or a list of them")
            return ()
        for i, name in enumerate(items):
            if not isinstance(name, str) or not EVENT_PATTERN.match(name):
                self.fail(
                    (*where, i) if isinstance(value, list) else where,
                    f"'{name}' is not an event type",
                )
                return ()
        return tuple(items)

    def duration(self, value: Any, where: Where) -> timedelta | None:
        try:
            return parse_duration(str(value)) if value is not None else self._missing(where)
        except ValueError as exc:
            self.fail(where, f"'{value}': {exc}")
            return None

    def signed_duration(self, value: Any, where: Where) -> timedelta:
        text = str(value).strip()
        sign = -1 if text.startswith("-") else 1
        text = text.lstrip("+-")
        if text in ("0", "0d"):
            return timedelta(0)
        wait = self.duration(text, where)
        return sign * wait if wait else timedelta(0)

    def clock_time(self, value: Any, where: Where) -> time:
        if isinstance(value, int):  # YAML 1.1 reads 10:00 as sexagesimal 600
            return time(value // 60 % 24, value % 60)
        try:
            return time.fromisoformat(str(value))
        except ValueError:
            self.fail(where, f"time '{value}' is not HH:MM")
            return time(10, 0)

    def _missing(self, where: Where) -> None:
        self.fail(where, "a duration is needed, like 3d")
        return None

    def text(
        self, data: dict[str, Any], key: str, where: Where, pattern: re.Pattern[str], hint: str
    ) -> str | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not pattern.match(value):
            self.fail((*where, key), f"{key} '{value}' must be {hint}")
            return None
        return value

    def listed(self, value: Any, where: Where) -> list[Any]:
        if value is None:
            return []
        if isinstance(value, list):
            return value
        if isinstance(value, dict):
            return [value]
        self.fail(where, "expected a list")
        return []

    def unknown_keys(self, data: dict[str, Any], allowed: set[str], where: Where) -> None:
        for key in data:
            if key not in allowed:
                self.fail(
                    (*where, key),
                    f"unknown key '{key}' (expected one of {', '.join(sorted(allowed))})",
                )
