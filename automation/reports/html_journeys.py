"""The journeys page's body: outcomes, the uplift with its interval, the steps and their ways in.

Worded so a figure cannot be misread: "목표 없음" (no goal) instead of 0.0%, every
uplift with both groups' sizes and its 95% interval, "판단 불가" (too small to tell)
where a group is under ``MIN_GROUP``, end states marked, and where each step's
enrollments came from when a step has several ways in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from automation.reports.html_charts import bar_chart
from automation.reports.html_parts import Raw, count_share, esc, html_table, pct, points
from automation.reports.journeys_figures import MIN_GROUP

NO_GOAL = "목표 없음 (no goal)"
VERDICT_NAMES = {
    "no_goal": NO_GOAL,
    "no_holdout": "대조군 없음 (no holdout)",
    "no_treated": "발송군 없음 (nobody treated)",
    "too_small": "표본 부족: 판단 불가 (too small to tell)",
    "higher": "효과 있음 (above 0)",
    "lower": "역효과 (below 0)",
    "unclear": "차이 불분명 (interval holds 0)",
}
MEASURED = ("higher", "lower", "unclear")  # verdicts whose uplift is worth printing
NOTES = (
    '<p class="muted">목표 달성률 = 전환 / 진입. 목표(goal)가 없는 여정은 "목표 없음". '
    "효과(uplift) = 발송군 전환율 − 대조군 전환율, 95% 신뢰구간은 Newcombe 혼합 점수 구간 "
    "(두 군의 Wilson 구간으로 계산: 표본이 작거나 비율이 0·1에 가까워도 유효). "
    f"어느 한 군이 {MIN_GROUP}명 미만이면 효과를 판단하지 않습니다 (표본 부족). "
    "완료 = 종료 단계 도달 (종료 단계가 여럿이면 그 합).</p>"
)
STEPS_NOTE = (
    '<p class="muted">단계는 깔때기가 아닙니다: 한 단계에 여러 단계에서 들어올 수 있어 '
    "(클릭·답장으로 건너뛰기, 분기의 두 갈래) 앞에 적힌 단계보다 클 수 있습니다. "
    "← 뒤는 어디에서 들어왔는지 (entry: 진입), (종료)는 종료 단계입니다.</p>"
)


def journeys_body(data: Mapping[str, Any]) -> tuple[str, str]:
    """The journey page's title and body."""
    journeys = data.get("journeys") or []
    if not journeys:
        return "여정 성과 (Journeys)", '<p class="empty">게시된 여정이 없습니다.</p>'
    parts: list[str] = [
        html_table(
            [
                "여정",
                "진입",
                "전환",
                "완료",
                "이탈",
                "진행 중",
                "목표 달성률",
                "발송군 / 대조군",
                "효과(uplift)",
                "95% 신뢰구간",
            ],
            [[j.get("name") or j.get("journey"), *_figures(j)] for j in journeys],
        ),
        Raw(NOTES),
        Raw(STEPS_NOTE),
    ]
    for j in journeys:
        name, journey_id = j.get("name"), j.get("journey")
        parts.append(
            f'<h2>{esc(name or journey_id)} <span class="muted">{esc(journey_id)}</span></h2>'
        )
        parts.append(_steps(j, f"{name or journey_id} 단계별 도달"))
        split = completed_split(j)
        if split:
            parts.append(f'<p class="muted">{esc(split)}</p>')
        parts.append(_uplift(j))
        versions = j.get("versions") or []
        if len(versions) > 1:
            parts.append("<h3>버전별</h3>")
            parts.append(
                html_table(
                    ["버전", "진입", "전환", "목표 달성률", "효과(uplift)", "95% 신뢰구간"],
                    [
                        [
                            f"v{v.get('version')}",
                            v.get("entered"),
                            _converted(v),
                            _goal_rate(v),
                            _uplift_cell(v),
                            _interval(v),
                        ]
                        for v in versions
                    ],
                )
            )
    return "여정 성과 (Journeys)", "\n".join(parts)


def _figures(j: Mapping[str, Any]) -> list[Any]:
    up = j.get("uplift") or {}
    t, c = (up.get("treatment") or {}).get("entered"), (up.get("control") or {}).get("entered")
    return [
        j.get("entered"),
        _converted(j),
        j.get("completed"),
        j.get("exited"),
        j.get("active"),
        _goal_rate(j),
        f"{esc(t)} / {esc(c)}",
        _uplift_cell(j),
        _interval(j),
    ]


def _has_goal(j: Mapping[str, Any]) -> bool:
    return j.get("has_goal") is not False


def _goal_rate(j: Mapping[str, Any]) -> str:
    return pct(j.get("goal_rate")) if _has_goal(j) else NO_GOAL


def _converted(j: Mapping[str, Any]) -> Any:
    return j.get("converted") if _has_goal(j) else "–"


def _verdict(j: Mapping[str, Any]) -> str:
    value = j.get("uplift_verdict")
    if value:
        return str(value)
    if not _has_goal(j):
        return "no_goal"
    return "no_holdout" if (j.get("uplift") or {}).get("uplift") is None else "unclear"


def _uplift_cell(j: Mapping[str, Any]) -> str:
    verdict = _verdict(j)
    if verdict in MEASURED:
        return points((j.get("uplift") or {}).get("uplift"))
    return VERDICT_NAMES.get(verdict, verdict)


def _interval(j: Mapping[str, Any]) -> str:
    ci = j.get("uplift_interval")
    if not isinstance(ci, Mapping):
        return "–"
    return f"{points(ci.get('low'))} ~ {points(ci.get('high'))}"


def _steps(j: Mapping[str, Any], title: str) -> Raw:
    """The steps' bars: end states marked, several ways in written after the count."""
    ends = set(j.get("end_states") or ())
    ways = j.get("ways_in") or {}
    items = []
    for s in j.get("steps") or []:
        state = s.get("state")
        text = count_share(s.get("reached"), s.get("share"))
        sources = ways.get(state) or {}
        if len(sources) > 1:
            # Plain text: ``bar_chart`` escapes it.
            text += " ← " + " · ".join(f"{k} {n:,}" for k, n in sources.items())
        label = f"{state} (종료)" if state in ends else state
        items.append((label, s.get("reached"), text))
    return bar_chart(title, items)


def completed_split(j: Mapping[str, Any]) -> str:
    """ "완료 631 = dormant_lead 628 + done 3" when several end states were reached."""
    reached = {s.get("state"): s.get("reached") or 0 for s in j.get("steps") or []}
    ends = [(s, reached.get(s, 0)) for s in j.get("end_states") or [] if reached.get(s)]
    if len(ends) < 2:
        return ""
    return f"완료 {j.get('completed', 0):,} = " + " + ".join(f"{s} {n:,}" for s, n in ends)


def _uplift(j: Mapping[str, Any]) -> str:
    """Treatment against holdout, and the uplift with its interval, or why there is none."""
    uplift = j.get("uplift") or {}

    def arm(name: str, label: str) -> list[Any]:
        a = uplift.get(name) or {}
        rate = pct(a.get("rate")) if _has_goal(j) else NO_GOAL
        return [label, a.get("entered"), a.get("converted"), rate]

    table = html_table(
        ["대조 비교", "진입", "전환", "전환율"],
        [arm("treatment", "발송군 (treatment)"), arm("control", "대조군 (holdout)")],
    )
    verdict, value, ci = _verdict(j), points(uplift.get("uplift")), _interval(j)
    control = (uplift.get("control") or {}).get("entered") or 0
    treated = (uplift.get("treatment") or {}).get("entered") or 0
    if verdict == "no_goal":
        note = "이 여정에는 목표(goal)가 없어 전환율과 효과를 계산하지 않습니다."
    elif verdict in ("no_holdout", "no_treated"):
        note = "대조군 또는 발송군이 없어 효과를 계산할 수 없습니다."
    elif verdict == "too_small":
        group, n = ("대조군", control) if control < MIN_GROUP else ("발송군", treated)
        note = (
            f"{group}이 {n:,}명으로 {MIN_GROUP}명 미만이라 효과를 판단할 수 없습니다 (too "
            f"small to tell): 관측된 차이 {value}, 95% 신뢰구간 {ci}."
        )
    else:
        meaning = {
            "higher": "구간 전체가 0보다 커서 여정이 목표 달성률을 높였습니다",
            "lower": "구간 전체가 0보다 작아 여정이 목표 달성률을 낮췄습니다",
            "unclear": "구간이 0을 포함하므로 차이가 있다고 할 수 없습니다",
        }.get(verdict, "")
        note = f"효과(uplift): {value} (95% 신뢰구간 {ci}): {meaning}."
    return f'{table}<p class="muted">{esc(note)}</p>'
