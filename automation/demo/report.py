"""The demo's HTML report: one self-contained file (inline CSS and SVG, nothing fetched)."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from automation.demo.charts import capped_lines, grouped_bars, hbars
from automation.demo.checks import checks
from automation.demo.summary import CHANNELS, TABLE2_NOTE
from automation.reports import wording
from automation.reports.intervals import wilson
from automation.reports.journeys_figures import MIN_GROUP

LAUNCH_JOURNEY = "conversion-ladder"  # started on day 1 for every member without a policy
CHANNEL_WORDS = {"email": "e-mail", "sms": "SMS", "call": "call"}

CSS = """
body{font-family:"Apple SD Gothic Neo","Malgun Gothic","Noto Sans KR",sans-serif;margin:2rem auto;
max-width:1000px;padding:0 1rem;color:#1f2937;line-height:1.5}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;margin-top:2.2rem;
border-bottom:2px solid #e5e7eb}h3{font-size:1rem;margin:1.2rem 0 .3rem}
.muted{color:#6b7280;font-size:.9rem}.cards{display:flex;flex-wrap:wrap;gap:.8rem}
.card{border:1px solid #e5e7eb;border-radius:6px;padding:.6rem 1rem;min-width:9rem}
.card b{display:block;font-size:1.4rem}
table{border-collapse:collapse;font-size:.88rem;margin:.5rem 0}
th,td{border:1px solid #e5e7eb;padding:.25rem .55rem}th{background:#f3f4f6;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
svg{display:block;margin:.4rem 0;max-width:100%;height:auto}
svg text{font-size:12px;fill:#374151}svg text.small{font-size:10px}
.ok{color:#3a9d5d}.bad{color:#b8405e}.empty{color:#6b7280;font-style:italic}
"""


def write_report(results: dict[str, Any], path: Path) -> Path:
    """Write ``results`` as ``path`` (HTML) and return it."""
    p, people = results["period"], results["people"]
    body = "".join(
        [
            f"<h1>eCRM demo: a synthetic insurer, {results['days']} days</h1>",
            f'<p class="muted">{escape(p["from"])} – {escape(p["to"])} ({escape(p["timezone"])}),'
            f" seed {results['seed']}: {people['members_at_start']:,} members and "
            f"{people['people'] - people['members_at_start']:,} anonymous visitors at the start, "
            f"{people['members_at_end']:,} members at the end. Everything below was read back "
            "from the engine's own tables and reports.</p>",
            _cards(results),
            _activity(results),
            _funnel(results),
            _journeys(results),
            _channels(results),
            _suppressions(results),
            _answers(results),
            _table2(results),
            _checks(results),
        ]
    )
    page = (
        '<!doctype html><html lang="ko"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>eCRM demo report</title><style>{CSS}</style></head><body>{body}</body></html>"
    )
    path.write_text(page, encoding="utf-8")
    return path


def _cards(r: dict[str, Any]) -> str:
    total = r["campaigns"]["total"]
    cards = [
        ("people", r["people"]["people"]),
        ("events", r["events"]["total"]),
        ("messages decided in the period", total["decided"]),
        ("of them sent", total["sent"]),
        ("opened (people)", total["opened"]),
        ("clicked", total["clicked"]),
        ("policies bought", r["did"].get("policy_purchased", 0)),
        ("renewed", r["did"].get("policy_renewed", 0)),
    ]
    return (
        '<div class="cards">'
        + "".join(f'<div class="card"><b>{n:,}</b>{escape(label)}</div>' for label, n in cards)
        + "</div>"
    )


def _activity(r: dict[str, Any]) -> str:
    d = r["daily"]
    events, sent = d["events"], list(d["sent"].items())
    web = [("web", events["web"])]
    answers = [("answers", events["responses"]), ("policies", events["policies"])]
    return (
        "<h2>Day by day</h2><h3>Website events (pages and log-ins)</h3>"
        + capped_lines(d["days"], web, "events a day")
        + "<h3>Messages sent, by channel</h3>"
        + _launch_note(r)
        + capped_lines(d["days"], sent, "messages a day", d.get("sent_by_journey"), CHANNEL_WORDS)
        + "<h3>Answers (opens, clicks, replies, calls, unsubscribes) and policies bought or "
        "renewed</h3>" + capped_lines(d["days"], answers, "events a day")
    )


def _launch_note(r: dict[str, Any]) -> str:
    """Why the first days spike: the day-1 backlog, in the replay's own numbers."""
    d = r["daily"]
    first = {j: v[0] for j, v in (d.get("entered") or {}).items() if v and v[0]}
    ladder = first.pop(LAUNCH_JOURNEY, 0)
    if not ladder:
        return ""
    total = sum((d["entered"] or {}).get(LAUNCH_JOURNEY, []))
    others = ", ".join(f"{j} {n:,}" for j, n in sorted(first.items(), key=lambda x: -x[1]))
    return (
        f'<p class="muted">Day 1 ({escape(d["days"][0])}) carries a backlog: the conversion '
        f"ladder was started for the whole member base at once, so {ladder:,} members entered "
        f"it that day ({total:,} in the whole period), and its later steps then reach them all "
        "together (the e-mail, the SMS reminder, the consultant call), so those days spike. "
        "The other journeys took in what was already due at the start too"
        f"{escape(f' ({others})') if others else ''}. Later days show the steady flow.</p>"
    )


def _funnel(r: dict[str, Any]) -> str:
    rungs = r["funnel"]["rungs"]
    rows = [[x["rung"], _n(x["reached"]), _pct(x["rate"]), _n(x["moved_in"])] for x in rungs]
    return (
        "<h2>Conversion funnel</h2>"
        '<p class="muted">People active in the period, by the highest rung reached; the ladder '
        "only climbs, so each rung is at most the one below.</p>"
        + hbars([(x["rung"], x["reached"]) for x in rungs])
        + _table(["rung", "reached", "rate", "moved in"], rows)
    )


def _journeys(r: dict[str, Any]) -> str:
    journeys = [j for j in r["journeys"]["journeys"] if j["entered"]]
    rows = [wording.journey_row(j) for j in journeys]
    splits = "".join(
        f"; {j['journey']}: {split}" for j in journeys if (split := wording.completed_split(j))
    )
    uplift_rows = [
        [
            j["journey"],
            _arm(j["uplift"]["treatment"]) if wording.has_goal(j) else "no goal",
            _arm(j["uplift"]["control"]) if j["uplift"]["control"]["entered"] else "no holdout",
            wording.uplift(j),
            wording.interval(j),
        ]
        for j in journeys
    ]
    held = [j for j in journeys if j.get("uplift_interval")]
    uplift = "".join(
        f'<p class="muted">{escape(j["journey"])}: {escape(wording.uplift_sentence(j))}.</p>'
        for j in held
    )
    if held:
        arms = ("treatment", "control")
        uplift += "<h3>Goal rate: treated against holdout, with 95% intervals</h3>" + grouped_bars(
            [j["journey"] for j in held],
            [
                (name, [100 * (j["uplift"][arm]["rate"] or 0) for j in held])
                for name, arm in zip(("treated", "holdout"), arms, strict=True)
            ],
            fmt="{:.1f}%",
            ranges=[[_wilson_pct(j["uplift"][arm]) for j in held] for arm in arms],
        )
    steps = "".join(
        f"<h3>{escape(j['journey'])}: steps</h3>"
        + hbars(
            [(wording.step_name(j, s["state"]), s["reached"]) for s in j["steps"]],
            colour="#3a9d5d",
            notes=[_came_from(j, s["state"]) for s in j["steps"]],
        )
        for j in journeys
    )
    return (
        "<h2>Journeys</h2>"
        + _table(
            ["journey", "entered", "converted", "goal rate", "completed", "exited", "still in"],
            rows,
        )
        + '<p class="muted">Goal rate: converted (reached the goal) of entered; "no goal": the '
        "journey has none, so nothing to convert to. Completed: reached an end state, any of "
        f"them{escape(splits)}. "
        "Still in: active at the period's end. (<code>automation journeys list</code> counts "
        "the same statuses for every enrollment ever, with no period.)</p>"
        + "<h3>Uplift against the holdout</h3>"
        + _table(["journey", "treated", "holdout", "uplift", "95% interval"], uplift_rows)
        + '<p class="muted">Treated, holdout: converted/entered = goal rate. Uplift: goal rate '
        "treated minus holdout; its 95% interval is Newcombe's hybrid score interval (from "
        "Wilson intervals), sound for small groups and rates near 0 or 1. With a group under "
        f"{MIN_GROUP} the uplift is too small to tell from chance, and no figure is given for "
        "it.</p>"
        + uplift
        + f'<p class="muted">{escape(wording.STEPS_NOTE)} After each bar: where its '
        "enrollments came from, when more than one way in was taken.</p>" + steps
    )


def _came_from(j: dict[str, Any], state: str) -> str:
    ways = (j.get("ways_in") or {}).get(state) or {}
    return f"← {wording.came_from(ways)}" if len(ways) > 1 else ""


def _wilson_pct(arm: dict[str, Any]) -> tuple[float, float] | None:
    if not arm["entered"]:
        return None
    low, high = wilson(arm["converted"], arm["entered"])
    return 100 * low, 100 * high


def _channels(r: dict[str, Any]) -> str:
    by = {c["channel"]: c for c in r["campaigns"]["channels"]}
    names = [c for c in CHANNELS if c in by]
    figures = ("sent", "delivered", "opened", "clicked", "replied", "converted")
    rows = [[c, *(_n(by[c][f]) for f in ("decided", *figures, "suppressed_total"))] for c in names]
    shown = ("sent", "opened", "clicked", "replied", "converted")
    series = [(f, [by[c][f] for c in names]) for f in shown]
    campaigns = [
        [
            str(x.get("journey")),
            str(x.get("channel")),
            *(_n(x[f]) for f in ("decided", "sent", "opened", "clicked", "replied", "converted")),
        ]
        for x in r["campaigns"]["rows"]
    ]
    after = _outside(r)
    period = r["period"]
    return (
        "<h2>Campaigns by channel</h2>"
        + f'<p class="muted">Messages decided in the period ({escape(period["from"])} – '
        f"{escape(period['to'])}) and what came of them. Sent: the channel took it."
        + (
            f" Not here: {escape(after)} decided at the replay's last instant, the period's "
            "end, counted in the ledger's totals (the checks) but outside the period."
            if after
            else ""
        )
        + "</p>"
        + grouped_bars(names, series)
        + _table(["channel", "decided", *figures, "suppressed"], rows)
        + "<h3>By journey and channel</h3>"
        + _table(
            ["journey", "channel", "decided", "sent", "opened", "clicked", "replied", "converted"],
            campaigns,
        )
    )


def _suppressions(r: dict[str, Any]) -> str:
    reasons = r["reasons"]
    suppressed = list(reasons.get("suppressed", {}).items())
    deferred = list(reasons.get("deferred", {}).items())
    after = _outside(r, "suppressed")
    return (
        "<h2>Contact policy</h2>"
        + '<p class="muted">Every message of the replay'
        + (f", with {escape(after)} decided after the period" if after else "")
        + ".</p><h3>Suppressed, by reason</h3>"
        + hbars(suppressed, colour="#b8405e")
        + "<h3>Still deferred at the end, by reason</h3>"
        + hbars(deferred, colour="#e07b39")
    )


def _answers(r: dict[str, Any]) -> str:
    did, tasks = r["did"], r["call_tasks"]
    labels = {
        "email_opened": "opened an e-mail",
        "email_clicked": "clicked a link",
        "unsubscribed": "unsubscribed (one-click)",
        "scanned": "mail fetched by a link scanner",
        "sms_delivered": "SMS delivered",
        "sms_failed": "SMS refused by the carrier",
        "sms_replied": "replied to an SMS",
        "unsubscribed_sms": "opted out of SMS (080)",
        "signup": "signed up on the site",
        "policy_purchased": "bought a policy",
        "policy_renewed": "renewed a maturing policy",
        "came_back": "dormant, came back after a mail",
    }
    rows = [[text, _n(did.get(key, 0))] for key, text in labels.items()]
    return (
        "<h2>What the customers and the agent did</h2>"
        '<p class="muted">Opens and clicks went through the tracking routes of the mails in '
        "the sink; SMS reports and replies through the gateway callback; calls through the "
        "task routes with an agent key.</p>"
        + _table(["answer", "times"], rows)
        + "<h3>Call tasks by outcome</h3>"
        + hbars(sorted(tasks.items(), key=lambda kv: (-kv[1], kv[0])), colour="#1b4b9b")
    )


def _table2(r: dict[str, Any]) -> str:
    w = r["table2"]
    facts = [
        ["customers in the group", _n(w["group_customers"]), ""],
        ["visitors among them", _n(w["visitors"]), ""],
        [
            "page views per visitor (30 days)",
            f"{w['page_views_per_visitor_per_30_days']:.1f}",
            "25",
        ],
        ["visits a week per visitor", f"{w['visits_per_week_per_visitor']:.2f}", "2.2"],
    ]
    charts = "".join(
        f"<h3>{title}</h3>"
        + hbars(
            [(s.get("name") or s["key"], 100 * s["share"]) for s in w[key][:6]],
            colour="#7a5cc2",
            fmt="{:.1f}%",
        )
        for title, key in (
            ("Content preference", "content_preference"),
            ("Category preference", "category_preference"),
            ("Product preference", "product_preference"),
        )
    )
    return (
        "<h2>Web log: the seed's table-2 group</h2>"
        f'<p class="muted">Members aged 28–40 with children, {escape(w["period"]["from"])} – '
        f"{escape(w['period']['to'])}; the seed's figures on the right. "
        f"{escape(TABLE2_NOTE[0].upper() + TABLE2_NOTE[1:])}</p>"
        + _table(["figure", "replay", "seed table 2"], facts)
        + charts
    )


def _checks(r: dict[str, Any]) -> str:
    items = "".join(
        f'<li class="{"ok" if c.ok else "bad"}">{"✔" if c.ok else "✘"} {escape(c.text)}</li>'
        for c in checks(r)
    )
    return f"<h2>Checks</h2><ul>{items}</ul>"


def _outside(r: dict[str, Any], status: str = "sent") -> str:
    outside = r.get("messages_outside_period") or {}
    counts = [(c, outside.get(f"{c}:{status}", 0)) for c in CHANNELS]
    return ", ".join(f"{n:,} {CHANNEL_WORDS[c]}{'s' if n > 1 else ''}" for c, n in counts if n)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"n" if i else ""}">{escape(str(c))}</td>' for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _arm(arm: dict[str, Any]) -> str:
    return f"{arm['converted']:,} of {arm['entered']:,} ({_pct(arm['rate'])})"


def _n(value: Any) -> str:
    return "–" if value is None else f"{value:,}"


def _pct(rate: Any) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"
