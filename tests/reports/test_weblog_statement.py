"""The web log's one statement is built once per group and reused: reuse never mixes
up periods, groups or settings (the hand-counted log of ``test_weblog``)."""

from __future__ import annotations

from datetime import date

import pendulum
import pytest

from automation import clock
from automation.config import reset_settings
from automation.events.ingest import ingest
from automation.reports.period import Period
from automation.reports.weblog import weblog_report
from tests.reports.test_weblog import GROUP, PERIOD, _ev, _seed


def test_other_periods_and_groups_get_their_own_figures(database: str) -> None:
    _seed()
    first = weblog_report(PERIOD, GROUP).to_dict()
    no_children = weblog_report(PERIOD, {"customer.has_children": False})
    assert no_children.group_customers == 1  # C3
    assert (no_children.visitors, no_children.visits, no_children.page_views) == (1, 1, 2)
    older = weblog_report(PERIOD, {**GROUP, "customer.age": {"between": [33, 40]}})
    assert older.group_customers == 1  # C1 (36), not C2 (31)
    assert (older.visitors, older.visits, older.page_views) == (1, 3, 6)
    assert weblog_report(PERIOD, GROUP).to_dict() == first
    # The last two days: v3's visits G and H (first-time), v4's page of 11-22 (not).
    weekend = weblog_report(Period(date(2026, 11, 21), date(2026, 11, 22)))
    figures = (weekend.visitors, weekend.visits, weekend.page_views, weekend.first_time_visitors)
    assert figures == (2, 3, 4, 1)


@pytest.mark.parametrize(("gap_minutes", "visits"), [("60", 1), (None, 2)])
def test_the_session_gap_is_the_setting_of_the_day(
    database: str, monkeypatch: pytest.MonkeyPatch, gap_minutes: str | None, visits: int
) -> None:
    clock.freeze(pendulum.datetime(2026, 11, 22, 23, 0, tz="Asia/Seoul"))
    pages = [
        _ev(1, "page_view", "11-20T10:00:00", v="x", url="/"),
        _ev(2, "page_view", "11-20T10:45:00", v="x", url="/next"),
    ]
    ingest(pages, publish=False)
    weblog_report(PERIOD)  # with the default gap of 30 minutes: two visits
    if gap_minutes is not None:
        monkeypatch.setenv("AUTOMATION_SESSION_GAP_MINUTES", gap_minutes)
        reset_settings()
    assert weblog_report(PERIOD).visits == visits
