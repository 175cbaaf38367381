"""The demo's summary in the terminal: Rich tables that fit 80 columns."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

CHANNELS = ("email", "sms", "call")


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
        _steps(results),
        _channels(results),
        _suppressions(results),
        _table2(results),
    ):
        # Titles above the table, not in it: a table's title wraps to the table's width.
        console.print(f"[bold]{table.title}[/]", highlight=False)
        table.title = None
        console.print(table)
    _outputs(results, console)


def _funnel(results: dict[str, Any]) -> Table:
    t = _table("Conversion funnel (people active in the period)", "rung", "reached", "rate")
    t.add_column("moved in", justify="right")
    for rung in results["funnel"]["rungs"]:
        t.add_row(rung["rung"], _n(rung["reached"]), _pct(rung["rate"]), _n(rung["moved_in"]))
    return t


def _journeys(results: dict[str, Any]) -> Table:
    t = _table(
        "Journeys: goal rate, and uplift against the holdout",
        "journey",
        "entered",
        "converted",
        "treated",
        "holdout",
        "uplift",
    )
    for j in results["journeys"]["journeys"]:
        up = j["uplift"]
        control = up["control"]
        t.add_row(
            j["journey"],
            _n(j["entered"]),
            _n(j["converted"]),
            _pct(up["treatment"]["rate"]),
            f"{_pct(control['rate'])} of {control['entered']:,}" if control["entered"] else "none",
            _points(up["uplift"]),
        )
    return t


def _steps(results: dict[str, Any]) -> Table:
    t = _table("Journey steps: enrollments that reached each state", "journey", "steps", text=2)
    for j in results["journeys"]["journeys"]:
        steps = [f"{s['state']} {s['reached']:,}" for s in j["steps"] if s["reached"]]
        if steps:
            t.add_row(j["journey"], " → ".join(steps))
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
    if email:
        t.caption = (
            f"conv.: the message was the last touch before the goal; suppr.: suppressed. "
            f"E-mail open rate {_pct(email['open_rate'])}, click rate "
            f"{_pct(email['click_rate'])} of delivered; {email['scanner_opened']:,} mails "
            "were fetched by a link scanner, not counted as opened."
        )
        t.caption_justify = "left"
    return t


def _campaign_cells(c: dict[str, Any]) -> list[str]:
    figures = ("decided", "sent", "opened", "clicked", "replied", "converted")
    return [_n(c[f]) for f in figures] + [_n(c["suppressed_total"])]


def _suppressions(results: dict[str, Any]) -> Table:
    t = _table(
        "Contact policy: suppressed, and still deferred", "status", "reason", "messages", text=2
    )
    for status in ("suppressed", "deferred", "failed"):
        for reason, n in results["reasons"].get(status, {}).items():
            t.add_row(status, reason, _n(n))
    return t


def _table2(results: dict[str, Any]) -> Table:
    w = results["table2"]
    t = _table(
        f"Web log of the table-2 group (members 28–40 with children), "
        f"{w['period']['from']} – {w['period']['to']}",
        "figure",
        "replay",
        "seed table 2",
        text=3,
    )
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
        f"e-mails sent {m.get('email:sent', 0):,}, .eml files in the sink {files['eml']:,}",
        f"SMS sent {m.get('sms:sent', 0):,}, files in the SMS outbox {files['sms']:,}",
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
    console.print("[bold]What really happened[/]")
    for line in lines:
        console.print(f"  {line}", highlight=False)


def _did(what: str, did: dict[str, int], **labels: str) -> str:
    return f"{what}: " + ", ".join(f"{label} {did.get(key, 0):,}" for label, key in labels.items())


def _table(title: str, *columns: str, text: int = 1) -> Table:
    """A table whose first ``text`` columns are words (left) and the rest numbers (right)."""
    t = Table(title=title, title_justify="left", title_style="bold", box=box.SIMPLE_HEAD)
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


def _points(diff: Any) -> str:
    return "–" if diff is None else f"{diff * 100:+.1f} pt"
