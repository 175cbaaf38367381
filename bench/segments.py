"""Segment refreshes at scale: bulk membership over 1,000,000 customers.

What is measured, in one run, with the clock frozen at "now" (``automation.clock``):

0. set-up (not timed): ``--size N`` customers (default 1,000,000) with spread columns
   (birth dates over 60 years, ``has_children`` 45% / 45% / 10% unknown, consents,
   lifecycle stage, value tier, activity status, ``last_seen_at``, ``attributes``
   JSON), and ``--events N`` (default 2 × size) ``product_view``/``content_view``
   events of a fifth of the customers, in time order over the last 60 days. What each
   segment must hold is computed in Python while the rows are generated.
1. fill: the first ``automation.segments.membership.refresh`` of a segment with a
   plain condition (``customer.has_children: true``, ``customer.age: {between:
   [28, 40]}``): members and their ``segment_changes`` rows, no events. Baseline, on a
   second segment with the same definition: the hand-written ``INSERT INTO
   segment_members SELECT … FROM customers WHERE <the predicate>`` (the ratio), then
   ``INSERT INTO segment_changes SELECT …`` from those members (the same rows as the
   engine: ``rows_ratio``).
2. refresh: ``--changed N`` customers (default 1% of size) get a new ``birth_date`` or
   a flipped ``has_children``, then ``refresh`` is timed again: entries, exits, their
   history rows and one ``segment_entered``/``segment_exited`` event each (stored and
   published to the stub broker). Baseline: one hand-written statement (``WITH``
   ``INSERT … RETURNING``, ``DELETE … RETURNING``, history rows, ``INSERT INTO events``)
   on the second segment.
3. history fill: the first refresh of a segment counting events
   (``customer.email_consent: true`` and ``events: {type: product_view, within: 30d,
   count: {gte: 3}}``). Baseline: ``INSERT … SELECT`` joining customers to the
   events of the window grouped by customer (``HAVING count(*) >= 3``), then the
   history rows.

Every baseline runs just before its engine run, on the same tables. After each phase
the engine's members are compared with the baseline's and with the Python count; the
history rows and events are counted. Ratios are time ratios, engine/baseline: below 1
the engine is faster. Target: each bulk refresh over 1,000,000 customers ≤ 10 s.

Run::

    python bench/segments.py [--size N] [--events N] [--changed N]
    python bench/segments.py --quick     # 100,000 customers, for CI

The bench always (re)creates the PostgreSQL database ``automation_bench_segments``
(admin ``postgresql://postgres@127.0.0.1:5432/test``) and sets
``AUTOMATION_DATABASE_URL`` to it for the code under test: refreshes scan whole tables.
No broker is used (``stub://``: published messages stay in memory). Set-up uses
``COPY``; before each phase the touched tables are ``VACUUM ANALYZE``d (autovacuum may
be off: statistics, hint bits and the visibility map are then as a live server's) and
a ``CHECKPOINT`` runs, so the set-up's WAL does not land a checkpoint in a timed run.
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import orjson
from _common import (
    BenchError,
    Figure,
    PgBare,
    bench_db,
    check,
    measure,
    own_pg_database,
    parse_quick,
    peak_rss_mib,
)

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_DB = bench_db("automation_bench_segments")
PAGE = 100_000  # rows per set-up COPY transaction
SEED = 11
QUICK = {"size": 100_000}  # --quick: CI
BROWSER_SHARE = 0.2  # customers with events
EVENT_DAYS = 60
WINDOW_DAYS = 30
MIN_VIEWS = 3
AGES = (28, 40)
TABLES = ("customers", "events", "segments", "segment_members", "segment_changes")

PARENTS, PARENTS_BASE = "bench-parents", "bench-parents-base"
BROWSERS, BROWSERS_BASE = "bench-browsers", "bench-browsers-base"
WARM = "bench-warm"
SEGMENTS_YAML = f"""\
segments:
  - segment: {PARENTS}
    name: bench young parents
    when:
      customer.has_children: true
      customer.age: {{between: [{AGES[0]}, {AGES[1]}]}}
  - segment: {PARENTS_BASE}
    name: bench young parents (baseline's copy)
    when:
      customer.has_children: true
      customer.age: {{between: [{AGES[0]}, {AGES[1]}]}}
  - segment: {BROWSERS}
    name: bench product browsers
    when:
      customer.email_consent: true
      events: {{type: product_view, within: {WINDOW_DAYS}d, count: {{gte: {MIN_VIEWS}}}}}
  - segment: {BROWSERS_BASE}
    name: bench product browsers (baseline's copy)
    when:
      customer.email_consent: true
      events: {{type: product_view, within: {WINDOW_DAYS}d, count: {{gte: {MIN_VIEWS}}}}}
  - segment: {WARM}
    name: bench warm-up (one customer)
    when:
      customer.customer_id: C0000000
"""

T = TypeVar("T")


# ---------------------------------------------------------------- set-up


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="customers")
    parser.add_argument("--events", type=int, default=-1, help="events (default: 2 × size)")
    parser.add_argument(
        "--changed", type=int, default=-1, help="customers changed before the refresh (1%%)"
    )
    return parse_quick(parser, QUICK)


def configure() -> str:
    """(Re)create the bench's database, export the settings (no broker), migrate."""
    return own_pg_database(
        PG_ADMIN_URL, BENCH_DB, "refreshes scan whole tables", "VACUUM ANALYZE itself"
    )


class Bare(PgBare):
    """The bench's bare connection, settled before each timed phase."""

    def settle(self, tables: Sequence[str] = TABLES) -> None:
        """Before a timed phase: ``VACUUM ANALYZE`` (autovacuum may be off; what a live
        server's would have done after the set-up's bulk writes: statistics, hint bits,
        visibility map, so no timed run pays for them), then ``CHECKPOINT``, so the
        set-up's WAL does not trigger one in a timed run."""
        self.run(f"VACUUM (ANALYZE) {', '.join(tables)}")
        self.checkpoint()


def customer_id(i: int) -> str:
    return f"C{i:07d}"


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


@dataclass(slots=True)
class World:
    """What the set-up wrote, as far as the segments care: per customer, whether it is a
    young parent, has e-mail consent, and how many product views it had in the window."""

    now: datetime
    today: date  # in the business time zone
    youngest: date  # born on or before: at least AGES[0]
    oldest: date  # born after: at most AGES[1]
    parent: bytearray
    consent: bytearray
    views: array  # type: ignore[type-arg]

    @classmethod
    def at(cls, now: datetime, n: int) -> World:
        from automation.config import get_settings

        today = now.astimezone(ZoneInfo(get_settings().timezone)).date()
        youngest, oldest = years_before(today, AGES[0]), years_before(today, AGES[1] + 1)
        return cls(now, today, youngest, oldest, bytearray(n), bytearray(n), array("I", [0]) * n)

    def young_parent(self, has_children: bool | None, birth: date) -> int:
        return int(has_children is True and self.oldest < birth <= self.youngest)

    def browsers(self) -> int:
        return sum(1 for c, v in zip(self.consent, self.views, strict=True) if c and v >= MIN_VIEWS)


CUSTOMER_COLUMNS = (
    "customer_id",
    "name",
    "email",
    "mobile",
    "birth_date",
    "gender",
    "marital_status",
    "has_children",
    "email_consent",
    "sms_consent",
    "call_consent",
    "ad_consent",
    "night_consent",
    "locale",
    "timezone",
    "lifecycle_stage",
    "value_tier",
    "activity_status",
    "joined_at",
    "last_seen_at",
    "attributes",
    "created_at",
    "updated_at",
)
EVENT_COLUMNS = (
    "event_id",
    "type",
    "occurred_at",
    "received_at",
    "visitor_id",
    "customer_id",
    "properties",
    "source",
    "published_at",
    "processed_at",
    "attempts",
)
STAGES = (("member", 0.45), ("customer", 0.80), ("repeat", 1.0))
ACTIVITY = (("active", 0.65), ("dormant", 0.85), ("churned", 0.95), ("reactivated", 1.0))
REGIONS = ("seoul", "gyeonggi", "busan", "incheon", "daegu", "daejeon", "gwangju", "jeju")
PRODUCTS = ("EDU-CARE", "CHILD-CI", "CANCER-PLUS", "HEALTH-CARE", "PENSION", "TERM-LIFE")
CONTENTS = ("education-children", "retirement", "health", "travel", "tax")
FIRST_BIRTH = date(1945, 1, 1)
BIRTH_SPAN = (date(2006, 12, 31) - FIRST_BIRTH).days


def pick(table: tuple[tuple[str, float], ...], roll: float) -> str:
    return next(name for name, upto in table if roll < upto)


def random_birth(rng: random.Random) -> date:
    return FIRST_BIRTH + timedelta(days=rng.randrange(BIRTH_SPAN + 1))


def insert_customers(bare: Bare, world: World, n: int) -> None:
    """``n`` customers ``C0000000``…, COPY per page; marks the young parents and the
    e-mail consents in ``world``."""
    rng = random.Random(SEED)
    now = world.now

    def page(start: int, stop: int) -> Iterator[tuple[Any, ...]]:
        r = rng.random
        for i in range(start, stop):
            cid = customer_id(i)
            birth = random_birth(rng)
            roll = r()
            has_children = True if roll < 0.45 else (False if roll < 0.9 else None)
            email = r() < 0.7
            world.parent[i] = world.young_parent(has_children, birth)
            world.consent[i] = email
            joined = now - timedelta(seconds=r() * 10 * 365 * 86_400)
            seen = now - timedelta(seconds=r() * 365 * 86_400)
            attributes = orjson.dumps(
                {
                    "region": REGIONS[i % len(REGIONS)],
                    "emails_unopened": rng.randrange(6),
                    "channel": ("web", "app", "agent")[i % 3],
                }
            ).decode()
            yield (
                cid, f"고객{i}", f"{cid.lower()}@example.kr", f"010{i:08d}", birth,
                "F" if i % 2 else "M", ("single", "married")[i % 2], has_children, email,
                r() < 0.6, r() < 0.3, r() < 0.4, r() < 0.1, "ko-KR", "Asia/Seoul",
                pick(STAGES, r()), "vip" if r() < 0.05 else "regular", pick(ACTIVITY, r()),
                joined, seen, attributes, joined, seen,
            )  # fmt: skip

    for start in range(0, n, PAGE):
        with bare.transaction():
            bare.copy("customers", CUSTOMER_COLUMNS, page(start, min(n, start + PAGE)))


def insert_events(bare: Bare, world: World, n: int, customers: int) -> None:
    """``n`` product/content views in time order over the last ``EVENT_DAYS`` days, by a
    random fifth of the customers; counts each customer's product views in the window."""
    rng = random.Random(SEED + 1)
    browsers = rng.sample(range(customers), max(1, int(customers * BROWSER_SHARE)))
    first = world.now - timedelta(days=EVENT_DAYS)
    since = world.now - timedelta(days=WINDOW_DAYS)
    step = EVENT_DAYS * 86_400 / max(1, n)

    def page(start: int, stop: int) -> Iterator[tuple[Any, ...]]:
        for i in range(start, stop):
            at = first + timedelta(seconds=(i + rng.random()) * step)
            at = at.replace(microsecond=at.microsecond // 1000 * 1000)
            k = browsers[rng.randrange(len(browsers))]
            cid = customer_id(k)
            if rng.random() < 0.5:
                kind, props = "product_view", {"product": PRODUCTS[rng.randrange(6)]}
                if since <= at <= world.now:
                    world.views[k] += 1
            else:
                kind, props = "content_view", {"content": CONTENTS[rng.randrange(5)]}
            got = at + timedelta(milliseconds=300)
            yield (
                f"E{i:09d}", kind, at, got, f"v-{cid}", cid, orjson.dumps(props).decode(),
                "web", got, got, 1,
            )  # fmt: skip

    for start in range(0, n, PAGE):
        with bare.transaction():
            bare.copy("events", EVENT_COLUMNS, page(start, min(n, start + PAGE)))


def change_customers(bare: Bare, world: World, n: int, customers: int) -> tuple[int, int]:
    """``n`` random customers: half get a new birth date, half a flipped
    ``has_children``; returns (entries, exits) of the young-parents segment."""
    rng = random.Random(SEED + 2)
    picked = rng.sample(range(customers), n)
    rows = bare.rows(
        "SELECT customer_id, has_children, birth_date FROM customers WHERE customer_id = ANY(%s)",
        ([customer_id(i) for i in picked],),
    )
    current = {cid: (has, birth) for cid, has, birth in rows}
    ids, children, births = [], [], []
    entered = exited = 0
    for j, i in enumerate(picked):
        cid = customer_id(i)
        has, birth = current[cid]
        if j % 2:
            birth = random_birth(rng)
        else:
            has = not has
        now_in = world.young_parent(has, birth)
        entered += now_in and not world.parent[i]
        exited += world.parent[i] and not now_in
        world.parent[i] = now_in
        ids.append(cid)
        children.append(has)
        births.append(birth)
    bare.run(
        "UPDATE customers c SET has_children = u.h, birth_date = u.b, updated_at = %s "
        "FROM unnest(%s::varchar[], %s::bool[], %s::date[]) AS u(id, h, b) "
        "WHERE c.customer_id = u.id",
        (world.now, ids, children, births),
    )
    return entered, exited


def publish_segments() -> None:
    from automation.segments import registry
    from automation.segments.spec import load_text

    registry.publish_specs(load_text(SEGMENTS_YAML, "bench-segments.yaml"))


# ---------------------------------------------------------------- hand-written SQL

PARENTS_WHERE = "c.has_children AND c.birth_date <= %(youngest)s AND c.birth_date > %(oldest)s"
FILL_PARENTS = f"""
INSERT INTO segment_members (segment_id, customer_id, entered_at)
SELECT %(segment)s, c.customer_id, %(now)s FROM customers c
WHERE {PARENTS_WHERE}
"""
FILL_BROWSERS = """
INSERT INTO segment_members (segment_id, customer_id, entered_at)
SELECT %(segment)s, c.customer_id, %(now)s
FROM customers c
JOIN (SELECT customer_id FROM events
      WHERE type = 'product_view' AND occurred_at >= %(since)s AND occurred_at <= %(now)s
      GROUP BY customer_id HAVING count(*) >= %(views)s) v ON v.customer_id = c.customer_id
WHERE c.email_consent
"""
HISTORY = """
INSERT INTO segment_changes (segment_id, customer_id, entered, at, cause)
SELECT segment_id, customer_id, true, %(now)s, 'refresh' FROM segment_members
WHERE segment_id = %(segment)s
"""
REFRESH_PARENTS = f"""
WITH entered AS (
    INSERT INTO segment_members (segment_id, customer_id, entered_at)
    SELECT %(segment)s::varchar, c.customer_id, %(now)s FROM customers c
    WHERE {PARENTS_WHERE}
      AND NOT EXISTS (SELECT 1 FROM segment_members m
                      WHERE m.segment_id = %(segment)s::varchar AND m.customer_id = c.customer_id)
    RETURNING customer_id
), exited AS (
    DELETE FROM segment_members m
    WHERE m.segment_id = %(segment)s::varchar
      AND NOT EXISTS (SELECT 1 FROM customers c
                      WHERE c.customer_id = m.customer_id AND {PARENTS_WHERE})
    RETURNING customer_id
), changed AS (
    SELECT customer_id, true AS entered FROM entered
    UNION ALL SELECT customer_id, false FROM exited
), logged AS (
    INSERT INTO segment_changes (segment_id, customer_id, entered, at, cause)
    SELECT %(segment)s::varchar, customer_id, entered, %(now)s, 'refresh' FROM changed
)
INSERT INTO events (event_id, type, occurred_at, received_at, customer_id, properties,
                    source, attempts)
SELECT 'segment:' || %(segment)s::varchar || ':' || customer_id
       || CASE WHEN entered THEN ':entered:' ELSE ':exited:' END || %(tag)s,
       CASE WHEN entered THEN 'segment_entered' ELSE 'segment_exited' END,
       %(now)s, %(now)s, customer_id, jsonb_build_object('segment', %(segment)s::varchar),
       'segments', 0
FROM changed
ON CONFLICT (event_id) DO NOTHING
RETURNING id, type
"""


def members(bare: Bare, segment_id: str) -> int:
    return bare.scalar("SELECT count(*) FROM segment_members WHERE segment_id = %s", (segment_id,))


def check_same_members(bare: Bare, a: str, b: str, want: int) -> None:
    """Both segments hold exactly ``want`` customers, the same ones."""
    count_a, count_b = members(bare, a), members(bare, b)
    differ = bare.scalar(
        "SELECT count(*) FROM (SELECT customer_id FROM segment_members WHERE segment_id = %s "
        "  EXCEPT SELECT customer_id FROM segment_members WHERE segment_id = %s) d",
        (a, b),
    )
    check(
        count_a == want and count_b == want and differ == 0,
        f"{a}: {count_a} members, {b}: {count_b} ({differ} not in {b}), expected {want}",
    )
    print(f"  checked: {a} and {b} hold the same {want:,} customers")


def changes(bare: Bare, segment_id: str) -> tuple[int, int]:
    """(entries, exits) recorded in ``segment_changes``."""
    row = bare.rows(
        "SELECT count(*) FILTER (WHERE entered), count(*) FILTER (WHERE NOT entered) "
        "FROM segment_changes WHERE segment_id = %s",
        (segment_id,),
    )[0]
    return int(row[0]), int(row[1])


def segment_events(bare: Bare, segment_id: str) -> tuple[int, int]:
    """(segment_entered, segment_exited) events stored for a segment."""
    row = bare.rows(
        "SELECT count(*) FILTER (WHERE type = 'segment_entered'), "
        "count(*) FILTER (WHERE type = 'segment_exited') FROM events "
        "WHERE type IN ('segment_entered', 'segment_exited') AND properties->>'segment' = %s",
        (segment_id,),
    )[0]
    return int(row[0]), int(row[1])


# ---------------------------------------------------------------- phases


@dataclass(slots=True)
class Fill:
    """A first fill: the engine's figure, and the baseline's members and history."""

    engine: Figure
    baseline: Figure
    baseline_history: Figure
    members: int

    @property
    def ratio(self) -> float:
        return self.engine.seconds / self.baseline.seconds

    @property
    def rows_ratio(self) -> float:
        return self.engine.seconds / (self.baseline.seconds + self.baseline_history.seconds)


def fill_phase(
    bare: Bare, label: str, segment: str, base: str, fill_sql: str, params: dict[str, Any],
    want: int, size: int,
) -> Fill:  # fmt: skip
    from automation.segments.membership import refresh

    bare.settle()
    baseline, _ = measure(f"baseline INSERT … SELECT ({label})", size, "customers",
                          lambda: bare.run(fill_sql, {**params, "segment": base}))  # fmt: skip
    history, _ = measure("baseline history INSERT … SELECT", want, "rows",
                         lambda: bare.run(HISTORY, {**params, "segment": base}))  # fmt: skip
    rss = peak_rss_mib()
    engine, done = measure(f"engine refresh() first fill ({label})", size, "customers",
                           lambda: refresh(segment))  # fmt: skip
    print(f"  peak RSS before {rss:.0f} MiB, after {peak_rss_mib():.0f} MiB")
    check(
        done.members == want and done.entered == want and done.exited == 0 and done.events == 0,
        f"refresh({segment}) = {done}, expected {want} members entered, no events",
    )
    check_same_members(bare, segment, base, want)
    for sid in (segment, base):
        check(changes(bare, sid) == (want, 0), f"{sid}: history {changes(bare, sid)}")
    print(f"  checked: {want:,} history rows each, no events")
    return Fill(engine, baseline, history, want)


@dataclass(slots=True)
class Refresh:
    changed: int
    entered: int
    exited: int
    events: int
    engine: Figure
    baseline: Figure

    @property
    def ratio(self) -> float:
        return self.engine.seconds / self.baseline.seconds


def refresh_phase(bare: Bare, world: World, params: dict[str, Any], changed: int, size: int,
                  want: int) -> Refresh:  # fmt: skip
    from automation.segments.membership import refresh

    _, (entered, exited) = measure(
        "set-up: customers UPDATE", changed, "customers",
        lambda: change_customers(bare, world, changed, size),
    )  # fmt: skip
    before, want = want, want + entered - exited
    print(f"refresh: {changed:,} customers changed: {entered:,} should enter, {exited:,} leave")
    bare.settle()
    tag = f"bench{secrets.token_hex(3)}"
    baseline, stored = measure(
        "baseline WITH INSERT/DELETE/events", size, "customers",
        lambda: bare.rows(REFRESH_PARENTS, {**params, "segment": PARENTS_BASE, "tag": tag}),
    )  # fmt: skip
    check(len(stored) == entered + exited, f"baseline stored {len(stored)} events")
    engine, done = measure("engine refresh() after changes", size, "customers",
                           lambda: refresh(PARENTS))  # fmt: skip
    print(f"  peak RSS {peak_rss_mib():.0f} MiB")
    check(
        (done.members, done.entered, done.exited, done.events)
        == (want, entered, exited, entered + exited),
        f"refresh({PARENTS}) = {done}, expected {want} members, +{entered} -{exited}",
    )
    check_same_members(bare, PARENTS, PARENTS_BASE, want)
    for sid in (PARENTS, PARENTS_BASE):
        got = changes(bare, sid)
        check(got == (before + entered, exited), f"{sid}: history {got}")
        got = segment_events(bare, sid)
        check(got == (entered, exited), f"{sid}: events {got}, expected ({entered}, {exited})")
    print(f"  checked: {entered:,} entries and {exited:,} exits recorded and emitted, each")
    return Refresh(changed, entered, exited, done.events, engine, baseline)


# ---------------------------------------------------------------- report


def report(size: int, fill: Fill, again: Refresh, history: Fill) -> None:
    print(f"fill ratio engine/baseline INSERT (time): {fill.ratio:.3f}; "
          f"engine/(INSERT + history rows): {fill.rows_ratio:.3f}")  # fmt: skip
    print(f"refresh ratio engine/baseline statement (time): {again.ratio:.3f}")
    print(f"history fill ratio engine/baseline INSERT (time): {history.ratio:.3f}; "
          f"engine/(INSERT + history rows): {history.rows_ratio:.3f}")  # fmt: skip
    scale = 1_000_000 / size
    linear = "" if size == 1_000_000 else " per 1,000,000 customers if linear"
    for name, figure in (("fill", fill.engine), ("refresh", again.engine),
                         ("history fill", history.engine)):  # fmt: skip
        seconds = figure.seconds * scale
        verdict = "met" if seconds <= 10 else "NOT met"
        print(f"target ≤ 10 s, {name}: {verdict} ({seconds:.2f} s{linear})")


def summary(size: int, events: int, fill: Fill, again: Refresh, history: Fill,
            rss: float) -> str:  # fmt: skip
    return json.dumps(
        {
            "bench": "segments",
            "size": size,
            "database": "postgresql",
            "events": events,
            "fill_members": fill.members,
            "fill_seconds": round(fill.engine.seconds, 3),
            "baseline_fill_seconds": round(fill.baseline.seconds, 3),
            "baseline_fill_history_seconds": round(fill.baseline_history.seconds, 3),
            "ratio": round(fill.ratio, 4),
            "fill_rows_ratio": round(fill.rows_ratio, 4),
            "refresh_changed": again.changed,
            "refresh_entered": again.entered,
            "refresh_exited": again.exited,
            "refresh_events": again.events,
            "refresh_seconds": round(again.engine.seconds, 3),
            "baseline_refresh_seconds": round(again.baseline.seconds, 3),
            "refresh_ratio": round(again.ratio, 4),
            "history_members": history.members,
            "history_seconds": round(history.engine.seconds, 3),
            "baseline_history_seconds": round(history.baseline.seconds, 3),
            "baseline_history_rows_seconds": round(history.baseline_history.seconds, 3),
            "history_ratio": round(history.ratio, 4),
            "history_rows_ratio": round(history.rows_ratio, 4),
            "peak_rss_mib": round(rss, 1),
        }
    )


def main() -> None:
    try:
        run(parse_args())
    except BenchError as exc:
        sys.exit(f"bench/segments.py: {exc}")


def run(args: argparse.Namespace) -> None:
    size = args.size
    events = 2 * size if args.events < 0 else args.events
    changed = size // 100 if args.changed < 0 else args.changed
    check(size >= 100, "--size must be at least 100")
    check(0 <= changed <= size, "--changed must be between 0 and --size")
    url = configure()
    from automation import clock
    from automation.segments.membership import refresh

    now = datetime.now(UTC).replace(microsecond=0)
    print(f"{os.cpu_count()} cores; clock frozen at {now.isoformat()}; broker stub://")
    world = World.at(now, size)
    params = {
        "now": now,
        "youngest": world.youngest,
        "oldest": world.oldest,
        "since": now - timedelta(days=WINDOW_DAYS),
        "views": MIN_VIEWS,
    }
    bare = Bare(url)
    try:
        with clock.frozen_at(now):
            measure("set-up: customers COPY", size, "rows",
                    lambda: insert_customers(bare, world, size))  # fmt: skip
            measure("set-up: events COPY", events, "rows",
                    lambda: insert_events(bare, world, events, size))  # fmt: skip
            publish_segments()
            refresh(WARM)  # warm-up: engine, connection pool, statement caches
            parents, browsers = sum(world.parent), world.browsers()
            print(
                f"fill: {size:,} customers, {parents:,} young parents "
                f"(has_children, aged {AGES[0]}–{AGES[1]} on {world.today})"
            )
            fill = fill_phase(bare, "plain", PARENTS, PARENTS_BASE, FILL_PARENTS, params,
                              parents, size)  # fmt: skip
            again = refresh_phase(bare, world, params, changed, size, parents)
            print(
                f"history fill: {events:,} events; {browsers:,} customers with e-mail consent "
                f"and ≥ {MIN_VIEWS} product views in {WINDOW_DAYS} days"
            )
            history = fill_phase(bare, "history", BROWSERS, BROWSERS_BASE, FILL_BROWSERS,
                                 params, browsers, size)  # fmt: skip
    finally:
        bare.close()
    rss = peak_rss_mib()
    print(f"peak RSS of the bench process: {rss:.0f} MiB")
    report(size, fill, again, history)
    print(summary(size, events, fill, again, history, rss))


if __name__ == "__main__":
    main()
