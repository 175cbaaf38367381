"""The demo's figures as a manager reads them: the summary and the HTML report say what
each count is, and none of them misleads.

The results are the default run's own figures (60 days, seed 7) built by hand, so each
wording is checked against the numbers a new user saw; ``results.py``'s period split
and daily entries are checked on a database.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from typing import Any

import pytest
from rich.console import Console

from automation.db import get_engine, session_scope
from automation.demo.charts import capped_lines, hbars, lines, nice_ceil, spike_cap
from automation.demo.report import write_report
from automation.demo.results import _daily, _tables
from automation.demo.summary import print_summary
from automation.models import Customer, Enrollment, Journey, JourneyVersion, Message
from automation.reports.campaigns import CampaignReport, CampaignRow, Counts
from automation.reports.journeys import Arm, JourneyResult, Outcomes, Step
from automation.reports.period import Period

PERIOD = Period(date(2026, 9, 1), date(2026, 10, 30))
DAYS = [(PERIOD.start + timedelta(days=i)).isoformat() for i in range(PERIOD.days)]


def _journey(
    journey_id: str, outcomes: Outcomes, steps: list[Step], has_goal: bool = True
) -> dict[str, Any]:
    return JourneyResult(
        journey_id, journey_id, "active", outcomes, steps, [], has_goal=has_goal
    ).to_dict()


def _series(first_days: dict[int, int], rest: int) -> list[int]:
    return [first_days.get(i, rest) for i in range(PERIOD.days)]


def _results() -> dict[str, Any]:
    ladder_steps = [
        Step("route", 752, 1.0, came_from={"entry": 752}),
        Step("member_call", 669, 669 / 752, came_from={"member_sms": 669}),
        Step(
            "member_interested",
            703,
            703 / 752,
            came_from={"member_call": 631, "member_recommend": 55, "member_sms": 17},
        ),
        Step("dormant_lead", 628, 628 / 752, end=True, came_from={"member_interested": 628}),
        Step("done", 3, 3 / 752, end=True, came_from={"cross_sell_interested": 3}),
    ]
    journeys = [
        _journey(
            "conversion-ladder", Outcomes(Arm(752, 11), completed=631, exited=3), ladder_steps
        ),
        _journey(
            "maturity-retention",
            Outcomes(Arm(134, 24), Arm(17, 1), completed=81, exited=8),
            [
                Step("assign", 151, 1.0, came_from={"entry": 151}),
                Step("holdout", 17, 17 / 151, came_from={"assign": 17}),
                Step("offer", 134, 134 / 151, came_from={"assign": 134}),
            ],
        ),
        _journey(
            "welcome",
            Outcomes(Arm(84, 0), completed=80, exited=1),
            [Step("thanks", 84, 1.0, came_from={"entry": 84})],
            has_goal=False,
        ),
    ]
    email = Counts(decided=1643, sent=1141, delivered=1141, opened=412, clicked=104)
    campaigns = CampaignReport(
        PERIOD,
        ("journey", "channel"),
        [CampaignRow({"journey": "conversion-ladder", "channel": "email"}, email)],
        [CampaignRow({"channel": "email"}, email)],
        email,
    ).to_dict()
    share = [{"key": "education-children", "share": 0.49}]
    return {
        "seed": 7,
        "days": 60,
        "period": PERIOD.to_dict(),
        "people": {"people": 1400, "members_at_start": 1000, "members_at_end": 1085},
        "did": {"email_opened": 412, "policy_purchased": 97},
        "funnel": {"rungs": [{"rung": "visitor", "reached": 1284, "rate": None, "moved_in": 0}]},
        "journeys": {"period": PERIOD.to_dict(), "journeys": journeys},
        "campaigns": campaigns,
        "table2": {
            "period": {"from": "2026-10-01", "to": "2026-10-30"},
            "group_customers": 231,
            "visitors": 231,
            "page_views_per_visitor_per_30_days": 26.1,
            "visits_per_week_per_visitor": 2.25,
            "content_preference": share,
            "category_preference": share,
            "product_preference": share,
        },
        "daily": {
            "days": DAYS,
            "events": {
                "web": _series({}, 700),
                "responses": _series({}, 10),
                "policies": _series({}, 2),
            },
            "sent": {
                "email": _series({0: 68, 1: 396}, 12),
                "sms": _series({4: 274}, 2),
                "call": _series({8: 421}, 2),
            },
            "sent_by_journey": {
                "email": {
                    "conversion-ladder": _series({0: 0, 1: 388}, 6),
                    "dormant-reactivation": _series({0: 39, 1: 1}, 6),
                },
                "sms": {"conversion-ladder": _series({4: 273}, 2)},
                "call": {"conversion-ladder": _series({8: 420}, 2)},
            },
            "entered": {
                "conversion-ladder": _series({0: 668}, 1),  # 727 in all
                "dormant-reactivation": _series({0: 75}, 0),
            },
        },
        "messages": {"email:sent": 1143, "email:suppressed": 504, "sms:sent": 407},
        "messages_outside_period": {"email:sent": 2, "email:suppressed": 2},
        "reasons": {"suppressed": {"no_ad_consent": 381}},
        "call_tasks": {"reached": 195},
        "events": {"total": 36136, "unprocessed": 0, "failed": 0},
        "stages": {"member": 682},
        "files": {"eml": 1143, "sms": 407},
        "engine": {"actor_failures": 0},
    }


@pytest.fixture(scope="module")
def summary() -> str:
    console = Console(file=io.StringIO(), width=80, color_system=None)
    print_summary(_results(), console)
    return console.file.getvalue()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = write_report(_results(), tmp_path_factory.mktemp("figures") / "report.html")
    return path.read_text(encoding="utf-8")


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_the_summary_fits_80_columns(summary: str) -> None:
    assert max(len(line) for line in summary.splitlines()) <= 80


def test_a_journey_without_a_goal_says_no_goal(summary: str, page: str) -> None:
    row = next(line for line in summary.splitlines() if line.startswith("welcome "))
    assert row.split() == ["welcome", "84", "–", "no", "goal", "80", "1", "3"]
    assert "0.0%" not in summary
    assert '<td class="">welcome</td><td class="n">84</td><td class="n">–</td>' in page
    assert '<td class="n">no goal</td>' in page and "0.0%" not in page


def test_every_uplift_has_its_groups_and_interval(summary: str, page: str) -> None:
    flat = _flat(summary)
    assert "maturity-retention 24 of 134 (17.9%) 1 of 17 (5.9%)" in flat
    assert "too small to tell: -9.8 to +20.8 pt" in flat
    assert "A group under 30 is too small to tell an uplift from chance" in flat
    assert "+12.0 pt" not in flat.replace("the difference seen, +12.0 pt, is no measure", "")
    assert "Newcombe's hybrid score interval (from Wilson intervals)" in flat
    assert "No uplift for conversion-ladder (no holdout), welcome (no goal)." in flat
    assert '<td class="n">24 of 134 (17.9%)</td><td class="n">1 of 17 (5.9%)</td>' in page
    assert '<td class="n">too small to tell</td><td class="n">-9.8 to +20.8 pt</td>' in page
    assert "with 95% intervals" in page  # the bars' whiskers


def test_completed_and_steps_are_labelled(summary: str, page: str) -> None:
    flat = _flat(summary)
    assert "conversion-ladder: completed 631 = dormant_lead 628 + done 3" in flat
    assert "dormant_lead (end) 628 member_interested 628" in flat
    assert "member_interested 703 member_call 631, member_recommend 55, member_sms 17" in flat
    assert "a step can count more than the one listed before it" in flat
    assert "703  ← member_call 631, member_recommend 55, member_sms 17" in page
    assert "done (end)" in page and "completed 631 = dormant_lead 628 + done 3" in page


def test_emails_sent_are_reconciled(summary: str, page: str) -> None:
    flat = _flat(summary)
    assert (
        "e-mails sent 1,143 = 1,141 decided in the period (the campaigns table) + 2 decided "
        "at 2026-10-31 00:00, after it; .eml files in the sink 1,143"
    ) in flat
    assert "Campaigns by channel (messages decided in the period)" in flat
    assert "Not here: 2 e-mails, decided at 2026-10-31 00:00" in flat
    assert "Includes 2 e-mails decided after the period, not in the campaigns table." in flat
    assert "SMS sent 407, files in the SMS outbox 407" in flat  # nothing to reconcile
    assert "Not here: 2 e-mails decided at the replay's last instant" in page


def test_seed_table_2_is_explained(summary: str, page: str) -> None:
    explained = (
        "the web-log figures of one customer group, members aged 28–40 with children, in "
        "table 2 of the seed document the demo is built on"
    )
    assert explained in _flat(summary)
    assert explained in page


def test_the_messages_chart_explains_and_caps_the_launch(page: str) -> None:
    section = page[page.index("Messages sent, by channel") : page.index("<h3>Answers")]
    assert (
        "the conversion ladder was started for the whole member base at once, so 668 members "
        "entered it that day (727 in the whole period)"
    ) in section
    assert "(dormant-reactivation 75)" in section
    assert "The axis stops at 50 a day" in section
    assert "09-02 e-mail 396 (conversion-ladder 388, dormant-reactivation 1)" in section
    assert "09-09 call 421 (conversion-ladder 420)" in section
    ticks = re.findall(r'text-anchor="end" class="small">([\d,]+)</text>', section)
    assert ticks == ["0", "10", "20", "30", "40", "50"]
    assert section.count("<path d=") == 4  # a marker on each capped day
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_nice_numbers_and_when_to_cap() -> None:
    assert [nice_ceil(v) for v in (0.3, 7, 10, 11, 30, 421)] == [0.5, 10, 10, 20, 50, 500]
    assert spike_cap([("a", [10, 12, 9, 11, 13] * 4)]) is None  # nothing to cap
    assert spike_cap([("a", [10, 12, 9, 11, 13] * 4 + [400])]) == 50


def test_lines_draw_every_tick_and_cap_a_spike() -> None:
    svg = lines(DAYS[:15], [("email", [5] * 14 + [400])], cap=20)
    ticks = re.findall(r'text-anchor="end" class="small">([\d,]+)</text>', svg)
    assert ticks == ["0", "5", "10", "15", "20"]
    assert ">400</text>" in svg and svg.count("<path d=") == 1
    assert [m for m in re.findall(r">(\d\d-\d\d)</text>", svg)] == ["09-01", "09-08", "09-15"]
    plain = capped_lines(DAYS[:3], [("web", [1, 2, 3])], "events a day")
    assert "The axis stops" not in plain


def test_bar_notes_widen_the_chart() -> None:
    narrow = hbars([("a", 1.0)])
    wide = hbars([("a", 1.0)], notes=["← " + "x" * 120])
    width = re.compile(r'<svg width="(\d+)"')
    assert int(width.search(wide).group(1)) > int(width.search(narrow).group(1))  # type: ignore[union-attr]


def test_results_split_the_messages_decided_after_the_period(database: str) -> None:
    """The last tick falls on the period's end: what it decides is outside the period."""
    end = PERIOD.end_utc  # 2026-10-31 00:00 in Seoul
    with session_scope() as s:
        s.add(Customer(customer_id="C1", name="고객"))
        s.flush()
        for key, created, status in (
            ("in", PERIOD.start_utc, "sent"),
            ("last", end - timedelta(seconds=1), "sent"),
            ("end", end, "sent"),
            ("end-s", end, "suppressed"),
        ):
            s.add(
                Message(
                    idempotency_key=key,
                    customer_id="C1",
                    channel="email",
                    status=status,
                    created_at=created,
                    sent_at=created if status == "sent" else None,
                )
            )
        s.add(Journey(journey_id="welcome", name="환영"))
        s.flush()
        s.add(JourneyVersion(id=1, journey_id="welcome", version=1, spec={}, checksum="c"))
        s.flush()
        for key, at in (("in", PERIOD.start_utc + timedelta(hours=10)), ("end", end)):
            entered: dict[str, Any] = {"entered_at": at, "key": key, "state": "thanks"}
            s.add(Enrollment(journey_id="welcome", version_id=1, customer_id="C1", **entered))
    with get_engine().connect() as conn:
        tables = _tables(conn, PERIOD)
        daily = _daily(conn, PERIOD)
    assert tables["messages"] == {"email:sent": 3, "email:suppressed": 1}
    assert tables["messages_outside_period"] == {"email:sent": 1, "email:suppressed": 1}
    assert sum(daily["sent"]["email"]) == 2  # the end instant is the next day's: not drawn
    assert daily["sent_by_journey"]["email"] == {"": [1] + [0] * 58 + [1]}
    assert daily["entered"] == {"welcome": [1] + [0] * 59}  # not the one at the end
