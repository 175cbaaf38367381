"""A small world for journey tests: customers, policies, events, and a clock to move."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any

import pendulum
from sqlmodel import col, select

from automation import clock
from automation.db import session_scope
from automation.events.ingest import ingest
from automation.events.outbox import pending_events
from automation.journeys.moves import bucket
from automation.journeys.registry import builtin_files, publish_files
from automation.models import Customer, Enrollment, Message, Policy, Product, Timer, Transition
from automation.scheduler.jobs.timers import fire_due_timers
from automation.worker import process

START = pendulum.datetime(2026, 11, 2, 10, 0, tz="Asia/Seoul")


class World:
    """Drives the real engine in-process: ingest → processing, with a frozen clock."""

    def __init__(self, builtin: bool = True) -> None:
        self._ids = itertools.count(1)
        clock.freeze(START)
        if builtin:
            publish_files(builtin_files())

    # --- setting the scene ----------------------------------------------------------

    def customer(self, customer_id: str = "C1", **fields: Any) -> str:
        values: dict[str, Any] = {
            "name": "김민서",
            "email": f"{customer_id.lower()}@example.kr",
            "email_consent": True,
            "sms_consent": True,
            "ad_consent": True,
            "birth_date": date(1988, 5, 17),
        }
        values.update(fields)
        with session_scope() as s:
            s.add(Customer(customer_id=customer_id, **values))
        return customer_id

    def policy(
        self, policy_id: str, customer_id: str, maturity: date, status: str = "active"
    ) -> str:
        with session_scope() as s:
            if s.get(Product, "EDU-CARE") is None:
                s.add(Product(product_code="EDU-CARE", name="에듀케어", category="insurance"))
                s.flush()
            s.add(
                Policy(
                    policy_id=policy_id,
                    customer_id=customer_id,
                    product_code="EDU-CARE",
                    status=status,
                    start_date=maturity - timedelta(days=3650),
                    maturity_date=maturity,
                )
            )
        return policy_id

    # --- time and events ------------------------------------------------------------

    def send(self, type_: str, customer_id: str = "C1", **properties: Any) -> list[int]:
        """Ingest one event now and process everything it leads to."""
        event = {
            "event_id": f"t{next(self._ids)}",
            "type": type_,
            "customer_id": customer_id,
            "occurred_at": clock.now().isoformat(),
            "properties": properties,
        }
        result = ingest([event], publish=False)
        assert result.rejected == 0, result.summary()
        self.process()
        return result.stored_ids

    def after(self, **delta: float) -> None:
        """Move the clock, fire the timers that came due, process."""
        clock.advance(timedelta(**delta))
        fire_due_timers()
        self.process()

    def tick(self) -> int:
        fired = fire_due_timers()
        self.process()
        return fired

    def tick_only(self) -> int:
        """Fire the due timers, leaving their events unprocessed."""
        return fire_due_timers()

    def process(self) -> None:
        while ids := pending_events(0):
            process.process_events(ids)

    # --- looking --------------------------------------------------------------------

    def enrollments(self, journey: str, customer_id: str = "C1") -> list[Enrollment]:
        with session_scope() as s:
            q = select(Enrollment).where(
                Enrollment.journey_id == journey, Enrollment.customer_id == customer_id
            )
            return list(s.exec(q.order_by(col(Enrollment.id))))

    def enrollment(self, journey: str, customer_id: str = "C1") -> Enrollment:
        found = self.enrollments(journey, customer_id)
        assert len(found) == 1, f"{len(found)} enrollments of {customer_id} in {journey}"
        return found[0]

    def messages(
        self, customer_id: str = "C1", journey: str | None = None
    ) -> list[tuple[str, str | None]]:
        with session_scope() as s:
            q = select(Message).where(Message.customer_id == customer_id)
            if journey:
                q = q.where(Message.journey_id == journey)
            return [(m.channel, m.template) for m in s.exec(q.order_by(col(Message.id)))]

    def path(self, enrollment_id: int) -> list[str]:
        with session_scope() as s:
            q = (
                select(Transition)
                .where(Transition.enrollment_id == enrollment_id)
                .order_by(col(Transition.id))
            )
            return [t.to_state for t in s.exec(q)]

    def fired_timer_ids(self) -> list[int]:
        with session_scope() as s:
            q = select(Timer.id).where(col(Timer.fired_at).is_not(None))
            return sorted(t for t in s.exec(q) if t is not None)

    def pending_timers(self) -> list[Timer]:
        with session_scope() as s:
            return list(s.exec(select(Timer).where(col(Timer.fired_at).is_(None))))


def at(day: int, hour: int = 10) -> datetime:
    return START.add(days=day).set(hour=hour)


def customer_in(arm: str, start: int = 1) -> str:
    """A customer id that the maturity-retention split sends to ``arm``."""
    for n in range(start, 10_000):
        cid = f"C{n}"
        holdout = bucket("maturity-retention", cid) < 10
        if holdout == (arm == "holdout"):
            return cid
    raise AssertionError("no such customer")


def maturity_call(world: World) -> str:
    """A maturity-retention customer (phone 010-1234-5678, who read education content)
    whose e-mail and SMS went unanswered: the journey has decided a consultant call."""
    cid = world.customer(customer_in("offer"), mobile="010-1234-5678", call_consent=True)
    world.policy("P1", cid, START.date() + timedelta(days=20))
    for n in range(3):
        world.send("content_view", cid, content="교육자금", category="education", n=n)
    world.send("policy_maturity_approaching", cid, policy_id="P1")
    world.after(days=3)
    world.after(days=4)
    return cid
