"""The demo's summary in the terminal: Rich tables that fit 80 columns.

Each table says what it counts: the journeys' "no goal" and uplift "too small to
tell" (``reports.wording``), where each step's enrollments came from, which figures
are the period's and which the whole replay's, and what the seed's table 2 is.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from automation.reports import wording
from automation.reports.intervals import LEVEL
from automation.reports.journeys_figures import MIN_GROUP

CHANNELS = ("email", "sms", "call")
CHANNEL_WORDS = {"email": "e-mails", "sms": "SMS", "call": "calls"}
TABLE2_NOTE = (
    "seed table 2: the web-log figures of one customer group, members aged 28–40 with "
    "children, in table 2 of the seed document the demo is built on; the replay's "
    "people of that group, read through the web-log report, are compared with them."
)


def print_summary(results: dict[str, Any], console: Console) -> None:
    """Funnel, journeys, campaigns by channel, suppressions, the table-2 group, outputs."""
    p, people = results["period"], results["people"]
    console.print(
        f"\n[bold]Synthetic insurer[/]: {people['people']:,} people, "
        f"{people['members_at_end']:,} of them members at the end; {results['days']} days "
        f"from {p['from']} to {p['to']} ({p['timezone']})\n"
    )
    for table in (
        _funnel(results),
        _journeys(results),
        _uplift(results),
        _steps(results),
        _channels(results),
        _suppressions(results),
        _table2(results),
    ):
        # Titles above the table, not in it: a table's title wraps to the table's width.
        console.print(f"[bold]{table.title}[/]", highlight=False)
        table.title = None
        console.print(table)
        console.print()
    _outputs(results, console)


def _funnel(results: dict[str, Any]) -> Table:
    t = _table("Conversion funnel (people active in the period)", "rung", "reached", "rate")
    t.add_column("moved in", justify="right")
    for rung in results["funnel"]["rungs"]:
        t.add_row(rung["rung"], _n(rung["reached"]), _pct(rung["rate"]), _n(rung["moved_in"]))
    return t


def _journeys(results: dict[str, Any]) -> Table:
    t = _table(
        "Journeys: who entered in the period, and where they were at its end",
        "journey",
        "entered",
        "converted",
        "goal rate",
        "completed",
        "exited",
        "still in",
    )
    # Seven columns in 80: one space of padding, not two, beside the box's divider.
    t.padding, t.pad_edge, t.show_edge = (0, 0, 0, 1), False, False
    for column in t.columns:
        column.no_wrap = True
    splits = []
    for j in results["journeys"]["journeys"]:
        t.add_row(*wording.journey_row(j))
        if split := wording.completed_split(j):
            splits.append(f"{j['journey']}: {split}")
    t.caption = (
        "goal rate: converted (reached the journey's goal) of entered; no goal: the journey "
        "has none. completed: reached an end state (any of them"
        + (f"; {'; '.join(splits)}" if splits else "")
        + "). still in: active at the period's end. entered = converted + completed + "
        "exited + still in. ('automation journeys list' counts the same statuses for every "
        "enrollment ever, with no period.)"
    )
    return t


def _uplift(results: dict[str, Any]) -> Table:
    t = _table(
        f"Uplift against the holdout ({LEVEL:.0%} interval)",
        "journey",
        "treated",
        "holdout",
        f"uplift, {LEVEL:.0%} interval",
    )
    t.pad_edge, t.columns[0].no_wrap = False, True
    notes, without = [], []
    for j in results["journeys"]["journeys"]:
        up, verdict = j["uplift"], wording.verdict(j)
        if verdict.value in ("no_goal", "no_holdout", "no_treated"):
            without.append(f"{j['journey']} ({wording.uplift(j)})")
            continue
        shown = wording.uplift(j)
        t.add_row(
            j["journey"],
            _arm(up["treatment"]),
            _arm(up["control"]),
            f"{shown}: {wording.interval(j)}",
        )
        if verdict.value == "too_small":
            notes.append(
                f"{j['journey']}: the difference seen, {wording.pt(up['uplift'])}, is no "
                "measure of the journey."
            )
    t.caption = " ".join(
        [
            "treated, holdout: converted of entered (goal rate). Uplift: goal rate treated "
            "minus holdout, with Newcombe's hybrid score interval (from Wilson intervals), "
            f"sound for small groups and rates near 0 or 1. A group under {MIN_GROUP} is too "
            "small to tell an uplift from chance.",
            *notes,
            *(["No uplift for " + ", ".join(without) + "."] if without else []),
        ]
    )
    return t


def _arm(a: dict[str, Any]) -> str:
    return f"{a['converted']:,} of {a['entered']:,} ({_pct(a['rate'])})"


def _steps(results: dict[str, Any]) -> Table:
    t = _table(
        "Journey steps: enrollments that reached each state, and where they came from",
        "journey, step",
        "reached",
        "came from",
    )
    t.columns[0].no_wrap, t.columns[2].justify = True, "left"
    for j in results["journeys"]["journeys"]:
        ways = j.get("ways_in") or {}
        steps = [s for s in j["steps"] if s["reached"]]
        if steps:
            t.add_row(f"[bold]{j['journey']}[/]", "", "")
        for i, s in enumerate(steps):
            t.add_row(
                f"  {wording.step_name(j, s['state'])}",
                _n(s["reached"]),
                wording.came_from(ways.get(s["state"])),
                end_section=i == len(steps) - 1,
            )
    t.caption = wording.STEPS_NOTE
    return t


def _channels(results: dict[str, Any]) -> Table:
    t = _table(
        "Campaigns by channel (messages decided in the period)",
        "channel",
        "decided",
        "sent",
        "opened",
        "clicked",
        "replied",
        "conv.",
        "suppr.",
    )
    rows = {r["channel"]: r for r in results["campaigns"]["channels"]}
    for channel in [*CHANNELS, *sorted(set(rows) - set(CHANNELS))]:
        if channel in rows:
            t.add_row(channel, *_campaign_cells(rows[channel]))
    total = results["campaigns"]["total"]
    t.add_row("[bold]total[/]", *_campaign_cells(total))
    email = rows.get("email")
    caption = [
        "sent: the channel took it; conv.: the message was the last touch before the goal; "
        "suppr.: suppressed by the contact policy."
    ]
    if email:
        caption.append(
            f"E-mail open rate {_pct(email['open_rate'])}, click rate "
            f"{_pct(email['click_rate'])} of delivered; {email['scanner_opened']:,} mails "
            "were fetched by a link scanner, not counted as opened."
        )
    after = _outside(results)
    if after:
        caption.append(
            f"Not here: {after}, decided at {_end_instant(results)} (the replay's last "
            "instant, after the period), counted under 'What really happened'."
        )
    t.caption = " ".join(caption)
    return t


def _campaign_cells(c: dict[str, Any]) -> list[str]:
    figures = ("decided", "sent", "opened", "clicked", "replied", "converted")
    return [_n(c[f]) for f in figures] + [_n(c["suppressed_total"])]


def _suppressions(results: dict[str, Any]) -> Table:
    t = _table(
        "Contact policy: suppressed, and still deferred (every message of the replay)",
        "status",
        "reason",
        "messages",
        text=2,
    )
    for status in ("suppressed", "deferred", "failed"):
        for reason, n in results["reasons"].get(status, {}).items():
            t.add_row(status, reason, _n(n))
    after = _outside(results, "suppressed")
    if after:
        t.caption = f"Includes {after} decided after the period, not in the campaigns table."
    return t


def _table2(results: dict[str, Any]) -> Table:
    w = results["table2"]
    t = _table(
        f"Web log of the table-2 group (members 28–40 with children), "
        f"{w['period']['from']} – {w['period']['to']}, against the seed's table 2",
        "figure",
        "replay",
        "seed table 2",
        text=3,
    )
    t.caption = TABLE2_NOTE
    t.add_row("customers / visitors", f"{w['group_customers']:,} / {w['visitors']:,}", "")
    # Per visitor of the group, as WebNibbler showed them; page views over 30 days.
    t.add_row("page views (30 days)", f"{w['page_views_per_visitor_per_30_days']:.1f}", "25")
    t.add_row("visits a week", f"{w['visits_per_week_per_visitor']:.2f}", "2.2")
    t.add_row("content", _top(w["content_preference"]), "education/children, pension")
    t.add_row("category", _top(w["category_preference"]), "insurance, loans")
    t.add_row("product", _top(w["product_preference"]), "EduCare, children's CI")
    return t


def _outputs(results: dict[str, Any], console: Console) -> None:
    m, files, d, e = results["messages"], results["files"], results["did"], results["events"]
    tasks = results["call_tasks"]
    lines = [
        f"events stored {e['total']:,} (unprocessed {e['unprocessed']:,}, failed {e['failed']:,})",
        f"e-mails sent {m.get('email:sent', 0):,}{_sent_split(results, 'email') or ','} "
        f".eml files in the sink {files['eml']:,}",
        f"SMS sent {m.get('sms:sent', 0):,}{_sent_split(results, 'sms') or ','} "
        f"files in the SMS outbox {files['sms']:,}",
        f"call tasks {sum(tasks.values()):,}: " + _pairs(tasks),
        _did(
            "mail",
            d,
            opened="email_opened",
            clicked="email_clicked",
            unsubscribed="unsubscribed",
            **{"scanned by a gateway": "scanned"},
        ),
        _did(
            "SMS",
            d,
            delivered="sms_delivered",
            failed="sms_failed",
            replied="sms_replied",
            **{"opted out": "unsubscribed_sms"},
        ),
        _did(
            "web",
            d,
            **{"signed up": "signup", "bought": "policy_purchased"},
            renewed="policy_renewed",
            **{"came back from dormancy": "came_back"},
        ),
        "customers by stage: " + _pairs(results["stages"]),
    ]
    console.print("[bold]What really happened[/] (the whole replay, from the ledger and the files)")
    for line in lines:
        console.print(f"  {line}", highlight=False)


def _outside(results: dict[str, Any], status: str = "sent") -> str:
    """Messages of ``status`` decided outside the period, "2 e-mails, 1 SMS"; or ""."""
    outside = results.get("messages_outside_period") or {}
    counts = [(c, outside.get(f"{c}:{status}", 0)) for c in CHANNELS]
    return ", ".join(f"{n:,} {CHANNEL_WORDS[c]}" for c, n in counts if n)


def _sent_split(results: dict[str, Any], channel: str) -> str:
    """ " (1,141 decided in the period, as the campaigns table, + 2 at …)" when they differ."""
    after = (results.get("messages_outside_period") or {}).get(f"{channel}:sent", 0)
    if not after:
        return ""
    inside = results["messages"].get(f"{channel}:sent", 0) - after
    rows = {r["channel"]: r for r in results["campaigns"]["channels"]}
    same = rows.get(channel, {}).get("sent") == inside
    return (
        f" = {inside:,} decided in the period{' (the campaigns table)' if same else ''}"
        f" + {after:,} decided at {_end_instant(results)}, after it;"
    )


def _end_instant(results: dict[str, Any]) -> str:
    """The period's end: local midnight after its last day, where the replay stops."""
    return f"{date.fromisoformat(results['period']['to']) + timedelta(days=1)} 00:00"


def _did(what: str, did: dict[str, int], **labels: str) -> str:
    return f"{what}: " + ", ".join(f"{label} {did.get(key, 0):,}" for label, key in labels.items())


def _table(title: str, *columns: str, text: int = 1) -> Table:
    """A table whose first ``text`` columns are words (left) and the rest numbers (right)."""
    t = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    for i, column in enumerate(columns):
        t.add_column(column, justify="left" if i < text else "right", overflow="fold")
    return t


def _top(shares: list[dict[str, Any]], n: int = 2) -> str:
    return (
        ", ".join(f"{s.get('name') or s['key']} {s['share'] * 100:.0f}%" for s in shares[:n]) or "–"
    )


def _pairs(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in counts.items())


def _n(value: Any) -> str:
    return "–" if value is None else f"{value:,}"


def _pct(rate: Any) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"
