"""The dashboard's offers figure: what each personalization rule earned beside the
messages (``reports.offers.offer_report``), shaped once for the page and for its CSV.

Per rule: the people shown, the people who clicked and the click rate, the people who
converted after their first view and the rate, the conversions credited to a click, and
the uplift over the holdout (people who got the default content) with its 95% interval.
The uplift seen is printed whenever there is one and the verdict beside it says whether
it means anything, as the journeys section does ("표본 부족" under ``MIN_GROUP``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from automation.console.pages.dashboard_csv import Sheet
from automation.personalize import store
from automation.reports.html_journeys import VERDICT_NAMES
from automation.reports.html_parts import pct, points

HOLDOUT_ROW = "(holdout)"
# The report's verdicts in the words the journeys section uses for the same judgements.
VERDICTS = {
    "no holdout": VERDICT_NAMES["no_holdout"],
    "too small to tell": VERDICT_NAMES["too_small"],
    "better": VERDICT_NAMES["higher"],
    "worse": VERDICT_NAMES["lower"],
    "no difference shown": VERDICT_NAMES["unclear"],
}
# Items no rule made are counted under what made them (``personalize/items.py``).
SOURCE_NAMES = {
    "greeting": "인사말 (greeting)",
    "preference": "관심 기반 (preference)",
    "popular": "인기 (popular)",
    "new": "신상품 (new)",
    "md_pick": "MD 추천 (MD pick)",
    "default": "기본 콘텐츠 (default)",
}


@dataclass(frozen=True, slots=True)
class OfferLine:
    """One rule's figures, raw (``row``, the report's) and in words for the page."""

    row: Mapping[str, Any]
    name: str  # the rule's name in the rules in force, or what made the item; "" if neither
    click_rate: str
    conversion_rate: str
    uplift: str  # signed points, or the verdict when there is no difference to show
    interval: str  # "low ~ high" in points, or a dash
    verdict: str

    @property
    def rule(self) -> str:
        return str(self.row["rule"])


@dataclass(frozen=True, slots=True)
class Offers:
    """The offers section: a line per rule and the holdout they are compared with."""

    lines: list[OfferLine]
    holdout_people: int
    holdout_converted: int
    holdout_rate: str

    @property
    def empty(self) -> bool:
        """Nobody saw an offer in the period (neither a rule's nor the default content)."""
        return not self.lines and not self.holdout_people


def offers(report: Mapping[str, Any]) -> Offers:
    """The section for ``report`` (``offer_report``'s answer), rules most shown first."""
    names = _rule_names()
    holdout = report["holdout"]
    return Offers(
        lines=[_line(row, names) for row in report["rules"]],
        holdout_people=int(holdout["people"]),
        holdout_converted=int(holdout["converted"]),
        holdout_rate=pct(holdout["rate"]),
    )


def offers_sheet(report: Mapping[str, Any]) -> Sheet:
    """The CSV: a row per rule, then the holdout's row (the baseline of every uplift)."""
    header = (
        "rule",
        "name",
        "shown",
        "views",
        "clicked",
        "clicks",
        "click_rate",
        "converted",
        "conversion_rate",
        "credited",
        "uplift",
        "ci_low",
        "ci_high",
        "verdict",
    )
    names = _rule_names()
    rows: list[tuple[Any, ...]] = []
    for r in report["rules"]:
        low, high = r["interval"] or (None, None)
        rows.append(
            (
                r["rule"],
                _name(str(r["rule"]), names),
                r["shown"],
                r["views"],
                r["clickers"],
                r["clicks"],
                r["click_rate"],
                r["converted"],
                r["conversion_rate"],
                r["credited"],
                r["uplift"],
                low,
                high,
                r["verdict"],
            )
        )
    h = report["holdout"]
    if h["people"]:
        # Views and clicks are not counted for the holdout, nor is it compared with itself.
        nothing = (None, None, None, None)
        rows.append(
            (
                HOLDOUT_ROW,
                "대조군",
                h["people"],
                *nothing,
                h["converted"],
                h["rate"],
                *nothing,
                None,
            )
        )
    return Sheet(header, rows)


def _line(row: Mapping[str, Any], names: Mapping[str, str]) -> OfferLine:
    verdict = VERDICTS.get(str(row["verdict"]), str(row["verdict"]))
    interval = row["interval"]
    return OfferLine(
        row=row,
        name=_name(str(row["rule"]), names),
        click_rate=pct(row["click_rate"]),
        conversion_rate=pct(row["conversion_rate"]),
        uplift=verdict if row["uplift"] is None else points(row["uplift"]),
        interval="–" if interval is None else f"{points(interval[0])} ~ {points(interval[1])}",
        verdict=verdict,
    )


def _name(rule: str, names: Mapping[str, str]) -> str:
    return names.get(rule) or SOURCE_NAMES.get(rule, "")


def _rule_names() -> dict[str, str]:
    """Rule id → name, from the rules in force: a rule retired since is shown by its id."""
    _, rules = store.in_force()
    return {} if rules is None else {r.rule_id: r.name for r in rules.rules}
