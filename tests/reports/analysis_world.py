"""A hand-built web log for the cross-analysis reports, every figure counted by hand.

Two segments, as ``segment_changes`` recorded them (KST):

- ``young``: A1–A4 since 10-01; A5 since 11-20 (a member at the period's end, not at
  its start); B2 from 10-01 to 11-10 (a member of neither then).
- ``older``: B1 and B2 since 10-01.

Customers (age on 11-23, the period's end; on 11-16 for the interest report):

==  ======  ==========  ======================================================
A1  F       1990-05-01  30s; 15 pages in one visit on 11-01 (high); EDU-CARE ×3
A2  M       1996-11-23  30 on 11-23 (30s), 29 on 11-16; 2 visits in Oct (medium);
                        quote for CHILD-CI; buys 12-18 (after the 30 days)
A3  none    1999-01-01  20s; bought 09-01 (repeat); one page 11-15 23:59:59 (low);
                        buys 12-10
A4  F       1988-02-02  30s; a page on 10-16 23:00 only (before the 30 days: none)
A5  F       1985-07-07  40s; views HOME-LOAN 11-21 and buys it
B1  female  1970-03-03  50s (gender F); views HOME-LOAN
B2  M       none        unknown band; 5 pages 11-05 (medium); buys EDU-CARE 11-18
==  ======  ==========  ======================================================

An anonymous visitor ``v9`` views CHILD-CI twice. PENSION is in the catalogue, unseen.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pendulum
from sqlalchemy import insert

from automation import clock
from automation.db import get_engine, session_scope
from automation.events.ingest import ingest
from automation.models import Customer, Product, Segment, SegmentChange, SegmentMember
from automation.reports.period import Period
from automation.worker.process import process_events

PERIOD = Period(date(2026, 11, 16), date(2026, 11, 22))  # one week, Seoul
WEEK = ["--from", "2026-11-16", "--to", "2026-11-22"]
EDU, CHILD, LOAN = "EDU-CARE", "CHILD-CI", "HOME-LOAN"
_n = 0


def _ev(type_: str, at: str, who: str, **props: Any) -> dict[str, Any]:
    global _n
    _n += 1
    event: dict[str, Any] = {
        "event_id": f"a{_n:03d}",
        "type": type_,
        "occurred_at": f"2026-{at}+09:00",
        "properties": props,
    }
    event["visitor_id" if who.startswith("v") else "customer_id"] = who
    return event


def _pages(who: str, day: str, count: int) -> list[dict[str, Any]]:
    """``count`` page views a minute apart from 10:00 on ``day``: one visit."""
    return [_ev("page_view", f"{day}T10:{i:02d}:00", who, url=f"/p{i}") for i in range(count)]


def _log() -> list[dict[str, Any]]:
    global _n
    _n = 0
    return [
        # Before the reference point (11-16 00:00): interest.
        *_pages("A1", "11-01", 15),
        _ev("page_view", "10-20T10:00:00", "A2", url="/"),
        _ev("page_view", "10-25T10:00:00", "A2", url="/"),
        _ev("policy_purchased", "09-01T10:00:00", "A3", policy_id="P-A3-1", product=EDU),
        _ev("page_view", "11-15T23:59:59", "A3", url="/"),
        _ev("page_view", "10-16T23:00:00", "A4", url="/"),
        *_pages("B2", "11-05", 5),
        # The period.
        _ev("product_view", "11-16T10:00:00", "A1", product=EDU, url="/products/edu"),
        _ev("product_view", "11-16T10:01:00", "A1", product=EDU, url="/products/edu"),
        _ev("content_view", "11-16T10:02:00", "A1", content="education-children", url="/c/ed"),
        _ev("product_view", "11-18T10:00:00", "A1", product=EDU, url="/products/edu"),
        _ev("policy_purchased", "11-20T12:00:00", "A1", policy_id="P-A1", product=EDU),
        _ev("product_view", "11-17T09:00:00", "A2", product=CHILD, url="/products/child"),
        _ev("quote_request", "11-17T09:01:00", "A2", product=CHILD),
        _ev("content_view", "11-17T09:02:00", "A2", content="pension-savings", url="/c/ps"),
        _ev("page_view", "11-19T10:00:00", "A3", url="/"),
        _ev("product_view", "11-19T10:01:00", "A3", product=CHILD, url="/products/child"),
        _ev("product_view", "11-21T10:00:00", "A5", product=LOAN, url="/products/loan"),
        _ev("policy_purchased", "11-21T10:05:00", "A5", policy_id="P-A5", product=LOAN),
        _ev("product_view", "11-17T20:00:00", "B1", product=LOAN, url="/products/loan"),
        _ev("content_view", "11-18T10:00:00", "B2", content="education-children", url="/c/ed"),
        _ev("policy_purchased", "11-18T11:00:00", "B2", policy_id="P-B2", product=EDU),
        _ev("product_view", "11-20T15:00:00", "v9", product=CHILD, url="/products/child"),
        _ev("product_view", "11-20T15:01:00", "v9", product=CHILD, url="/products/child"),
        # After the period.
        _ev("policy_purchased", "12-10T10:00:00", "A3", policy_id="P-A3-2", product=CHILD),
        _ev("policy_purchased", "12-18T10:00:00", "A2", policy_id="P-A2", product=CHILD),
    ]


CUSTOMERS = {
    "A1": ("F", date(1990, 5, 1)),
    "A2": ("M", date(1996, 11, 23)),
    "A3": (None, date(1999, 1, 1)),
    "A4": ("F", date(1988, 2, 2)),
    "A5": ("F", date(1985, 7, 7)),
    "B1": ("female", date(1970, 3, 3)),
    "B2": ("M", None),
}
# (segment, customer, entered, KST time)
CHANGES = [
    *(("young", c, True, "2026-10-01T00:00:00") for c in ("A1", "A2", "A3", "A4", "B2")),
    ("young", "B2", False, "2026-11-10T00:00:00"),
    ("young", "A5", True, "2026-11-20T12:00:00"),
    *(("older", c, True, "2026-10-01T00:00:00") for c in ("B1", "B2")),
]


def seed() -> None:
    """The catalogue, the customers, their events (processed) and the segments."""
    clock.freeze(pendulum.datetime(2026, 12, 20, 12, 0, tz="Asia/Seoul"))
    with session_scope() as s:
        for code, name, category in (
            (EDU, "교보 에듀케어", "insurance"),
            (CHILD, "어린이 CI", "insurance"),
            (LOAN, "주택담보대출", "loan"),
            ("PENSION", "연금저축", "pension"),
        ):
            s.add(Product(product_code=code, name=name, category=category))
        for cid, (gender, born) in CUSTOMERS.items():
            s.add(Customer(customer_id=cid, gender=gender, birth_date=born))
    result = ingest(_log(), source="test", publish=False)
    assert result.rejected == 0, result.summary()
    process_events(result.stored_ids)
    # The segments after the events, so the pipeline's segment step leaves them alone.
    with session_scope() as s:
        s.add(Segment(segment_id="young", name="28–40 young", checksum="x"))
        s.add(Segment(segment_id="older", name="older", checksum="y"))
    at = {c[3]: pendulum.parse(c[3], tz="Asia/Seoul") for c in CHANGES}
    with get_engine().begin() as conn:
        conn.execute(
            insert(SegmentChange.__table__),  # type: ignore[attr-defined]
            [
                {"segment_id": s, "customer_id": c, "entered": e, "at": at[t], "cause": "refresh"}
                for s, c, e, t in CHANGES
            ],
        )
        now = [("young", c) for c in ("A1", "A2", "A3", "A4", "A5")]
        now += [("older", "B1"), ("older", "B2")]
        conn.execute(
            insert(SegmentMember.__table__),  # type: ignore[attr-defined]
            [{"segment_id": s, "customer_id": c, "entered_at": clock.now()} for s, c in now],
        )
