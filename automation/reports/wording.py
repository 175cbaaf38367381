"""The journey report's figures in words, for the terminal (the CLI and the demo summary).

Each function takes a journey (or version) of ``JourneysReport.to_dict()``, so the
command line, the demo and tests word the same figure the same way: "no goal" rather
than 0.0%, an uplift with its groups' sizes and its 95% interval, or "too small to
tell" where a group is too small to say anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from automation.reports.journeys_figures import MIN_GROUP, Verdict

NO_GOAL = "no goal"
VERDICTS = {
    Verdict.NO_GOAL: NO_GOAL,
    Verdict.NO_HOLDOUT: "no holdout",
    Verdict.NO_TREATED: "nobody treated",
    Verdict.TOO_SMALL: "too small to tell",
}
STEPS_NOTE = (
    "A state can be reached from several others (a click or a reply skips ahead; "
    "either arm of a split), so a step can count more than the one listed before it. "
    "(end): an end state; reaching any of them is 'completed'."
)


def count(value: Any) -> str:
    """A count with thousands separators, or a dash for none."""
    return "–" if value is None else f"{value:,}"


def journey_row(j: Mapping[str, Any]) -> list[str]:
    """A journey's line of the journeys table: journey, entered, converted, goal rate,
    completed, exited, still in."""
    return [
        j["journey"],
        count(j["entered"]),
        converted(j),
        goal_rate(j),
        count(j["completed"]),
        count(j["exited"]),
        count(j["active"]),
    ]


def pct(rate: Any) -> str:
    """A ratio as a percentage with one decimal; None as a dash."""
    return "–" if rate is None else f"{rate * 100:.1f}%"


def pt(diff: Any) -> str:
    """A difference of two rates in percentage points, signed; None as a dash."""
    return "–" if diff is None else f"{diff * 100:+.1f} pt"


def has_goal(j: Mapping[str, Any]) -> bool:
    # Reports written before ``has_goal`` existed had a goal or said nothing of it.
    return j.get("has_goal") is not False


def goal_rate(j: Mapping[str, Any]) -> str:
    """ "no goal" for a journey without one, else its goal rate."""
    return pct(j.get("goal_rate")) if has_goal(j) else NO_GOAL


def converted(j: Mapping[str, Any]) -> str:
    """Converted, or a dash for a journey that has nothing to convert to."""
    return f"{j['converted']:,}" if has_goal(j) else "–"


def arm(a: Mapping[str, Any]) -> str:
    """A group as "converted/entered = rate"."""
    return f"{a.get('converted', 0):,}/{a.get('entered', 0):,} = {pct(a.get('rate'))}"


def verdict(j: Mapping[str, Any]) -> Verdict:
    value = j.get("uplift_verdict")
    if value is not None:
        return Verdict(value)
    # Without the field: the old reading, an uplift where both groups exist.
    if not has_goal(j):
        return Verdict.NO_GOAL
    return Verdict.NO_HOLDOUT if (j.get("uplift") or {}).get("uplift") is None else Verdict.UNCLEAR


def uplift(j: Mapping[str, Any]) -> str:
    """The uplift in points, or why there is none to show ("too small to tell" …)."""
    v = verdict(j)
    return VERDICTS.get(v) or pt((j.get("uplift") or {}).get("uplift"))


def interval(j: Mapping[str, Any]) -> str:
    """The uplift's 95% interval, "-9.8 to +20.8 pt"; a dash without one."""
    ci = j.get("uplift_interval")
    if not ci:
        return "–"
    return f"{ci['low'] * 100:+.1f} to {ci['high'] * 100:+.1f} pt"


def uplift_sentence(j: Mapping[str, Any]) -> str:
    """One sentence on the uplift: both groups, the difference, its interval, its meaning."""
    v = verdict(j)
    if v in (Verdict.NO_GOAL, Verdict.NO_HOLDOUT, Verdict.NO_TREATED):
        return VERDICTS[v]
    up = j.get("uplift") or {}
    t, c = up.get("treatment") or {}, up.get("control") or {}
    groups = f"treated {arm(t)}, holdout {arm(c)}"
    figures = f"{pt(up.get('uplift'))}, 95% interval {interval(j)}"
    if v is Verdict.TOO_SMALL:
        small = "holdout" if c.get("entered", 0) < MIN_GROUP else "treated group"
        return (
            f"{groups}: a {small} under {MIN_GROUP} is too small to tell an uplift from "
            f"chance (difference seen {figures})"
        )
    meaning = {
        Verdict.HIGHER: "the journey raised the goal rate",
        Verdict.LOWER: "the journey lowered the goal rate",
        Verdict.UNCLEAR: "no difference shown (the interval holds 0)",
    }[v]
    return f"{groups}: uplift {figures}: {meaning}"


def came_from(ways: Mapping[str, int] | None) -> str:
    """Where a state's enrollments came from, "member_call 631, member_recommend 55"."""
    return ", ".join(f"{source} {n:,}" for source, n in (ways or {}).items())


def step_name(j: Mapping[str, Any], state: str) -> str:
    return f"{state} (end)" if state in (j.get("end_states") or ()) else state


def completed_split(j: Mapping[str, Any]) -> str:
    """ "completed 631 = dormant_lead 628 + done 3" when several end states were reached."""
    reached = {s["state"]: s["reached"] for s in j.get("steps") or []}
    ends = [(s, reached.get(s, 0)) for s in j.get("end_states") or [] if reached.get(s)]
    if len(ends) < 2:
        return ""
    return f"completed {j['completed']:,} = " + " + ".join(f"{s} {n:,}" for s, n in ends)
