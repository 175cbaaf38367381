"""The cross-analysis reports on ``analysis_world``'s hand-built log: every figure below
is counted by hand there (customers, segments, ages, genders, pages, purchases)."""

from __future__ import annotations

from typing import Any

import pendulum
import pytest

from automation import clock
from automation.db import session_scope
from automation.models import Segment, SegmentChange
from automation.reports.interest import interest_report
from automation.reports.products import products_report
from automation.reports.segment_groups import UnknownSegment
from automation.reports.segment_usage import segment_usage_report
from automation.reports.weblog import weblog_report
from tests.reports.analysis_world import PERIOD, seed

CELL = ("age_band", "gender", "members", "visitors", "page_views", "visits")


def _cells(rows: list[dict[str, Any]], segment: str) -> list[tuple[Any, ...]]:
    return [tuple(r[k] for k in CELL) for r in rows if r["segment"] == segment]


def _keys(top: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(t["key"], t["views"]) for t in top]


def test_usage_by_age_band_and_gender(database: str) -> None:
    seed()
    data = segment_usage_report(PERIOD).to_dict()
    rows = data["rows"]
    # young at the period's end: A1–A5 (A5 joined 11-20; B2 left 11-10). A2 turns 30 on
    # 11-23, the day ages are taken; A4 never visits; A3 has no gender.
    assert _cells(rows, "young") == [
        ("20s", "unknown", 1, 1, 2, 1),
        ("30s", "F", 2, 1, 4, 2),
        ("30s", "M", 1, 1, 2, 1),
        ("40s", "F", 1, 1, 1, 1),
        ("all", "all", 5, 4, 9, 5),
    ]
    # B1's gender "female" is F; B2 has no birth date.
    assert _cells(rows, "older") == [
        ("50s", "F", 1, 1, 1, 1),
        ("unknown", "M", 1, 1, 1, 1),
        ("all", "all", 2, 2, 2, 2),
    ]
    young = {(r["age_band"], r["gender"]): r for r in rows if r["segment"] == "young"}
    f30, total = young[("30s", "F")], young[("all", "all")]
    assert (f30["page_views_per_visitor"], f30["visits_per_week_per_visitor"]) == (4.0, 2.0)
    assert _keys(f30["top_content"]) == [("education-children", 1)]
    assert _keys(f30["top_category"]) == [("insurance", 3)]
    assert f30["top_product"] == [{"key": "EDU-CARE", "name": "교보 에듀케어", "views": 3}]
    assert (total["page_views_per_visitor"], total["visits_per_week_per_visitor"]) == (2.25, 1.25)
    assert _keys(total["top_product"]) == [("EDU-CARE", 3), ("CHILD-CI", 2), ("HOME-LOAN", 1)]
    assert _keys(total["top_category"]) == [("insurance", 5), ("loan", 1)]
    assert _keys(total["top_content"]) == [("education-children", 1), ("pension-savings", 1)]
    assert data["segment"] is None and data["members_as_of"].startswith("2026-11-22T15:00")


def test_usage_of_one_segment_and_an_unknown_one(database: str) -> None:
    seed()
    rows = segment_usage_report(PERIOD, "older").to_dict()["rows"]
    assert {r["segment"] for r in rows} == {"older"} and len(rows) == 3
    with pytest.raises(UnknownSegment, match=r"no segment 'nobody' \(known: older, young\)"):
        segment_usage_report(PERIOD, "nobody")


def _levels(data: dict[str, Any], segment: str) -> dict[str, tuple[int, int, int, int, float]]:
    return {
        r["interest"]: (r["customers"], r["converted"], r["first_policy"], r["repeat"], r["rate"])
        for r in data["rows"]
        if r["segment"] == segment
    }


def test_conversion_by_interest(database: str) -> None:
    seed()
    data = interest_report(PERIOD).to_dict()
    # As they stood at 11-16 00:00: A5 not yet in young, B2 no longer. A1 15 pages (high)
    # bought 11-20 (first); A2 2 visits (medium) bought 12-18, after the 30 days; A3 one
    # page at 23:59:59 (low) bought again 12-10 (repeat); A4's page is 31 days before.
    assert _levels(data, "young") == {
        "none": (1, 0, 0, 0, 0.0),
        "low": (1, 1, 0, 1, 1.0),
        "medium": (1, 0, 0, 0, 0.0),
        "high": (1, 1, 1, 0, 1.0),
        "all": (4, 2, 1, 1, 0.5),
    }
    assert _levels(data, "older") == {
        "none": (1, 0, 0, 0, 0.0),
        "low": (0, 0, 0, 0, 0.0),
        "medium": (1, 1, 1, 0, 1.0),
        "high": (0, 0, 0, 0, 0.0),
        "all": (2, 1, 1, 0, 0.5),
    }
    assert data["complete"] is True and data["days"] == 30
    assert data["reference"] == "2026-11-15T15:00:00+00:00"
    assert data["interest_from"] == "2026-10-16T15:00:00+00:00"
    assert data["levels"]["page_views"] == {"low": 1, "medium": 5, "high": 15}


def test_conversion_window_and_an_open_one(database: str) -> None:
    seed()
    # Within 3 days (to 11-19 00:00): B2's 11-18 purchase, not A1's 11-20 one.
    three = interest_report(PERIOD, days=3, segment="young").to_dict()
    assert {r["segment"] for r in three["rows"]} == {"young"}
    assert _levels(three, "young")["high"] == (1, 0, 0, 0, 0.0)
    assert _levels(interest_report(PERIOD, 3, "older").to_dict(), "older")["medium"][1] == 1
    # Asked on 11-30, the 30 days have not ended: A3's 12-10 purchase is not known yet.
    clock.freeze(pendulum.datetime(2026, 11, 30, 12, 0, tz="Asia/Seoul"))
    open_ = interest_report(PERIOD).to_dict()
    assert open_["complete"] is False and open_["observed_until"].startswith("2026-11-30T03")
    assert _levels(open_, "young")["low"][1] == 0
    with pytest.raises(ValueError, match="--days 0: 1 to 366"):
        interest_report(PERIOD, days=0)


def _products(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    keys = ("product", "views", "viewers", "interested", "purchases", "buyers")
    more = ("viewed_then_bought", "interested_not_bought", "view_to_purchase", "never_bought")
    return [tuple(r[k] for k in (*keys, *more)) for r in data["rows"]]


def test_products(database: str) -> None:
    seed()
    data = products_report(PERIOD).to_dict()
    # CHILD-CI: A2, A3 and the anonymous v9 (twice); A2 asked a quote: interested, and
    # nobody bought. EDU-CARE: A1 viewed 3 times and bought; B2 bought without viewing.
    # HOME-LOAN: A5 viewed and bought, B1 only viewed. PENSION: nobody looked.
    assert _products(data) == [
        ("CHILD-CI", 4, 3, 1, 0, 0, 0, 1, 0.0, True),
        ("EDU-CARE", 3, 1, 1, 2, 2, 1, 0, 1.0, False),
        ("HOME-LOAN", 2, 2, 0, 1, 1, 1, 0, 0.5, False),
        ("PENSION", 0, 0, 0, 0, 0, 0, 0, 0.0, False),
    ]
    assert data["never_bought"] == ["CHILD-CI"]
    assert data["rows"][0]["name"] == "어린이 CI"


def test_products_of_a_segment(database: str) -> None:
    seed()
    data = products_report(PERIOD, "young").to_dict()
    assert _products(data) == [
        ("EDU-CARE", 3, 1, 1, 1, 1, 1, 0, 1.0, False),
        ("CHILD-CI", 2, 2, 1, 0, 0, 0, 1, 0.0, True),
        ("HOME-LOAN", 1, 1, 0, 1, 1, 1, 0, 1.0, False),
        ("PENSION", 0, 0, 0, 0, 0, 0, 0, 0.0, False),
    ]
    with pytest.raises(UnknownSegment):
        products_report(PERIOD, "nobody")


def test_weblog_of_a_segment(database: str) -> None:
    seed()
    report = weblog_report(PERIOD, segment="young")
    assert report.group == {"segment": "young"} and report.group_customers == 5
    assert (report.visitors, report.page_views, report.visits) == (4, 9, 5)
    assert report.page_views_per_visitor == pytest.approx(2.25)
    assert report.visits_per_week_per_visitor == pytest.approx(1.25)
    assert [(s.key, s.views) for s in report.product_preference] == [
        ("EDU-CARE", 3),
        ("CHILD-CI", 2),
        ("HOME-LOAN", 1),
    ]
    assert [s.key for s in report.content_preference] == ["education-children", "pension-savings"]
    older = weblog_report(PERIOD, segment="older")
    assert (older.group_customers, older.visitors, older.page_views) == (2, 2, 2)
    with pytest.raises(UnknownSegment, match="no segment 'nobody'"):
        weblog_report(PERIOD, segment="nobody")
    with pytest.raises(ValueError, match="not both"):
        weblog_report(PERIOD, {"customer.has_children": True}, segment="young")


def test_a_segment_published_later_is_said_not_guessed(database: str) -> None:
    seed()
    with session_scope() as s:
        s.add(Segment(segment_id="late", name="published 12-01", checksum="z"))
        s.add(
            SegmentChange(
                segment_id="late",
                customer_id="A1",
                entered=True,
                at=pendulum.datetime(2026, 12, 1, tz="Asia/Seoul"),
            )
        )
    usage = segment_usage_report(PERIOD).to_dict()
    assert usage["unrecorded"] == ["late"]
    assert _cells(usage["rows"], "late") == [("all", "all", 0, 0, 0, 0)]
    interest = interest_report(PERIOD).to_dict()
    assert interest["unrecorded"] == ["late"] and _levels(interest, "late")["all"][0] == 0
    assert products_report(PERIOD, "late").to_dict()["unrecorded"] == ["late"]
    assert products_report(PERIOD, "young").to_dict()["unrecorded"] == []
