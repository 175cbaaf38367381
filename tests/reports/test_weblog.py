"""Web-log report on a hand-built log whose every figure is counted by hand below."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pendulum
import pytest

from automation import clock
from automation.db import session_scope
from automation.events.ingest import ingest
from automation.models import Customer, Product
from automation.reports.period import Period
from automation.reports.weblog import Arrival, PathCount, Share, weblog_report
from automation.worker.process import process_events

PERIOD = Period(date(2026, 11, 16), date(2026, 11, 22))  # one week, Seoul
GROUP = {"customer.has_children": True, "customer.age": {"between": [28, 40]}}
EDU, CHILD, LOAN = "/products/edu-care", "/products/child-ci", "/products/home-loan"
EDU_CONTENT, KIDS = "/contents/education-children", "education-children"
PENSION = "/contents/pension-savings"
BANNER = {"utm_source": "portal-banner", "banner": "naver-main"}
PENSION_BANNER = {"content": "pension-savings", **BANNER}
HEALTH, HEALTH_TAGS = "/contents/health", {"content": "health", "category": "insurance"}


def _ev(
    n: int, type_: str, at: str, *, v: str | None = None, c: str | None = None, **props: Any
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": f"e{n:02d}",
        "type": type_,
        "occurred_at": f"2026-{at}+09:00",
        "properties": props,
    }
    if v:
        event["visitor_id"] = v
    if c:
        event["customer_id"] = c
    return event


def _page(url: str, **props: Any) -> dict[str, Any]:
    return {"url": url, **props}


# Visits, by person (KST). Email and policy events never make or break a visit.
LOG = [
    # C1: seen before the period, so not first-time; 3 visits, 6 page views, 1 login.
    _ev(1, "page_view", "11-10T10:00:00", v="v1", c="C1", url="/"),
    # visit A
    _ev(2, "page_view", "11-16T10:00:00", v="v1", c="C1", **_page("/", **BANNER)),
    _ev(3, "login", "11-16T10:05:00", v="v1", c="C1"),
    _ev(4, "product_view", "11-16T10:10:00", v="v1", c="C1", product="EDU-CARE", url=EDU),
    # 29:59 after the last event: the same visit
    _ev(5, "content_view", "11-16T10:39:59", v="v1", c="C1", content=KIDS, url=EDU_CONTENT),
    _ev(6, "email_opened", "11-16T10:50:00", c="C1"),
    # visit B: 30:01 after the last web event
    _ev(7, "page_view", "11-16T11:10:00", v="v1", c="C1", url="/"),
    _ev(8, "product_view", "11-16T11:12:00", v="v1", c="C1", product="CHILD-CI", url=CHILD),
    # visit C
    _ev(9, "content_view", "11-18T20:00:00", v="v1", c="C1", url=PENSION, **PENSION_BANNER),
    # v2 arrives anonymously from the banner, signs up as C2 (stitched), later buys.
    # visit D
    _ev(10, "page_view", "11-17T09:00:00", v="v2", **_page("/", **BANNER)),
    _ev(11, "product_view", "11-17T09:01:00", v="v2", product="EDU-CARE", url=EDU),
    _ev(12, "signup", "11-17T09:02:00", v="v2", c="C2"),
    _ev(13, "content_view", "11-17T09:03:00", v="v2", content=KIDS, url=EDU_CONTENT),
    # visit E
    _ev(14, "login", "11-20T12:00:00", v="v2", c="C2"),
    _ev(15, "page_view", "11-20T12:01:00", v="v2", c="C2", url=EDU, product="EDU-CARE"),
    _ev(16, "policy_purchased", "11-20T12:30:00", c="C2", policy_id="P2", product="EDU-CARE"),
    # C3 (no children, 50): bought before arriving from search, so not a conversion.
    _ev(17, "policy_purchased", "11-16T09:00:00", c="C3", policy_id="P3", product="HOME-LOAN"),
    # visit F
    _ev(18, "page_view", "11-19T10:00:00", v="v3c", c="C3", url="/", utm_source="search"),
    _ev(19, "login", "11-19T10:01:00", v="v3c", c="C3"),
    _ev(20, "product_view", "11-19T10:02:00", v="v3c", c="C3", product="HOME-LOAN", url=LOAN),
    # v3 stays anonymous: first-time, 2 visits (G, H), 3 page views.
    _ev(21, "page_view", "11-21T15:00:00", v="v3", **_page("/", **BANNER)),
    _ev(22, "page_view", "11-21T15:05:00", v="v3", url=CHILD, product="CHILD-CI"),
    _ev(23, "page_view", "11-22T15:00:00", v="v3", url="/"),
    # v4: a page the second before the period, one inside it, one the instant it ends.
    _ev(24, "page_view", "11-15T23:59:59", v="v4", url="/"),
    _ev(25, "page_view", "11-22T09:00:00", v="v4", **_page(HEALTH, **HEALTH_TAGS)),
    _ev(26, "page_view", "11-23T00:00:00", v="v4", url="/late"),
]


def _seed() -> None:
    clock.freeze(pendulum.datetime(2026, 11, 22, 23, 0, tz="Asia/Seoul"))
    with session_scope() as s:
        for code, name, category in (
            ("EDU-CARE", "교보 에듀케어 교육보험", "insurance"),
            ("CHILD-CI", "어린이 CI보험", "insurance"),
            ("HOME-LOAN", "주택담보대출", "loan"),
        ):
            s.add(Product(product_code=code, name=name, category=category))
        s.add(Customer(customer_id="C1", has_children=True, birth_date=date(1990, 1, 1)))
        s.add(Customer(customer_id="C2", has_children=True, birth_date=date(1995, 6, 1)))
        s.add(Customer(customer_id="C3", has_children=False, birth_date=date(1976, 3, 3)))
    result = ingest(LOG, source="test", publish=False)
    assert result.rejected == 0, result.summary()
    process_events(result.stored_ids)


def test_site_figures(database: str) -> None:
    _seed()
    report = weblog_report(PERIOD)
    assert report.group is None and report.group_customers is None
    assert report.visitors == 5  # C1, C2, C3, v3, v4
    assert report.visits == 9  # C1: A B C, C2: D E, C3: F, v3: G H, v4: one
    assert report.page_views == 16  # 6 + 4 + 2 + 3 + 1
    assert report.first_time_visitors == 3  # C2, C3, v3
    assert (report.logins, report.logged_in_visitors) == (3, 3)
    assert report.logins_per_visitor == pytest.approx(0.6)
    assert report.page_views_per_visitor == pytest.approx(3.2)
    assert report.visits_per_week == pytest.approx(9.0)
    assert report.visits_per_week_per_visitor == pytest.approx(1.8)


def test_preferences(database: str) -> None:
    _seed()
    report = weblog_report(PERIOD)
    assert report.content_preference == [
        Share("education-children", 2, 0.5),
        Share("health", 1, 0.25),
        Share("pension-savings", 1, 0.25),
    ]
    # v4's page names its category; product pages take the catalogue's.
    assert report.category_preference == [Share("insurance", 6, 6 / 7), Share("loan", 1, 1 / 7)]
    assert report.product_preference == [
        Share("EDU-CARE", 3, 0.5, "교보 에듀케어 교육보험"),
        Share("CHILD-CI", 2, 2 / 6, "어린이 CI보험"),
        Share("HOME-LOAN", 1, 1 / 6, "주택담보대출"),
    ]
    assert weblog_report(PERIOD, top=1).product_preference == report.product_preference[:1]


def test_main_paths(database: str) -> None:
    _seed()
    report = weblog_report(PERIOD)
    assert report.main_paths == [  # most visits first, then by the pages
        PathCount(("/", CHILD), 2, 2 / 9),  # B, G
        PathCount(("/", EDU, EDU_CONTENT), 2, 2 / 9),  # A, D (log-in and sign-up are no pages)
        PathCount(("/",), 1, 1 / 9),  # H
        PathCount(("/", LOAN), 1, 1 / 9),  # F
        PathCount((HEALTH,), 1, 1 / 9),
        PathCount((PENSION,), 1, 1 / 9),
        PathCount((EDU,), 1, 1 / 9),
    ]
    assert weblog_report(PERIOD, top=2).main_paths == report.main_paths[:2]


def test_arrivals(database: str) -> None:
    _seed()
    assert weblog_report(PERIOD).arrivals == [
        # A, C (C1), D (C2, then signed up and bought), G (v3)
        Arrival("portal-banner", "naver-main", visits=4, visitors=3, signed_up=1, bought=1),
        Arrival("search", None, visits=1, visitors=1, signed_up=0, bought=0),  # bought before
    ]


def test_group_of_customers(database: str) -> None:
    _seed()
    report = weblog_report(PERIOD, GROUP)  # C1 (36) and C2 (31); C3 has no children
    assert report.group == GROUP and report.group_customers == 2
    figures = (report.visitors, report.visits, report.page_views, report.first_time_visitors)
    assert figures == (2, 5, 10, 1)
    assert (report.logins, report.logged_in_visitors) == (2, 2)
    assert report.page_views_per_visitor == pytest.approx(5.0)
    assert report.visits_per_week == pytest.approx(5.0)
    assert report.visits_per_week_per_visitor == pytest.approx(2.5)
    assert [(s.key, s.views) for s in report.content_preference] == [
        ("education-children", 2),
        ("pension-savings", 1),
    ]
    assert [(s.key, s.share) for s in report.category_preference] == [("insurance", 1.0)]
    assert [(s.key, s.views) for s in report.product_preference] == [
        ("EDU-CARE", 3),
        ("CHILD-CI", 1),
    ]
    assert report.main_paths[0] == PathCount(("/", EDU, EDU_CONTENT), 2, 2 / 5)
    assert report.arrivals == [Arrival("portal-banner", "naver-main", 3, 2, 1, 1)]


def test_a_compiled_group_gives_the_same_figures(database: str) -> None:
    from automation.conditions import compile_condition

    _seed()
    compiled = weblog_report(PERIOD, compile_condition(GROUP, allow_event=False))
    plain = weblog_report(PERIOD, GROUP)
    assert compiled.to_dict() | {"group": None} == plain.to_dict() | {"group": None}


def test_to_dict_is_json(database: str) -> None:
    _seed()
    data = json.loads(json.dumps(weblog_report(PERIOD, GROUP).to_dict()))
    assert data["period"] == {
        "from": "2026-11-16",
        "to": "2026-11-22",
        "days": 7,
        "timezone": "Asia/Seoul",
    }
    assert data["visits_per_week_per_visitor"] == 2.5
    assert data["content_preference"][0] == {
        "key": "education-children",
        "views": 2,
        "share": 0.6667,
        "name": None,
    }
    assert data["main_paths"][0] == {"pages": ["/", EDU, EDU_CONTENT], "visits": 2, "share": 0.4}
    assert data["arrivals"][0]["signed_up"] == 1


@pytest.mark.parametrize(
    ("second", "visits"),
    [("10:29:59", 1), ("10:30:00", 1), ("10:30:00.001", 2), ("10:30:01", 2)],
)
def test_the_session_gap_at_its_edge(database: str, second: str, visits: int) -> None:
    clock.freeze(pendulum.datetime(2026, 11, 22, 23, 0, tz="Asia/Seoul"))
    first = _ev(1, "page_view", "11-20T10:00:00", v="x", url="/")
    ingest([first, _ev(2, "page_view", f"11-20T{second}", v="x", url="/next")], publish=False)
    report = weblog_report(PERIOD)
    assert (report.visits, report.page_views, report.visitors) == (visits, 2, 1)


def test_an_empty_period(database: str) -> None:
    clock.freeze(pendulum.datetime(2026, 11, 22, 23, 0, tz="Asia/Seoul"))
    report = weblog_report(PERIOD, GROUP)
    assert (report.visits, report.visitors, report.page_views, report.group_customers) == (
        0,
        0,
        0,
        0,
    )
    assert report.main_paths == report.arrivals == report.content_preference == []
    assert report.logins_per_visitor == 0.0


def test_a_group_naming_an_event_is_refused(database: str) -> None:
    from automation.conditions import ConditionError

    with pytest.raises(ConditionError):
        weblog_report(PERIOD, {"event.product": "EDU-CARE"})
