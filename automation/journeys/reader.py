"""Parsed journey YAML into :class:`JourneySpec`, every problem noted with its line.

Each function reads one part of the file and reports to a shared
:class:`~automation.journeys.values.Problems`, carrying on past a bad part so that one
pass lists everything wrong with the file. A function returns ``None`` (or an empty
value) for a part it could not build.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from automation.journeys.definition import (
    ACTION_KINDS,
    DATE_FIELDS,
    EVENT_PATTERN,
    ID_PATTERN,
    NAME_PATTERN,
    PRIORITIES,
    PRODUCT_CODE,
    PRODUCT_RULES,
    TIMER_KINDS,
    Action,
    Arm,
    Branch,
    Entry,
    JourneySpec,
    Rule,
    StateSpec,
    TimerSpec,
)
from automation.journeys.values import (
    Problems,
    Where,
    clock_time,
    condition,
    duration,
    events,
    listed,
    matched,
    signed_duration,
    unknown_keys,
)

TOP_KEYS = {"journey", "name", "description", "entry", "goal", "exit", "start", "states"}
STATE_KEYS = {"do", "on", "after", "at", "branch", "split", "end"}


def read_journey(data: Any, out: Problems) -> JourneySpec | None:
    """The journey in parsed YAML, or None if too broken to build."""
    if not isinstance(data, dict):
        out.fail((), "a journey is a mapping with journey, name, entry, start and states")
        return None
    unknown_keys(data, TOP_KEYS, (), out)
    for key in ("journey", "name", "entry", "start", "states"):
        if key not in data:
            out.fail((), f"missing '{key}'")
    journey_id = matched(
        data, "journey", (), ID_PATTERN, "a lower-case slug like maturity-retention", out
    )
    states = read_states(data.get("states"), out)
    start = data.get("start")
    if isinstance(start, str) and states and start not in states:
        out.fail(("start",), f"start state '{start}' is not one of the states")
    goal = read_rule(data["goal"], ("goal",), out, with_to=False) if "goal" in data else None
    exits = tuple(
        r
        for i, item in enumerate(listed(data.get("exit"), ("exit",), out))
        if (r := read_rule(item, ("exit", i), out, with_to=False))
    )
    entry = read_entry(data.get("entry"), out)
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


# --- parts ------------------------------------------------------------------------------


def read_entry(data: Any, out: Problems) -> Entry | None:
    where: Where = ("entry",)
    if not isinstance(data, dict):
        out.fail(where, "entry must be a mapping with 'on'")
        return None
    unknown_keys(data, {"on", "when", "key", "reentry"}, where, out)
    found = events(data.get("on"), (*where, "on"), out)
    when = condition(data.get("when"), (*where, "when"), out)
    key = data.get("key")
    if key is not None and not (isinstance(key, str) and NAME_PATTERN.match(key)):
        out.fail((*where, "key"), "key must name an event property, like policy_id")
        key = None
    reentry, cooldown = read_reentry(data.get("reentry", "once"), (*where, "reentry"), out)
    if not found or when is None:
        return None
    return Entry(found, when, key, reentry, cooldown)


def read_reentry(value: Any, where: Where, out: Problems) -> tuple[str, timedelta | None]:
    if value in ("once", "always"):
        return str(value), None
    if isinstance(value, dict) and set(value) == {"after"}:
        wait = duration(value["after"], (*where, "after"), out)
        return "after", wait
    out.fail(where, "reentry is 'once', 'always' or {after: <duration>}")
    return "once", None


def read_states(data: Any, out: Problems) -> dict[str, StateSpec]:
    if not isinstance(data, dict) or not data:
        out.fail(("states",), "states must be a mapping of state names to states")
        return {}
    states: dict[str, StateSpec] = {}
    for name, body in data.items():
        where: Where = ("states", name)
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            out.fail(where, f"state name '{name}' must be lower_case_with_underscores")
            continue
        states[name] = read_state(name, body, where, out)
    return states


def read_state(name: str, body: Any, where: Where, out: Problems) -> StateSpec:
    if body is None:
        body = {}
    if not isinstance(body, dict):
        out.fail(where, f"state '{name}' must be a mapping")
        return StateSpec(name)
    unknown_keys(body, STATE_KEYS, where, out)
    actions = tuple(
        a
        for i, item in enumerate(listed(body.get("do"), (*where, "do"), out))
        if (a := read_action(item, i, (*where, "do", i), out))
    )
    rules = tuple(
        r
        for i, item in enumerate(listed(body.get("on"), (*where, "on"), out))
        if (r := read_rule(item, (*where, "on", i), out, with_to=True))
    )
    timers = tuple(
        t
        for kind in TIMER_KINDS
        if kind in body
        if (t := read_timer(kind, body[kind], (*where, kind), out))
    )
    end = body.get("end", False)
    if end not in (True, False):
        out.fail((*where, "end"), "end is true or absent")
    return StateSpec(
        name=name,
        actions=actions,
        on=rules,
        timers=timers,
        branch=read_branch(body.get("branch"), (*where, "branch"), out),
        split=read_split(body.get("split"), (*where, "split"), out),
        end=end is True,
    )


def read_rule(item: Any, where: Where, out: Problems, *, with_to: bool) -> Rule | None:
    """An ``on`` rule of a state (``with_to``), or a goal or exit (``on`` and ``when``)."""
    if not isinstance(item, dict):
        out.fail(
            where, "expected {event: type, when: condition" + (", to: state}" if with_to else "}")
        )
        return None
    allowed = {"event", "when", "to"} if with_to else {"on", "when"}
    unknown_keys(item, allowed, where, out)
    event_key = "event" if with_to else "on"
    found = events(item.get(event_key), (*where, event_key), out)
    when = condition(item.get("when"), (*where, "when"), out)
    to = item.get("to", "")
    if with_to and (not isinstance(to, str) or not to):
        out.fail(where, "missing 'to': the state to move to")
        return None
    if not found or when is None:
        return None
    return Rule(found, when, to)


def read_branch(value: Any, where: Where, out: Problems) -> tuple[Branch, ...]:
    branches: list[Branch] = []
    for i, item in enumerate(listed(value, where, out)):
        if isinstance(item, dict) and set(item) == {"else"} and isinstance(item["else"], str):
            branches.append(Branch(None, item["else"]))
        elif isinstance(item, dict) and set(item) == {"when", "to"} and isinstance(item["to"], str):
            cond = condition(item["when"], (*where, i, "when"), out)
            if cond is not None:
                branches.append(Branch(cond, item["to"]))
        else:
            out.fail(
                (*where, i), "a branch is {when: condition, to: state}; the last is {else: state}"
            )
    if branches and branches[-1].when is not None:
        out.fail(where, "a branch needs a last {else: state}, or customers can get stuck")
    return tuple(branches)


def read_split(value: Any, where: Where, out: Problems) -> tuple[Arm, ...]:
    arms: list[Arm] = []
    for i, item in enumerate(listed(value, where, out)):
        share = item.get("share") if isinstance(item, dict) else None
        if (
            not isinstance(item, dict)
            or not isinstance(share, int)
            or isinstance(share, bool)
            or not 0 < share <= 100
            or not isinstance(item.get("to"), str)
        ):
            out.fail((*where, i), "a split arm is {share: 1..100, to: state, control: true|false}")
            continue
        unknown_keys(item, {"share", "to", "control"}, (*where, i), out)
        arms.append(Arm(share, item["to"], item.get("control") is True))
    if arms and sum(a.share for a in arms) != 100:
        out.fail(where, f"split shares add up to {sum(a.share for a in arms)}, not 100")
    return tuple(arms)


# --- actions ----------------------------------------------------------------------------


def read_action(item: Any, index: int, where: Where, out: Problems) -> Action | None:
    if not isinstance(item, dict) or len(item) != 1 or next(iter(item)) not in ACTION_KINDS:
        out.fail(where, f"an action is one of {', '.join(ACTION_KINDS)}: {{email: template}}")
        return None
    kind, value = next(iter(item.items()))
    where = (*where, kind)
    if kind in ("email", "sms", "handoff"):
        args = _named_args(kind, value, where, out)
    elif kind == "call":
        args = _call_args(value, where, out)
    elif kind == "set":
        args = _set_args(value, where, out)
    else:
        args = _emit_args(value, where, out)
    return Action(kind, index, args) if args is not None else None


def _named_args(kind: str, value: Any, where: Where, out: Problems) -> dict[str, Any] | None:
    """E-mail and SMS name a template (and maybe a product); a handoff names a journey."""
    if isinstance(value, str) and value:
        return {"template" if kind != "handoff" else "journey": value}
    if kind != "handoff" and isinstance(value, dict):
        return _message_args(kind, value, where, out)
    what = "a journey id" if kind == "handoff" else "a template name, or {template: T, product: P}"
    out.fail(where, f"{kind} takes {what}")
    return None


def _message_args(
    kind: str, value: dict[Any, Any], where: Where, out: Problems
) -> dict[str, Any] | None:
    """``{template: cross_sell, product: EDU-CARE | best_for_customer | md_pick}``."""
    unknown_keys(value, {"template", "product"}, where, out)
    template, product = value.get("template"), value.get("product")
    if not isinstance(template, str) or not template:
        out.fail(where, f"{kind} needs a template: {{template: name, product: P}}")
        return None
    args: dict[str, Any] = {"template": template}
    if product is None:
        return args
    if not isinstance(product, str) or not PRODUCT_CODE.match(product):
        rules = ", ".join(PRODUCT_RULES)
        out.fail((*where, "product"), f"product is a product code or one of {rules}")
        return None
    return args | {"product": product}


def _call_args(value: Any, where: Where, out: Problems) -> dict[str, Any] | None:
    value = value or {}
    if not isinstance(value, dict) or not isinstance(value.get("queue", "default"), str):
        out.fail(where, "call takes {queue: name, priority: high|normal|low, due: 1d}")
        return None
    unknown_keys(value, {"queue", "priority", "due"}, where, out)
    priority = value.get("priority", "normal")
    if priority not in PRIORITIES:
        out.fail((*where, "priority"), f"priority is one of {', '.join(PRIORITIES)}")
    due = duration(value.get("due", "1d"), (*where, "due"), out)
    return {
        "queue": value.get("queue", "default"),
        "priority": priority,
        "due_seconds": due.total_seconds() if due else 86400,
    }


def _set_args(value: Any, where: Where, out: Problems) -> dict[str, Any] | None:
    if isinstance(value, dict) and value and all(isinstance(k, str) for k in value):
        return {"attributes": dict(value)}
    out.fail(where, "set takes a mapping of customer attributes to values")
    return None


def _emit_args(value: Any, where: Where, out: Problems) -> dict[str, Any] | None:
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, dict) or not EVENT_PATTERN.match(str(value.get("type", ""))):
        out.fail(where, "emit takes an event type, or {type: T, properties: {...}}")
        return None
    unknown_keys(value, {"type", "properties"}, where, out)
    return {"type": value["type"], "properties": dict(value.get("properties") or {})}


# --- timers -----------------------------------------------------------------------------


def read_timer(kind: str, value: Any, where: Where, out: Problems) -> TimerSpec | None:
    """A state's ``after`` or ``at`` timer."""
    if not isinstance(value, dict) or not isinstance(value.get("to"), str):
        example = (
            "{wait: 3d, to: state}"
            if kind == "after"
            else "{date: policy.maturity_date, offset: -20d, to: state}"
        )
        out.fail(where, f"{kind} takes {example}")
        return None
    if kind == "after":
        return _after_timer(value, where, out)
    return _at_timer(value, where, out)


def _after_timer(value: dict[str, Any], where: Where, out: Problems) -> TimerSpec | None:
    unknown_keys(value, {"wait", "to", "business_hours"}, where, out)
    wait = duration(value.get("wait"), (*where, "wait"), out)
    if not wait:
        return None
    business = value.get("business_hours", False) is True
    return TimerSpec("after", value["to"], wait=wait, business_hours=business)


def _at_timer(value: dict[str, Any], where: Where, out: Problems) -> TimerSpec | None:
    unknown_keys(value, {"date", "offset", "time", "to", "business_hours"}, where, out)
    date_field = value.get("date")
    # A mapping or a list is no field name (and cannot be looked up in a set).
    if not isinstance(date_field, str) or (
        date_field not in DATE_FIELDS and not date_field.startswith("event.")
    ):
        out.fail(
            (*where, "date"), f"date is one of {', '.join(sorted(DATE_FIELDS))} or event.<property>"
        )
        return None
    # Arguments run in order, so an offset problem is listed before a time problem.
    return TimerSpec(
        "at",
        value["to"],
        date_field=date_field,
        offset=signed_duration(value.get("offset", "0d"), (*where, "offset"), out),
        at_time=clock_time(value.get("time", "10:00"), (*where, "time"), out),
        business_hours=value.get("business_hours", False) is True,
    )
