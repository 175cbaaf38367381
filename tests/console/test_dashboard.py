"""The manager dashboard over real HTTP and in a browser, on a world whose every count
is worked out in ``dashboard_world.py``: the funnel beside the period before, journeys
with and without a goal, campaigns and suppressions, the web log per segment, each
figure as CSV."""

from __future__ import annotations

import csv
import html
import io
import re
from pathlib import Path
from typing import Any

import pytest

from tests.console.browser import Served, client, open_page, person, shot, sign_in
from tests.console.browser import signed_in_client as session_for
from tests.console.dashboard_world import BEFORE, BOM, FUNNEL, WEEK, build_offers, build_world


def _rows(text: str) -> list[list[str]]:
    assert text.startswith(BOM), "the CSV starts with a BOM, so Excel reads it as UTF-8"
    return list(csv.reader(io.StringIO(text[1:])))


def test_a_manager_reads_the_dashboard_in_a_browser(console: Served, browser: Any) -> None:
    build_world()
    person("boss", "manager")
    page, watch = open_page(browser, console)
    sign_in(page, "boss")
    assert page.url.endswith("/dashboard")  # a manager's home
    # the period picker: labelled date fields, submitted from the keyboard
    page.get_by_label("시작일 Start").fill("2026-11-16")
    page.get_by_label("종료일 End").fill("2026-11-22")
    page.get_by_label("종료일 End").press("Enter")
    page.wait_for_load_state("networkidle")
    assert "start=2026-11-16" in page.url and "end=2026-11-22" in page.url
    assert page.get_by_test_id("previous-period").inner_text() == "2026-11-09 ~ 2026-11-15"

    funnel = page.get_by_test_id("funnel")
    for rung, reached in FUNNEL.items():
        row = funnel.locator(f'[data-testid="funnel-row"][data-rung="{rung}"]')
        assert row.get_by_test_id("reached").inner_text() == reached, rung
        assert row.get_by_test_id("previous").inner_text() == BEFORE[rung], rung
    member = funnel.locator('[data-rung="member"]')
    assert member.get_by_test_id("rate").inner_text() == "80.0%"  # 4 of 5
    assert member.get_by_test_id("change").inner_text() == "+3 (+300.0%)"

    retention = page.locator('[data-testid="dashboard-journey"][data-journey="retention"]')
    assert retention.get_by_test_id("goal-rate").inner_text() == "27.3%"  # 3 of 11
    assert retention.get_by_test_id("treated").inner_text().split()[2:5] == ["7", "2", "28.6%"]
    assert retention.get_by_test_id("holdout").inner_text().split()[2:5] == ["4", "1", "25.0%"]
    assert retention.get_by_test_id("uplift").inner_text() == "+3.6%p"  # 2/7 − 1/4
    assert "표본 부족" in retention.get_by_test_id("verdict").inner_text()  # groups under 30
    assert retention.get_by_test_id("interval").inner_text() == "-45.8%p ~ +44.6%p"
    welcome = page.locator('[data-testid="dashboard-journey"][data-journey="welcome"]')
    assert welcome.get_by_test_id("entered").inner_text() == "3"
    assert welcome.get_by_test_id("goal-rate").inner_text() == "목표 없음 (no goal)"

    assert page.get_by_test_id("campaign-row").count() == 2  # welcome_mail, welcome_sms
    reasons = page.get_by_test_id("suppression-row")
    assert [reasons.nth(i).get_attribute("data-reason") for i in range(2)] == [
        "no_email_consent",
        "cap_sms_week",
    ]
    assert reasons.nth(0).get_by_test_id("count").inner_text() == "2"
    weblog = page.get_by_test_id("weblog")
    assert weblog.locator('[data-metric="page_views"] td').inner_text() == "3"
    assert weblog.locator('[data-metric="logins"] td').inner_text() == "1"
    shot(page, "dashboard")

    # the CSV beside the funnel: the same figures, for the same period
    with page.expect_download() as info:
        page.get_by_test_id("csv-funnel").click()
    download = info.value
    assert download.suggested_filename == "funnel_2026-11-16_2026-11-22.csv"
    rows = _rows(Path(download.path()).read_text(encoding="utf-8"))
    assert rows[0][:3] == ["rung", "단계", "reached"]
    assert [(r[0], r[2], r[5]) for r in rows[1:]] == [
        (rung, FUNNEL[rung], BEFORE[rung]) for rung in FUNNEL
    ]

    # the period before, through the picker; and the web log of one segment
    page.get_by_label("시작일 Start").fill("2026-11-09")
    page.get_by_label("종료일 End").fill("2026-11-15")
    page.get_by_label("웹 로그 고객군 Web-log group").select_option("member")
    page.get_by_test_id("show").click()
    page.wait_for_load_state("networkidle")
    for rung, reached in BEFORE.items():
        row = page.locator(f'[data-testid="funnel-row"][data-rung="{rung}"]')
        assert row.get_by_test_id("reached").inner_text() == reached, rung
        assert row.get_by_test_id("previous").inner_text() == "0", rung
    # members now: M1, M2 and the 20 journey and message customers (F1 and R2 bought);
    # M1's log-in is the group's one visit that week
    assert page.get_by_test_id("group-customers").inner_text().endswith("고객 22명")
    weblog = page.get_by_test_id("weblog")
    assert weblog.locator('[data-metric="logins"] td').inner_text() == "1"
    assert weblog.locator('[data-metric="page_views"] td').inner_text() == "0"
    shot(page, "dashboard-previous-week")
    watch.check()


def test_an_agent_may_not_open_the_dashboard(console: Served) -> None:
    person("kim", "agent")
    http, _ = session_for(console, "kim")
    for path in ("/dashboard", "/dashboard/funnel.csv"):
        answer = http.get(path)
        assert answer.status_code == 403, path
        assert "agent 역할은 이 화면을 열 수 없습니다" in answer.text
    assert client(console).get("/dashboard").headers["location"] == "/login?next=/dashboard"


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("start=2026-13-01&end=2026-11-22", "시작일 start '2026-13-01'은(는) 날짜가 아닙니다"),
        ("start=2026-11-22&end=2026-11-16", "종료일 2026-11-16이 시작일 2026-11-22보다 앞섭니다"),
        ("start=1999-12-31", "1999-12-31은(는) 2000-01-01 – 2099-12-31 밖입니다"),
        ("days=abc", "일수 'abc'은(는) 1에서"),
        ("segment=nobody", "세그먼트 'nobody'이(가) 없습니다"),
    ],
)
def test_a_bad_query_is_a_clear_page(console: Served, query: str, says: str) -> None:
    person("boss", "manager")
    http, _ = session_for(console, "boss")
    for path in ("/dashboard", "/dashboard/funnel.csv"):
        answer = http.get(f"{path}?{query}")
        assert answer.status_code == 422, (path, answer.text)
        assert answer.headers["content-type"].startswith("text/html")
        assert says in html.unescape(answer.text), answer.text
        assert "Traceback" not in answer.text
        assert 'data-testid="funnel"' not in answer.text  # no figures for a bad query
        assert 'id="start"' in answer.text  # the picker, to try again


HEADERS = {
    "funnel": ["rung", "단계", "reached", "rate", "moved_in", "previous_reached"],
    "journeys": ["journey", "name", "entered", "converted", "completed", "exited", "active"],
    "campaigns": ["journey", "template", "channel", "decided", "sent", "delivered"],
    "suppressions": ["reason", "사유", "suppressed", "email", "sms", "call", "share"],
    "offers": ["rule", "name", "shown", "views", "clicked", "clicks", "click_rate", "converted"],
    "weblog": ["metric", "지표", "value", "group"],
}


def test_each_figure_downloads_as_csv(console: Served) -> None:
    build_world()
    person("ann", "marketer")
    http, _ = session_for(console, "ann")
    found: dict[str, list[list[str]]] = {}
    for figure, header in HEADERS.items():
        answer = http.get(f"/dashboard/{figure}.csv?{WEEK}&segment=member")
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "text/csv; charset=utf-8"
        assert answer.headers["content-disposition"] == (
            f'attachment; filename="{figure}_2026-11-16_2026-11-22_member.csv"'
        )
        found[figure] = _rows(answer.content.decode("utf-8"))
        assert found[figure][0][: len(header)] == header
    journeys = {r[0]: r for r in found["journeys"][1:]}
    head = found["journeys"][0]
    welcome = dict(zip(head, journeys["welcome"], strict=True))
    assert (welcome["has_goal"], welcome["goal_rate"], welcome["entered"]) == ("no", "", "3")
    retention = dict(zip(head, journeys["retention"], strict=True))
    assert (retention["holdout_entered"], retention["ci_low"]) == ("4", "-0.4576")
    assert found["suppressions"][1][:6] == [
        "no_email_consent",
        "이메일 수신 미동의",
        "2",
        "2",
        "0",
        "0",
    ]
    assert found["suppressions"][2][:3] == ["cap_sms_week", "문자(SMS) 주간 한도", "1"]
    assert [r[:5] for r in found["campaigns"][1:]] == [
        ["welcome", "welcome_mail", "email", "5", "3"],
        ["welcome", "welcome_sms", "sms", "1", "0"],
        ["(total)", "", "", "6", "3"],
    ]
    # members (M1, M2, and the 20 journey and message customers) in the week: M1's and
    # M2's page views, M2's first; M1's log-in was the week before
    weblog = {r[0]: r[2] for r in found["weblog"][1:]}
    assert (weblog["page_views"], weblog["visitors"], weblog["first_time_visitors"]) == (
        "2",
        "2",
        "1",
    )
    assert (weblog["logins"], weblog["group_customers"]) == ("0", "22")
    assert http.get(f"/dashboard/nothing.csv?{WEEK}").status_code == 404


def test_the_default_is_the_last_30_days(console: Served) -> None:
    build_world()
    person("boss", "manager")
    http, _ = session_for(console, "boss")
    answer = http.get("/dashboard")
    assert answer.status_code == 200
    assert 'value="2026-10-25"' in answer.text and 'value="2026-11-23"' in answer.text
    # both weeks fall in the last 30 days: vb1 vb2 M1 M2 F1 R2 va
    visitor = answer.text.split('data-rung="visitor"')[1]
    assert '<td class="num" data-testid="reached">7</td>' in visitor.split("</tr>")[0]
    # no offer was shown in the world: the section says so, with nothing to misread
    assert "오퍼 노출이 없습니다 (no offers shown in this period)" in answer.text
    assert 'data-testid="offer-row"' not in answer.text
    week = http.get("/dashboard?days=7")
    assert 'value="2026-11-17"' in week.text


def _offer_cells(text: str, rule: str) -> dict[str, str]:
    """The cells of one rule's row on the page, by their test id."""
    found = re.search(rf'<tr data-testid="offer-row" data-rule="{rule}">(.*?)</tr>', text, re.S)
    assert found, f"no row for {rule}"
    cells = re.findall(r'data-testid="([a-z-]+)"[^>]*>([^<]*)<', found.group(1))
    return {key: html.unescape(value) for key, value in cells}


def test_the_offers_section_shows_each_rule_beside_the_holdout(console: Served) -> None:
    build_offers()  # the counts are worked out in its docstring
    person("boss", "manager")
    http, _ = session_for(console, "boss")
    page = http.get(f"/dashboard?{WEEK}").text
    # right after the campaigns, before the web log
    assert (
        page.index("suppressions-title") < page.index("offers-title") < page.index("weblog-title")
    )
    assert re.findall(r'data-testid="offer-row" data-rule="([^"]+)"', page) == [
        "single-twenties",  # most people shown first
        "anonymous-signup",
        "popular",
    ]
    assert _offer_cells(page, "single-twenties") == {
        "shown": "40",  # people, not the 45 views
        "clicked": "10",  # people, not the 11 clicks
        "click-rate": "25.0%",
        "converted": "12",
        "conversion-rate": "30.0%",
        "credited": "10",  # O10 and O11 signed up without a click
        "uplift": "+20.0%p",  # 30.0% − the holdout's 10.0%
        "interval": "+0.3%p ~ +36.8%p",  # Newcombe, both groups of 30 or more
        "verdict": "효과 있음 (above 0)",
    }
    small = _offer_cells(page, "anonymous-signup")
    assert [small[k] for k in ("shown", "clicked", "click-rate", "converted", "credited")] == [
        "5",
        "2",
        "40.0%",
        "1",
        "1",
    ]
    # 5 people: the difference seen is shown, but it is not judged (as for journeys)
    assert (small["uplift"], small["interval"]) == ("+10.0%p", "–")
    assert small["verdict"] == "표본 부족: 판단 불가 (too small to tell)"
    assert "미혼 20대 → 연금저축" in page and "인기 (popular)" in page  # names beside ids
    holdout = re.search(r'data-testid="offer-holdout">(.*?)</p>', page, re.S)
    assert holdout and re.sub(r"<[^>]+>", "", holdout.group(1)).endswith("30명 중 3명 전환 (10.0%)")
    assert f'href="/dashboard/offers.csv?{WEEK}"' in html.unescape(page)

    answer = http.get(f"/dashboard/offers.csv?{WEEK}")
    assert answer.headers["content-disposition"] == (
        'attachment; filename="offers_2026-11-16_2026-11-22.csv"'
    )
    lines = [",".join(r) for r in _rows(answer.content.decode("utf-8"))]
    assert lines == [
        "rule,name,shown,views,clicked,clicks,click_rate,converted,conversion_rate,credited,"
        "uplift,ci_low,ci_high,verdict",
        "single-twenties,미혼 20대 → 연금저축,40,45,10,11,0.25,12,0.3,10,0.2,0.0035,0.3676,better",
        "anonymous-signup,비회원 → 회원가입,5,5,2,2,0.4,1,0.2,1,0.1,,,too small to tell",
        "popular,인기 (popular),2,2,0,0,0.0,0,0.0,0,-0.1,,,too small to tell",
        "(holdout),대조군,30,,,,,3,0.1,,,,,",  # the baseline of every uplift
    ]


def test_a_csv_cell_is_never_a_formula() -> None:
    from automation.console.pages.dashboard_csv import Sheet, csv_bytes

    sheet = Sheet(("name", "rate", "n"), [("=HYPERLINK(1)", 0.123456, None), ("환영", -0.5, 3)])
    text = csv_bytes(sheet).decode("utf-8")
    assert text == BOM + "name,rate,n\r\n'=HYPERLINK(1),0.1235,\r\n환영,-0.5,3\r\n"
