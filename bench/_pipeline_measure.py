"""What the pipeline bench reads back: the database's progress on a run's events, the
welcome mails' arrivals matched to their customers, the figures made of both, the
target's verdict, and a run's report.

A mail is matched to its customer by its ``Message-ID``: the engine derives it from the
message's idempotency key (``channels.email.message_id_header``), and the ``messages``
row holds that key and the customer; the customer's sign-up was posted at a time the
load generator noted. Times are epoch seconds on this machine's clock (the SMTP sink,
the engine's processes and the bench share it).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from _common import BenchError, PgBare
from _pipeline_load import Load
from _sinks import Sink

FINAL = ("sent", "suppressed", "failed", "bounced", "review")
WELCOME = "welcome"
TARGET_LAG_P99 = 2.0  # seconds, under 500 events/s
TARGET_RATE = 500.0
REACHED = 0.95  # accepted/offered below this: the load was held back, say so


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ranked = sorted(values)
    return ranked[min(len(ranked) - 1, max(0, round(q / 100 * len(ranked) + 0.5) - 1))]


@dataclass(slots=True)
class Progress:
    """A run's events in the database at one moment."""

    stored: int
    processed: int
    last_processed_at: float
    unprocessed_anywhere: int  # the engine's own events too


def progress(bare: PgBare, tag: str) -> Progress:
    """How many of the run's events are stored and processed."""
    row = bare.rows(
        "SELECT count(*), count(processed_at), "
        "coalesce(extract(epoch FROM max(processed_at)), 0)::float8 "
        "FROM events WHERE event_id LIKE %s",
        (f"{tag}-%",),
    )[0]
    left = bare.scalar("SELECT count(*) FROM events WHERE processed_at IS NULL")
    return Progress(int(row[0]), int(row[1]), float(row[2]), left)


@dataclass(slots=True)
class Welcome:
    """One sign-up's welcome message: its key and when each step happened."""

    customer: str
    key: str
    status: str
    received: float  # the sign-up stored (ingest)
    claimed: float  # the sign-up claimed by a worker (processed_at)
    created: float  # the message decided
    sent: float | None  # the ledger recorded it sent


def welcomes(bare: PgBare, tag: str, customers: list[str]) -> dict[str, Welcome]:
    """Message-ID → the welcome message of each of ``customers`` that has one."""
    from automation.channels.email import message_id_header, sender

    rows = bare.rows(
        "SELECT m.customer_id, m.idempotency_key, m.status, "
        "extract(epoch FROM e.received_at)::float8, extract(epoch FROM e.processed_at)::float8, "
        "extract(epoch FROM m.created_at)::float8, extract(epoch FROM m.sent_at)::float8 "
        "FROM messages m JOIN events e ON e.customer_id = m.customer_id "
        "AND e.type = 'signup' AND e.event_id LIKE %s "
        "WHERE m.journey_id = %s AND m.customer_id = ANY(%s)",
        (f"{tag}-%", WELCOME, customers),
    )
    address = sender()["address"]
    return {message_id_header(r[1], address): Welcome(*r) for r in rows}


@dataclass
class Drained:
    """A run taken to its end: every event processed, every welcome mail arrived."""

    progress: Progress
    arrivals: dict[str, float] = field(default_factory=dict)  # Message-ID → arrival
    mails: dict[str, Welcome] = field(default_factory=dict)
    seconds: float = 0.0  # waited after the load ended


def drain(
    bare: PgBare, sink: Sink, tag: str, load: Load, timeout: float, tick: float = 0.25
) -> Drained:
    """Wait until the run's events are processed (and no event anywhere is left), each
    sign-up's welcome message is final, and each sent one has arrived at the sink."""
    started = time.monotonic()
    customers = list(load.signup_at)
    done = Drained(progress(bare, tag))
    while True:
        done.arrivals.update(sink.arrivals())
        done.progress = progress(bare, tag)
        events_done = (
            done.progress.processed == load.events and done.progress.unprocessed_anywhere == 0
        )
        if events_done:
            done.mails = welcomes(bare, tag, customers)
            final = [m for m in done.mails.values() if m.status in FINAL]
            sent = [k for k, m in done.mails.items() if m.status == "sent"]
            if len(final) == len(customers) and all(k in done.arrivals for k in sent):
                done.seconds = time.monotonic() - started
                return done
        if time.monotonic() - started > timeout:
            raise BenchError(
                f"not drained within {timeout:.0f} s: {done.progress.processed} of "
                f"{load.events} events processed ({done.progress.unprocessed_anywhere} "
                f"unprocessed in all), {len(done.mails)} welcome messages of "
                f"{len(customers)}, {len(done.arrivals)} mails arrived"
            )
        time.sleep(tick)


@dataclass(slots=True)
class Figures:
    """One run's figures (rates per second, times in seconds)."""

    accepted_rate: float
    processed_rate: float
    mails_rate: float
    mails: int
    signups: int
    lags: list[float]
    stages: dict[str, list[float]]
    late_p99: float
    answer_p99: float
    drain_seconds: float

    def lag(self, q: float) -> float:
        return percentile(self.lags, q)


def figures(load: Load, drained: Drained) -> Figures:
    """Rates over the run from its first POST; each welcome mail's lag from its sign-up's
    POST to its arrival, and the stages between."""
    start = load.first_post
    processed_rate = load.events / max(drained.progress.last_processed_at - start, 1e-9)
    lags: list[float] = []
    stages: dict[str, list[float]] = {
        "POST → stored": [],
        "stored → claimed by a worker": [],
        "claimed → mail decided": [],
        "decided → at the SMTP server": [],
    }
    arrived: list[float] = []
    for key, mail in drained.mails.items():
        at = drained.arrivals.get(key)
        if at is None or mail.status != "sent":
            continue
        posted = load.signup_at[mail.customer]
        arrived.append(at)
        lags.append(at - posted)
        for name, (a, b) in zip(
            stages,
            (
                (posted, mail.received),
                (mail.received, mail.claimed),
                (mail.claimed, mail.created),
                (mail.created, at),
            ),
            strict=True,
        ):
            stages[name].append(b - a)
    mails_rate = len(arrived) / (max(arrived) - start) if arrived else 0.0
    return Figures(
        accepted_rate=load.accepted_rate,
        processed_rate=processed_rate,
        mails_rate=mails_rate,
        mails=len(arrived),
        signups=len(load.signup_at),
        lags=lags,
        stages=stages,
        late_p99=percentile(load.late, 99),
        answer_p99=percentile(load.answer_seconds, 99),
        drain_seconds=drained.seconds,
    )


def pg_backends(bare: PgBare, database: str, app: str) -> list[int]:
    """The pids of the PostgreSQL backends ``app`` holds on ``database`` now."""
    rows = bare.rows(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
        (database, app),
    )
    return [int(r[0]) for r in rows]


def stage_lines(stages: dict[str, list[float]]) -> list[str]:
    """One line per stage: p50 and p99 in milliseconds."""
    ms = {name: (1000 * percentile(v, 50), 1000 * percentile(v, 99)) for name, v in stages.items()}
    return [
        f"    {name:<30} p50 {p50:8.0f} ms   p99 {p99:8.0f} ms" for name, (p50, p99) in ms.items()
    ]


def summary(f: Figures) -> dict[str, Any]:
    """The run's figures for the JSON line."""
    return {
        "accepted_events_per_s": round(f.accepted_rate, 1),
        "processed_events_per_s": round(f.processed_rate, 1),
        "mails_per_s": round(f.mails_rate, 1),
        "mails": f.mails,
        "lag_p50_s": round(f.lag(50), 3),
        "lag_p99_s": round(f.lag(99), 3),
        "lag_max_s": round(f.lag(100), 3),
        "drain_s": round(f.drain_seconds, 2),
    }


def judged(f: Figures) -> bool | None:
    """The target's verdict: None when the server accepted less than the target's rate
    (less was offered, or the load generator was held back)."""
    if f.accepted_rate < REACHED * TARGET_RATE:
        return None
    return f.lag(99) <= TARGET_LAG_P99


def verdict(f: Figures) -> str:
    said = {True: "meets", False: "MISSES", None: "not judged: accepted below that rate"}
    return said[judged(f)]


def report(rate: float, load: Load, f: Figures, cpu: dict[str, float], wall: float) -> None:
    """The phase's figures, and where its CPU went."""
    print(
        f"  accepted {f.accepted_rate:,.0f} events/s; processed {f.processed_rate:,.0f} "
        f"events/s (all {load.events:,} by {load.events / f.processed_rate:.1f} s after the "
        f"first POST; drained {f.drain_seconds:.1f} s after the load); {f.mails:,} of "
        f"{f.signups:,} welcome mails arrived, {f.mails_rate:,.1f} mails/s"
    )
    print(
        f"  lag sign-up POST → welcome mail at the SMTP server: p50 {f.lag(50):.3f} s, "
        f"p99 {f.lag(99):.3f} s, max {f.lag(100):.3f} s (target p99 ≤ {TARGET_LAG_P99:g} s "
        f"under {TARGET_RATE:g} events/s: {verdict(f)})"
    )
    if f.accepted_rate < REACHED * rate:
        print(
            f"  WARNING: the server accepted {f.accepted_rate:,.0f} of the {rate:g} events/s "
            f"offered: POSTs waited for a free slot (late by p99 {f.late_p99:.1f} s; "
            f"answered in p99 {f.answer_p99:.2f} s): the server or the load generator is "
            "saturated, and the lag is measured at the lower rate"
        )
    print("\n".join(stage_lines(f.stages)))
    cores = os.cpu_count() or 1
    parts = ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items())
    busy = sum(cpu.values())
    print(
        f"  CPU seconds from the first POST to drained ({wall:.1f} s × {cores} cores = "
        f"{wall * cores:.1f}; busy {busy:.1f}): {parts}",
    )
    per_event = {
        name: 1000 * cpu.get(name, 0.0) / load.events
        for name in ("serve", "workers", "PostgreSQL for serve", "PostgreSQL for workers")
    }
    print(
        "  CPU per event posted: "
        + ", ".join(f"{name} {ms:.2f} ms" for name, ms in per_event.items()),
        flush=True,
    )
