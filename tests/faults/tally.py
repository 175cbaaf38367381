"""What the harness counts once the engine has settled, and the table it prints.

A message belongs to the fault during which the event that decided it was accepted (the
sign-up for the welcome e-mail and its SMS, the purchase for the thanks e-mail), so a
row says what became of the traffic that arrived during that fault, whenever it was
worked. Sent, duplicated and in-review come from the SMTP server's and the SMS
gateway's own counts, by message key.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import text

from automation.db import get_engine
from tests.faults.scenario import CALM, LATE, Fault
from tests.faults.world import customer_id

JOURNEY_OF = {"signup": "faults-welcome", "purchase": "faults-purchase"}


@dataclass
class Row:
    """One fault's traffic: events accepted and processed, messages and their fate."""

    fault: str
    accepted: int = 0
    processed: int = 0
    decided: int = 0
    sent: int = 0
    duplicated: int = 0
    review: int = 0
    other: Counter[str] = field(default_factory=Counter)  # any other status: a failure
    reviews: Counter[str] = field(default_factory=Counter)  # why, and whether it arrived
    recovery: float | None = None
    note: str = ""


@dataclass
class Tally:
    rows: list[Row]
    unknown_keys: int  # mails or SMS received that no message row names
    unprocessed: int  # events of any kind (the engine's own too) never processed
    review_without_reason: int
    timers_due: int
    timers_fired: int
    timer_events: int
    sms_per_enrollment: int  # the most SMS messages one welcome enrollment decided

    def total(self) -> Row:
        total = Row("total")
        for row in self.rows:
            for name in ("accepted", "processed", "decided", "sent", "duplicated", "review"):
                setattr(total, name, getattr(total, name) + getattr(row, name))
            total.other.update(row.other)
            total.reviews.update(row.reviews)
        return total

    def table(self) -> str:
        head = ("fault", "events acc/proc", "msgs decided", "sent", "dup", "review", "recover s")
        lines = [
            f"{head[0]:<32} {head[1]:>15} {head[2]:>12} {head[3]:>5} {head[4]:>4} "
            f"{head[5]:>6} {head[6]:>9}"
        ]
        for row in [*self.rows, self.total()]:
            recovery = "" if row.fault in ("total", CALM) else _secs(row.recovery)
            other = f"  other: {dict(row.other)}" if row.other else ""
            note = f"  ({row.note})" if row.note else ""
            lines.append(
                f"{row.fault:<32} {f'{row.accepted}/{row.processed}':>15} {row.decided:>12} "
                f"{row.sent:>5} {row.duplicated:>4} {row.review:>6} {recovery:>9}{note}{other}"
            )
        for why, n in sorted(self.total().reviews.items()):
            lines.append(f"in review: {n} × {why}")
        lines.append(
            f"timers due {self.timers_due}, fired {self.timers_fired}, timer_due events "
            f"{self.timer_events}; unprocessed events {self.unprocessed}; unknown keys at the "
            f"sinks {self.unknown_keys}"
        )
        return "\n".join(lines)


def _secs(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f}"


def count(
    faults: list[Fault],
    accepted: dict[str, list[str]],
    mail: Counter[str],
    sms: Counter[str],
) -> Tally:
    """Count everything once the engine has settled."""
    rows = {CALM: Row(CALM)}
    for fault in faults:
        waited = f"; after {LATE:g}s still waiting: {fault.waiting}" if fault.waiting else ""
        rows[fault.name] = Row(fault.name, recovery=fault.recovery, note=fault.note + waited)
    phase_of: dict[tuple[str, str], str] = {}
    with get_engine().connect() as conn:
        for phase, ids in accepted.items():
            row = rows[phase]
            row.accepted = len(ids)
            row.processed = int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM events WHERE event_id = ANY(:ids) "
                        "AND processed_at IS NOT NULL"
                    ),
                    {"ids": ids},
                ).scalar_one()
            )
            for event_id in ids:
                kind, number = event_id.split("-")
                if kind in JOURNEY_OF:  # page views decide no message
                    phase_of[(JOURNEY_OF[kind], customer_id(int(number)))] = phase
        messages = conn.execute(
            text(
                "SELECT idempotency_key, journey_id, customer_id, channel, status, reason "
                "FROM messages"
            )
        ).all()
        unprocessed = _one(conn, "SELECT count(*) FROM events WHERE processed_at IS NULL")
        timers_due = _one(conn, "SELECT count(*) FROM timers WHERE due_at <= now()")
        fired = _one(conn, "SELECT count(*) FROM timers WHERE fired_at IS NOT NULL")
        timer_events = _one(conn, "SELECT count(*) FROM events WHERE type = 'timer_due'")
        most_sms = _one(
            conn,
            "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM messages "
            "WHERE channel = 'sms' GROUP BY enrollment_id) AS per_enrollment",
        )
    keys, no_reason = set(), 0
    for key, journey, customer, channel, status, reason in messages:
        keys.add(key)
        row = rows[phase_of.get((journey, customer), CALM)]
        row.decided += 1
        received = (mail if channel == "email" else sms)[key]
        row.duplicated += max(0, received - 1)
        if status == "sent" and received == 1:
            row.sent += 1
        elif status == "review":
            row.review += 1
            row.reviews[f"{channel} {reason} (received {received})"] += 1
            no_reason += not reason
        else:
            row.other[f"{status}:{reason or ''} received {received}"] += 1
    unknown = sum(n for k, n in (mail + sms).items() if k not in keys)
    return Tally(
        list(rows.values()),
        unknown,
        unprocessed,
        no_reason,
        timers_due,
        fired,
        timer_events,
        most_sms,
    )


def _one(conn: object, sql: str) -> int:
    return int(conn.execute(text(sql)).scalar_one())  # type: ignore[attr-defined]
