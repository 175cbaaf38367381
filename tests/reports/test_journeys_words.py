"""The journey figures in words (terminal) and on the page (HTML): "no goal", not 0.0%;
every uplift with its groups and its 95% interval, or "too small to tell"."""

from __future__ import annotations

from typing import Any

from automation.reports import wording
from automation.reports.html import render_html
from automation.reports.journeys import Arm, JourneyResult, Outcomes, Step

PERIOD = {"from": "2026-09-01", "to": "2026-10-30", "days": 60, "timezone": "Asia/Seoul"}


def _journey(
    journey_id: str, outcomes: Outcomes, steps: list[Step], *, has_goal: bool = True
) -> dict[str, Any]:
    return JourneyResult(
        journey_id, journey_id, "active", outcomes, steps, [], has_goal=has_goal
    ).to_dict()


# The demo's default run (60 days, seed 7): maturity-retention's holdout of 17.
MATURITY = _journey(
    "maturity-retention",
    Outcomes(Arm(134, 24), Arm(17, 1), completed=81, exited=8),
    [
        Step("assign", 151, 1.0, came_from={"entry": 151}),
        Step("holdout", 17, 17 / 151, came_from={"assign": 17}),
        Step("offer", 134, 134 / 151, came_from={"assign": 134}),
        Step("done", 81, 81 / 151, end=True, came_from={"consultant_call": 58, "holdout": 11}),
    ],
)
WELCOME = _journey(
    "welcome",
    Outcomes(Arm(84, 0), completed=80, exited=1),
    [Step("thanks", 84, 1.0, came_from={"entry": 84}), Step("done", 80, 80 / 84, end=True)],
    has_goal=False,
)
LADDER = _journey(
    "conversion-ladder",
    Outcomes(Arm(752, 11), completed=631, exited=3),
    [
        Step("member_call", 669, 669 / 752, came_from={"member_sms": 669}),
        Step(
            "member_interested",
            703,
            703 / 752,
            came_from={"member_recommend": 55, "member_call": 631, "member_sms": 17},
        ),
        Step("dormant_lead", 628, 628 / 752, end=True, came_from={"member_interested": 628}),
        Step("done", 3, 3 / 752, end=True, came_from={"cross_sell_interested": 3}),
    ],
)


def test_no_goal_in_words() -> None:
    assert wording.goal_rate(WELCOME) == "no goal"
    assert wording.converted(WELCOME) == "–"
    assert wording.uplift(WELCOME) == "no goal"
    assert wording.goal_rate(LADDER) == "1.5%"
    assert wording.uplift(LADDER) == "no holdout"


def test_a_holdout_of_17_is_too_small_to_tell() -> None:
    assert wording.uplift(MATURITY) == "too small to tell"
    assert wording.interval(MATURITY) == "-9.8 to +20.8 pt"
    assert wording.uplift_sentence(MATURITY) == (
        "treated 24/134 = 17.9%, holdout 1/17 = 5.9%: a holdout under 30 is too small to "
        "tell an uplift from chance (difference seen +12.0 pt, 95% interval -9.8 to +20.8 pt)"
    )


def test_a_measured_uplift_in_words() -> None:
    clear = _journey("retention", Outcomes(Arm(200, 60), Arm(100, 10)), [])
    assert wording.uplift(clear) == "+20.0 pt"
    assert wording.uplift_sentence(clear).endswith(
        "uplift +20.0 pt, 95% interval +10.5 to +28.0 pt: the journey raised the goal rate"
    )


def test_steps_in_words() -> None:
    ways = LADDER["ways_in"]
    # most first: why member_interested (703) is larger than member_call (669)
    assert wording.came_from(ways["member_interested"]) == (
        "member_call 631, member_recommend 55, member_sms 17"
    )
    assert wording.step_name(LADDER, "dormant_lead") == "dormant_lead (end)"
    assert wording.step_name(LADDER, "member_call") == "member_call"
    assert wording.completed_split(LADDER) == "completed 631 = dormant_lead 628 + done 3"
    assert wording.completed_split(WELCOME) == ""  # one end state: nothing to split


def test_the_page_says_no_goal_and_too_small() -> None:
    page = render_html("journeys", {"period": PERIOD, "journeys": [LADDER, MATURITY, WELCOME]})
    assert "목표 없음 (no goal)" in page
    assert ">0.0%<" not in page  # the welcome journey's old "goal rate 0.0%"
    assert "표본 부족: 판단 불가 (too small to tell)" in page
    assert "-9.8%p ~ +20.8%p" in page  # the interval, in the table and the note
    assert "대조군이 17명으로 30명 미만이라 효과를 판단할 수 없습니다" in page
    assert "134 / 17" in page  # both groups' sizes beside the uplift
    assert "dormant_lead (종료)" in page
    assert "703 (93.5%) ← member_call 631 · member_recommend 55 · member_sms 17" in page
    assert "완료 631 = dormant_lead 628 + done 3" in page
    assert "Newcombe" in page


def test_the_page_of_a_report_without_the_new_fields() -> None:
    """A report saved before these fields still renders, as it did."""
    old = {
        "journey": "welcome",
        "entered": 9,
        "converted": 4,
        "goal_rate": 0.4444,
        "uplift": {
            "treatment": {"entered": 6, "converted": 3, "rate": 0.5},
            "control": {"entered": 3, "converted": 1, "rate": 0.3333},
            "uplift": 0.1667,
        },
        "steps": [{"state": "thanks", "reached": 9, "share": 1.0}],
    }
    page = render_html("journeys", {"journeys": [old]})
    assert "44.4%" in page and "+16.7%p" in page
