"""A resent old login is a duplicate and changes nothing: stitching follows only the
events this ingest stored."""

from __future__ import annotations

from typing import Any

from automation.events.ingest import ingest
from automation.worker.process import process_events
from tests.helpers import ev, events_by_id, identity


def login(event_id: str, customer: str, at: str) -> dict[str, Any]:
    return ev(event_id, "login", at=at, visitor_id="vv-9", customer_id=customer)


L1 = login("L1", "c160", "2026-11-22T10:00:00+09:00")
L2 = login("L2", "c161", "2026-11-22T10:05:00+09:00")


def run(batch: list[dict[str, Any]]) -> list[str]:
    result = ingest(batch, publish=False)
    process_events(result.stored_ids)
    return [r.status for r in result.results]


def linked() -> str | None:
    ident = identity("vv-9")
    return ident.customer_id if ident is not None else None


def test_a_resent_old_login_does_not_move_the_link_back(database: str) -> None:
    run([L1])
    run([L2])
    assert linked() == "c161"
    assert run([L1]) == ["duplicate"]
    assert linked() == "c161"
    run([ev("pv", visitor_id="vv-9", at="2026-11-22T10:10:00+09:00")])
    assert events_by_id()["pv"].customer_id == "c161"


def test_anonymous_events_beside_a_resent_login_follow_the_stored_link(database: str) -> None:
    run([ev("early", visitor_id="vv-9", at="2026-11-22T09:00:00+09:00"), L1])
    run([L2])
    batch = [L1, ev("pv", visitor_id="vv-9", at="2026-11-22T10:10:00+09:00")]
    assert run(batch) == ["duplicate", "accepted"]
    events = events_by_id()
    assert linked() == "c161"
    assert events["pv"].customer_id == "c161"
    assert events["early"].customer_id == "c160"  # history stays with whom it was given


def test_a_new_login_beside_a_resent_one_still_stitches(database: str) -> None:
    run([L1])
    l3 = login("L3", "c162", "2026-11-22T09:00:00+09:00")  # earlier than L1, but new
    assert run([L1, l3, ev("pv", visitor_id="vv-9")]) == ["duplicate", "accepted", "accepted"]
    assert linked() == "c162"
    assert events_by_id()["pv"].customer_id == "c162"
