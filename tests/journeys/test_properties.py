"""Properties of the journey engine over random event sequences (SQLite and PostgreSQL).

Each example sets up one or two customers (with their maturing policies), then plays a
random sequence of steps through the real engine with a frozen clock: events, clock
moves (timers fired, then processed), second ticks at the same instant, re-deliveries
of processed events and re-ingests of identical event ids. After every step the
invariants of ``docs/journeys.md`` ("How it runs", "The parts") are checked against
the rows. Every example starts from wiped customer, event and journey-run tables (the
published journeys stay), so examples are independent.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from automation import clock
from automation.db import get_engine, session_scope
from automation.events.ingest import ingest
from automation.journeys import registry
from automation.journeys.compiler import CONVERTED, EXITED
from automation.journeys.definition import JourneySpec, StateSpec
from automation.journeys.moves import bucket
from automation.journeys.registry import builtin_files, publish_files
from automation.models import (
    Customer,
    Enrollment,
    Event,
    Message,
    Timer,
    Transition,
    metadata,
)
from automation.scheduler.jobs.timers import fire_due_timers
from automation.worker import process
from tests.journey_world import World

# --- the scene ----------------------------------------------------------------------

MATURITY = {"P1": date(2026, 11, 22), "P2": date(2026, 12, 1)}  # 20 and 29 days after START
KEEP = {"journeys", "journey_versions", "products", "api_keys"}  # published, not per example


def _ids(holdout: bool) -> list[str]:
    """Customer ids that maturity-retention's split sends to the holdout (or the offer)."""
    ids = (f"C{n}" for n in itertools.count(1))
    return list(
        itertools.islice((c for c in ids if (bucket("maturity-retention", c) < 10) == holdout), 2)
    )


CUSTOMER_IDS = {"offer": _ids(False), "holdout": _ids(True)}


@dataclass(frozen=True)
class Person:
    """One customer of an example: split arm, lifecycle stage, a second maturing policy."""

    arm: str
    stage: str
    second_policy: bool


# (type, argument): a symbolic policy id (P1, P2 maturing; N1 new), an outcome or a url.
EVENTS: list[tuple[str, str | None]] = [
    ("policy_maturity_approaching", "P1"),
    ("policy_maturity_approaching", "P1"),
    ("policy_maturity_approaching", "P2"),
    ("email_clicked", None),
    ("email_clicked", "P1"),
    ("email_clicked", "P2"),
    ("sms_replied", None),
    ("call_completed", "interested"),
    ("call_completed", "appointment"),
    ("call_completed", "no_answer"),
    ("policy_renewed", "P1"),
    ("policy_renewed", "P2"),
    ("policy_purchased", "N1"),
    ("policy_purchased", "P1"),
    ("policy_cancelled", "P1"),
    ("policy_cancelled", "P2"),
    ("policy_matured", "P1"),
    ("policy_matured", "P2"),
    ("unsubscribed", None),
    ("signup", None),
    ("customer_dormant", None),
    ("page_view", "/products/edu-care"),
    ("login", None),
]
GOAL_EVENTS = [
    ("policy_renewed", "P1"),
    ("policy_renewed", "P2"),
    ("policy_purchased", "N1"),
    ("policy_purchased", "P1"),
    ("login", None),
    ("page_view", "/"),
]
APPROACH = ("event", 0, "policy_maturity_approaching", "P1")
HOURS = [1, 23, 25, 72, 96, 168, 240]

people = st.builds(
    Person,
    arm=st.sampled_from(["offer", "offer", "offer", "holdout"]),
    stage=st.sampled_from(["member", "customer", "repeat"]),
    second_policy=st.booleans(),
)
who = st.integers(0, 1)
event_step = st.builds(lambda w, e: ("event", w, *e), who, st.sampled_from(EVENTS))
wait_step = st.sampled_from(HOURS).map(lambda h: ("wait", h))
tick_step = st.just(("tick",))
redeliver_step = st.builds(
    lambda i, n: ("redeliver", i, n), st.integers(0, 40), st.sampled_from([1, 1, 2, 3, 0])
)
reingest_step = st.builds(lambda i: ("reingest", i), st.integers(0, 40))
# Weighted: st.one_of would take each distinct strategy once, events as often as ticks.
STEP_KINDS = [event_step] * 5 + [wait_step] * 3 + [tick_step, redeliver_step, reingest_step]
step = st.sampled_from(STEP_KINDS).flatmap(lambda kind: kind)


# How a sequence starts: mostly with an entry into maturity-retention (first customer, P1).
LEADS: list[list[tuple[Any, ...]]] = [
    [APPROACH],
    [APPROACH],
    [APPROACH, ("event", 1, "policy_maturity_approaching", "P1")],
    [APPROACH, ("event", 0, "policy_maturity_approaching", "P2")],
    [("event", 0, "signup", None)],
    [("event", 0, "customer_dormant", None)],
    [],
]


def sequences(min_size: int = 1, max_size: int = 11) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    """A lead (above), then random steps."""
    return st.builds(
        lambda lead, rest: lead + rest,
        st.sampled_from(LEADS),
        st.lists(step, min_size=min_size, max_size=max_size),
    )


def around(middle: st.SearchStrategy[tuple[Any, ...]]) -> st.SearchStrategy[list[tuple[Any, ...]]]:
    """Steps with ``middle`` somewhere inside them (and steps after it, timers included)."""
    return st.builds(
        lambda before, mid, after: [APPROACH, *before, mid, *after],
        st.lists(step, max_size=5),
        middle,
        st.lists(st.one_of(step, wait_step), max_size=5),
    )


people_lists = st.lists(people, min_size=1, max_size=2)
SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# --- rows, as plain values ----------------------------------------------------------


@dataclass
class Rows:
    """Everything the engine wrote, read back after a step."""

    enrollments: dict[int, Enrollment]
    paths: dict[int, list[Transition]]  # per enrollment, in order
    messages: list[Message]
    timers: list[Timer]
    events: list[Event]
    stages: dict[str, str]
    specs: dict[int, JourneySpec]

    def active(self, customer_id: str, journey: str | None = None) -> list[Enrollment]:
        return [
            e
            for e in self.enrollments.values()
            if e.customer_id == customer_id
            and e.status == "active"
            and (journey is None or e.journey_id == journey)
        ]

    def digest(self) -> dict[str, Any]:
        """What a re-delivery must leave unchanged."""
        return {
            "enrollments": sorted(
                (e.id, e.state, e.step, e.status, e.outcome_event_id, e.last_message_id)
                for e in self.enrollments.values()
            ),
            "transitions": sum(len(p) for p in self.paths.values()),
            "messages": sorted(m.id for m in self.messages),
            "timers": sorted((t.id, t.fired_at) for t in self.timers),
            "events": sorted((e.id, e.processed_at, e.attempts) for e in self.events),
            "stages": self.stages,
        }


def read_rows() -> Rows:
    with session_scope() as s:
        enrollments = {e.id: e for e in s.exec(select(Enrollment))}
        paths: dict[int, list[Transition]] = defaultdict(list)
        for t in s.exec(select(Transition).order_by(col(Transition.id))):
            paths[t.enrollment_id].append(t)
        specs = {
            v: registry.compiled(s, v).spec for v in {e.version_id for e in enrollments.values()}
        }
        return Rows(
            enrollments=enrollments,  # type: ignore[arg-type]
            paths=dict(paths),
            messages=list(s.exec(select(Message).order_by(col(Message.id)))),
            timers=list(s.exec(select(Timer).order_by(col(Timer.id)))),
            events=list(s.exec(select(Event).order_by(col(Event.id)))),
            stages={c.customer_id: c.lifecycle_stage for c in s.exec(select(Customer))},
            specs=specs,
        )


def waiting(state: StateSpec) -> bool:
    return not state.end and not state.branch and not state.split


def wipe() -> None:
    """Empty the tables one example writes (a few rows: DELETE beats TRUNCATE); the
    published journeys stay."""
    with get_engine().begin() as conn:
        for table in reversed(metadata.sorted_tables):
            if table.name not in KEEP:
                conn.execute(table.delete())


# --- the driver ---------------------------------------------------------------------


class Run(World):
    """One example: the scene, the steps, and the invariants checked after each step."""

    def __init__(self, people_: list[Person], checks: set[str]) -> None:
        wipe()
        super().__init__(builtin=False)  # freezes the clock at START
        self.checks = checks
        self.customers: list[str] = []
        self.sent: list[dict[str, Any]] = []  # raw events, to post again
        self.fired: dict[int, datetime] = {}  # timer id -> its fired_at
        self.closed: dict[int, tuple[str, list[int]]] = {}  # finished -> its messages
        self.where = "setup"
        self._events = itertools.count(1)
        taken: Counter[str] = Counter()
        for person in people_:
            cid = CUSTOMER_IDS[person.arm][taken[person.arm]]
            taken[person.arm] += 1
            self.customer(cid, lifecycle_stage=person.stage)
            self.policy(self.policy_id(cid, "P1"), cid, MATURITY["P1"])
            if person.second_policy:
                self.policy(self.policy_id(cid, "P2"), cid, MATURITY["P2"])
            self.customers.append(cid)

    @staticmethod
    def policy_id(customer_id: str, symbol: str) -> str:
        return f"{customer_id}-{symbol}"

    # --- playing ----------------------------------------------------------------------

    def play(self, steps: list[tuple[Any, ...]]) -> None:
        rows = read_rows()
        self.check(rows)
        for n, current in enumerate(steps):
            self.where = f"step {n} {current!r}"
            before, sent = rows, None
            kind = current[0]
            if kind == "event":
                sent = self.event(*current[1:])
            elif kind == "wait":
                clock.advance(timedelta(hours=current[1]))
                self.fire(before)
            elif kind == "tick":
                self.fire(before)
            elif kind == "redeliver":
                self.redeliver(before, current[1], current[2])
            elif kind == "reingest":
                self.reingest(before, current[1])
            rows = read_rows()
            if sent is not None and "goal" in self.checks:
                self.check_goal(before, rows, *sent)
            if sent is not None and "exit" in self.checks and sent[1] == "unsubscribed":
                self.check_exit(before, rows, sent[0], sent[2])
            self.check(rows)

    def event(self, who: int, type_: str, arg: str | None) -> tuple[str, str, int]:
        """A customer's event, ingested now and processed; (customer, type, event pk)."""
        cid = self.customers[who % len(self.customers)]
        properties: dict[str, Any] = {}
        if type_ == "call_completed":
            properties["outcome"] = arg
        elif type_ == "page_view":
            properties["url"] = arg
        elif arg is not None:
            properties["policy_id"] = self.policy_id(cid, arg)
        raw = {
            "event_id": f"e{next(self._events)}",
            "type": type_,
            "customer_id": cid,
            "occurred_at": clock.now().isoformat(),
            "properties": properties,
        }
        result = ingest([raw], publish=False)
        assert result.rejected == 0, result.summary()
        self.sent.append(raw)
        self.process()
        return cid, type_, result.stored_ids[0]

    def fire(self, before: Rows) -> None:
        """A scheduler tick: due timers become events, then the worker processes them."""
        emitted = fire_due_timers()
        if "timers" in self.checks:
            now_fired = {t.id for t in read_rows().timers if t.fired_at is not None}
            newly = now_fired - {t.id for t in before.timers if t.fired_at is not None}
            assert emitted == len(newly), (
                f"{self.where}: the tick emitted {emitted} timer_due events for "
                f"{len(newly)} timers that had not fired"
            )
            again = fire_due_timers()
            assert again == 0, f"{self.where}: a second tick at the same instant emitted {again}"
        self.process()

    def redeliver(self, before: Rows, index: int, width: int) -> None:
        """The broker hands the worker events it already processed (a chunk of them)."""
        done = [e.id for e in before.events if e.processed_at is not None]
        if not done:
            return
        start = index % len(done)
        chunk = done if width == 0 else done[start : start + width]
        took = process.process_events([pk for pk in chunk if pk is not None])
        assert took == 0, f"{self.where}: re-delivered events {chunk} took effect ({took})"
        self.process()
        if "redelivery" in self.checks:
            self.check_unchanged(before, f"re-delivering events {chunk}")

    def reingest(self, before: Rows, index: int) -> None:
        """A sender posts an event again, with the same event_id."""
        if not self.sent:
            return
        raw = self.sent[index % len(self.sent)]
        result = ingest([raw], publish=False)
        assert result.stored_ids == [], f"{self.where}: {raw['event_id']} stored twice"
        self.process()
        if "redelivery" in self.checks:
            self.check_unchanged(before, f"re-ingesting {raw['event_id']} ({raw['type']})")

    # --- the invariants -----------------------------------------------------------------

    def check(self, rows: Rows) -> None:
        if "enrollments" in self.checks:
            self.check_enrollments(rows)
        if "messages" in self.checks:
            self.check_messages(rows)
        if "timers" in self.checks:
            self.check_timers(rows)
        if "exit" in self.checks:
            self.check_closed(rows)

    def check_enrollments(self, rows: Rows) -> None:
        """1. One active enrollment per (journey, customer, key); states and statuses agree."""
        active = Counter(
            (e.journey_id, e.customer_id, e.key)
            for e in rows.enrollments.values()
            if e.status == "active"
        )
        for place, n in active.items():
            assert n == 1, f"{self.where}: {n} active enrollments for {place}"
        for e in rows.enrollments.values():
            spec = rows.specs[e.version_id]
            name = f"{self.where}: enrollment {e.id} ({e.journey_id}, {e.customer_id}, {e.key!r})"
            if e.status == "active":
                assert e.state in spec.states, f"{name}: active in unknown state {e.state}"
                assert waiting(spec.states[e.state]), f"{name}: active in non-waiting {e.state}"
                assert e.exited_at is None and e.outcome_event_id is None, f"{name}: finished?"
            elif e.status == "converted":
                assert e.state == CONVERTED, f"{name}: converted but in {e.state}"
            elif e.status == "exited":
                assert e.state == EXITED or "handed_to" in e.context, f"{name}: exited in {e.state}"
            elif e.status == "completed":
                assert e.state in spec.states and spec.states[e.state].end, (
                    f"{name}: completed in {e.state}, not an end state"
                )
            else:
                raise AssertionError(f"{name}: unknown status {e.status}")
            if e.status in ("converted", "exited"):
                assert e.outcome_event_id is not None, f"{name}: {e.status} without its event"
            if e.status != "active":
                assert e.exited_at is not None, f"{name}: {e.status} without exited_at"
            path = rows.paths.get(e.id, [])
            assert len(path) == e.step + 1, f"{name}: step {e.step} but {len(path)} transitions"
            assert path[0].from_state is None and path[0].trigger == "entry", f"{name}: no entry"
            assert path[0].to_state == spec.start, f"{name}: entered at {path[0].to_state}"
            for a, b in itertools.pairwise(path):
                assert b.from_state == a.to_state, f"{name}: path {a.to_state}/{b.from_state}"
            assert path[-1].to_state == e.state, f"{name}: last move to {path[-1].to_state}"

    def check_messages(self, rows: Rows) -> None:
        """2. One message per (enrollment, step, action), each in a state its log entered."""
        keys = Counter(m.idempotency_key for m in rows.messages)
        assert all(n == 1 for n in keys.values()), f"{self.where}: duplicate keys {keys}"
        decided = Counter()
        last: dict[int, int] = {}
        for m in rows.messages:
            assert m.enrollment_id is not None
            _, enrollment_id, step_, action = m.idempotency_key.split(":")
            slot = (int(enrollment_id), int(step_), int(action))
            decided[slot] += 1
            e = rows.enrollments[m.enrollment_id]
            name = f"{self.where}: message {m.id} ({m.idempotency_key}, {m.state})"
            assert slot[0] == e.id, f"{name}: key names another enrollment than {e.id}"
            assert (m.customer_id, m.journey_id) == (e.customer_id, e.journey_id), name
            assert not e.control, f"{name}: the holdout was messaged"
            path = rows.paths[e.id]
            assert slot[1] < len(path), f"{name}: step {slot[1]} never reached"
            assert path[slot[1]].to_state == m.state, (
                f"{name}: step {slot[1]} of enrollment {e.id} entered {path[slot[1]].to_state}"
            )
            actions = rows.specs[e.version_id].states[m.state].actions
            assert actions[slot[2]].kind == m.channel, f"{name}: action {slot[2]} isn't {m.channel}"
            last[e.id] = m.id  # type: ignore[assignment]
        assert all(n == 1 for n in decided.values()), f"{self.where}: {decided}"
        for e in rows.enrollments.values():
            assert e.last_message_id == last.get(e.id), (  # type: ignore[arg-type]
                f"{self.where}: enrollment {e.id} names {e.last_message_id} as its last message"
            )

    def check_timers(self, rows: Rows) -> None:
        """3. A timer fires once: fired_at never changes, one timer_due event per fired timer."""
        for t in rows.timers:
            name = f"{self.where}: timer {t.id} (enrollment {t.enrollment_id}, step {t.step})"
            if t.id in self.fired:
                assert t.fired_at == self.fired[t.id], (
                    f"{name}: fired at {self.fired[t.id]}, then again at {t.fired_at}"
                )
            elif t.fired_at is not None:
                self.fired[t.id] = t.fired_at  # type: ignore[index]
        due = Counter(e.properties["timer_id"] for e in rows.events if e.type == "timer_due")
        for timer_id, n in due.items():
            assert n == 1, f"{self.where}: {n} timer_due events for timer {timer_id}"
        for e in rows.events:
            if e.type == "timer_due":
                assert e.event_id == f"timer:{e.properties['timer_id']}", e.event_id
        assert set(due) == set(self.fired), (
            f"{self.where}: timer_due events for {sorted(due)}, fired timers {sorted(self.fired)}"
        )
        pending = {(t.enrollment_id, t.step, t.kind) for t in rows.timers if t.fired_at is None}
        for e in rows.enrollments.values():
            if e.status != "active":
                continue
            for spec in rows.specs[e.version_id].states[e.state].timers:
                if spec.kind == "after":
                    assert (e.id, e.step, "after") in pending, (
                        f"{self.where}: enrollment {e.id} waits in {e.state} with no pending timer"
                    )

    def check_unchanged(self, before: Rows, what: str) -> None:
        """4. Re-delivery of an event already processed changes nothing."""
        was, now = before.digest(), read_rows().digest()
        for part in was:
            assert now[part] == was[part], (
                f"{self.where}: {what} changed the {part}: {was[part]} -> {now[part]}"
            )

    def check_goal(self, before: Rows, after: Rows, cid: str, type_: str, pk: int) -> None:
        """5. A goal event converts every enrollment of the customer in that journey."""
        for journey, events in GOALS.items():
            if type_ not in events:
                continue
            if journey == "conversion-ladder" and after.stages[cid] != "repeat":
                continue  # its goal counts only once the customer holds a second policy
            for e in before.active(cid, journey):
                now = after.enrollments[e.id]  # type: ignore[index]
                assert (now.status, now.state, now.outcome_event_id) == (
                    "converted",
                    CONVERTED,
                    pk,
                ), (
                    f"{self.where}: {type_} (event {pk}) is a goal of {journey}, but "
                    f"enrollment {e.id} (key {e.key!r}) is {now.status} in {now.state}"
                )
            still = [(e.id, e.key, e.state) for e in after.active(cid, journey)]
            assert not still, f"{self.where}: after the goal {type_}, still active: {still}"

    def check_exit(self, before: Rows, after: Rows, cid: str, pk: int) -> None:
        """6a. Unsubscribing exits every journey the customer is in."""
        for e in before.active(cid):
            now = after.enrollments[e.id]  # type: ignore[index]
            assert (now.status, now.state, now.outcome_event_id) == ("exited", EXITED, pk), (
                f"{self.where}: enrollment {e.id} ({e.journey_id}) is {now.status} in "
                f"{now.state} after unsubscribing"
            )

    def check_closed(self, rows: Rows) -> None:
        """6b. A finished enrollment (exited above all) is never messaged again."""
        sent: dict[int, list[int]] = defaultdict(list)
        for m in rows.messages:
            sent[m.enrollment_id].append(m.id)  # type: ignore[index, arg-type]
        for e in rows.enrollments.values():
            if e.status == "active":
                continue
            if e.id not in self.closed:
                self.closed[e.id] = (e.status, sent[e.id])  # type: ignore[index]
                continue
            status, messages = self.closed[e.id]  # type: ignore[index]
            assert sent[e.id] == messages, (  # type: ignore[index]
                f"{self.where}: enrollment {e.id} ({e.journey_id}) {status}, then was messaged: "
                f"{messages} -> {sent[e.id]}"
            )


GOALS = {  # the goal events of the shipped journeys (conversion-ladder: when repeat)
    "maturity-retention": {"policy_renewed", "policy_purchased"},
    "conversion-ladder": {"policy_renewed", "policy_purchased"},
    "dormant-reactivation": {"login", "page_view"},
}


@pytest.fixture
def published(database: str) -> Iterator[str]:
    publish_files(builtin_files())
    yield database


def play(people_: list[Person], steps: list[tuple[Any, ...]], *checks: str) -> None:
    Run(people_, set(checks)).play(steps)


# --- the properties -----------------------------------------------------------------


@SETTINGS
@given(people_=people_lists, steps=sequences())
def test_enrollments_stay_in_states_of_their_version(
    published: str, people_: list[Person], steps: list[tuple[Any, ...]]
) -> None:
    """1. At most one active enrollment per (journey, customer, key); every state is one
    of its version (or __converted__/__exited__), its status agrees, its path is logged."""
    play(people_, steps, "enrollments")


@SETTINGS
@given(people_=people_lists, steps=sequences())
def test_messages_are_decided_once_and_follow_transitions(
    published: str, people_: list[Person], steps: list[tuple[Any, ...]]
) -> None:
    """2. No idempotency key twice, one message per (enrollment, step, action), each sent
    in the state its enrollment's log entered at that step, none to the holdout."""
    play(people_, steps, "messages")


@SETTINGS
@given(
    people_=people_lists,
    steps=sequences().map(lambda s: [x if x[0] != "redeliver" else ("tick",) for x in s]),
)
def test_a_timer_fires_at_most_once(
    published: str, people_: list[Person], steps: list[tuple[Any, ...]]
) -> None:
    """3. fired_at is set once; a tick emits one timer_due per timer not yet fired, a
    second tick at the same instant none; one timer_due event per fired timer."""
    play(people_, steps, "timers")


@SETTINGS
@given(people_=people_lists, steps=sequences())
def test_redelivery_changes_nothing(
    published: str, people_: list[Person], steps: list[tuple[Any, ...]]
) -> None:
    """4. Processing an already-processed event again (alone or in a chunk), or ingesting
    an identical event_id again, changes no row."""
    play(people_, steps, "redelivery")


@SETTINGS
@given(
    people_=people_lists,
    steps=around(st.builds(lambda e: ("event", 0, *e), st.sampled_from(GOAL_EVENTS))),
)
@example(  # buying a new policy while the maturing one is in the journey
    people_=[Person("offer", "customer", False)],
    steps=[APPROACH, ("event", 0, "policy_purchased", "N1")],
)
def test_a_goal_always_converts(
    published: str, people_: list[Person], steps: list[tuple[Any, ...]]
) -> None:
    """5. After a goal event, every enrollment of the customer that was active in that
    journey is converted by it, and none is left active, whichever policy it names."""
    play(people_, steps, "goal")


@SETTINGS
@given(
    people_=people_lists,
    steps=around(st.builds(lambda w: ("event", w, "unsubscribed", None), who)),
)
def test_no_message_after_an_exit(
    published: str, people_: list[Person], steps: list[tuple[Any, ...]]
) -> None:
    """6. Unsubscribing exits every active enrollment of the customer; a finished
    enrollment gets no message afterwards, whatever timers come due."""
    play(people_, steps, "exit")
