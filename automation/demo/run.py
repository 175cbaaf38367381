"""The demo replay: seed an insurer, move the clock day by day, ingest what people do.

Everything goes through the real parts of the embedded default: ingest, the stub
broker with an in-process worker, the profile step, SQLite. Seeded, so the same
seed gives the same numbers.
"""

from __future__ import annotations

import os
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pendulum
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import func, select

from automation import clock
from automation.config import get_settings, reset_settings
from automation.demo.catalog import PRODUCTS, UTM_SOURCES, Person, korean_name, make_person
from automation.demo.report import write_report
from automation.demo.responses import respond
from automation.ingest import ingest
from automation.jobs.maturity import run_maturity
from automation.jobs.timers import fire_due_timers
from automation.journeys.registry import builtin_files, publish_files

START = pendulum.datetime(2026, 9, 1, tz="Asia/Seoul")


def run_demo(
    customers: int, days: int, out: Path, console: Console, seed: int = 7
) -> dict[str, Any]:
    """Seed, replay ``days`` days, print the results, write ``out/report.html``."""
    out.mkdir(parents=True, exist_ok=True)
    _fresh_database(out)
    from automation.broker import drain_stub, start_worker, use_broker
    from automation.migrate import upgrade

    upgrade("head")
    from dramatiq.brokers.stub import StubBroker

    broker = StubBroker()
    use_broker(broker)
    worker = start_worker(broker, threads=1)
    rng = random.Random(seed)
    try:
        with clock.frozen_at(START):
            people = _seed(rng, customers, days)
            publish_files(builtin_files())
            by_customer = {p.customer_id: p for p in people if p.customer_id}
            answered = 0
            with Progress(console=console, transient=True) as progress:
                task = progress.add_task("replaying days", total=days)
                for day in range(days):
                    morning = START.add(days=day, hours=-1)
                    clock.freeze(morning)
                    run_maturity()
                    fire_due_timers()
                    drain_stub(broker, worker)
                    _live_one_day(rng, people, START.add(days=day), day)
                    drain_stub(broker, worker)
                    by_customer.update({p.customer_id: p for p in people if p.customer_id})
                    answered = respond(rng, by_customer, answered)
                    drain_stub(broker, worker)
                    progress.advance(task)
    finally:
        worker.stop()
    results = collect_results(people, days)
    print_results(results, console)
    report = write_report(results, out / "report.html")
    console.print(f"HTML report: {report}")
    return results


def _fresh_database(out: Path) -> None:
    # The demo never touches a real database unless asked: on the embedded default it
    # replays into its own SQLite file under --out, fresh each run.
    if "AUTOMATION_DATABASE_URL" in os.environ or not get_settings().is_embedded:
        return
    path = out / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.environ["AUTOMATION_DATABASE_URL"] = f"sqlite:///{path.resolve()}"
    reset_settings()


def _seed(rng: random.Random, customers: int, days: int) -> list[Person]:
    from sqlalchemy import update

    from automation.db import get_engine
    from automation.models import Customer, Policy, Product
    from automation.sql import dialect_insert

    people = [make_person(rng, i, member=True) for i in range(customers)]
    people += [make_person(rng, customers + i, member=False) for i in range(customers // 2)]
    with get_engine().begin() as conn:
        conn.execute(
            dialect_insert(conn, Product.__table__).on_conflict_do_nothing(),  # type: ignore[attr-defined]
            [
                {
                    "product_code": c,
                    "name": n,
                    "category": cat,
                    "content_tags": tags,
                    "is_new": new,
                    "md_pick": md,
                }
                for c, n, cat, tags, new, md in PRODUCTS
            ],
        )
        conn.execute(
            dialect_insert(conn, Customer.__table__).on_conflict_do_nothing(),  # type: ignore[attr-defined]
            [_customer_row(rng, p) for p in people if p.customer_id],
        )
        holders = [p for p in people if p.customer_id and rng.random() < 0.3]
        conn.execute(Policy.__table__.insert(), [_policy_row(rng, p, days) for p in holders])  # type: ignore[attr-defined]
        conn.execute(
            update(Customer.__table__)  # type: ignore[arg-type]
            .where(Customer.__table__.c.customer_id.in_([p.customer_id for p in holders]))  # type: ignore[attr-defined]
            .values(lifecycle_stage="customer")
        )
    return people


def _policy_row(rng: random.Random, p: Person, days: int) -> dict[str, Any]:
    # Maturities spread over the replay and a little past it, so the retention
    # journey starts for some of them on every day of the replay.
    maturity = START.add(days=rng.randint(5, days + 25)).date()
    return {
        "policy_id": f"P-{p.customer_id}",
        "customer_id": p.customer_id,
        "product_code": rng.choice(["EDU-CARE", "PENSION-SAVINGS", "WHOLE-LIFE", "HEALTH-PLUS"]),
        "status": "active",
        "start_date": maturity.replace(year=maturity.year - 10),
        "maturity_date": maturity,
        "premium": rng.randint(5, 40) * 10000,
    }


def _customer_row(rng: random.Random, p: Person) -> dict[str, Any]:
    now = clock.now()
    consent = rng.random() < 0.8
    return {
        "customer_id": p.customer_id,
        "name": korean_name(rng),
        "email": f"{(p.customer_id or '').lower()}@example.kr",
        "mobile": f"010-{rng.randint(1000, 9999)}-{rng.randint(1000, 9999)}",
        "birth_date": date(2026 - p.age, rng.randint(1, 12), rng.randint(1, 28)),
        "gender": rng.choice(["F", "M"]),
        "has_children": p.has_children,
        "marital_status": "married" if p.has_children or rng.random() < 0.4 else "single",
        "email_consent": consent,
        "email_consent_at": now if consent else None,
        "sms_consent": consent and rng.random() < 0.7,
        "ad_consent": consent,
        "joined_at": now - timedelta(days=rng.randint(30, 2000)),
    }


def _live_one_day(rng: random.Random, people: list[Person], day: pendulum.DateTime, n: int) -> None:
    batch: list[dict[str, Any]] = []
    for p in people:
        if rng.random() < p.visits_per_week / 7:
            batch.extend(
                _visit(rng, p, day.add(hours=rng.randint(8, 22), minutes=rng.randint(0, 59)), n)
            )
    for start in range(0, len(batch), 1000):
        clock.freeze(day.add(hours=23, minutes=59))
        ingest(batch[start : start + 1000], source="demo")


def _visit(rng: random.Random, p: Person, at: pendulum.DateTime, day: int) -> list[dict[str, Any]]:
    key = f"{p.visitor_id}-{day}-{at.hour:02d}{at.minute:02d}"
    events: list[dict[str, Any]] = []
    if p.customer_id and rng.random() < 0.7:  # most members log in when they visit
        events.append(_event(f"{key}-login", "login", at, p, {}))
    utm = rng.choice(UTM_SOURCES)
    pages = max(1, round(rng.expovariate(1 / p.pages_per_visit)))
    for i in range(pages):
        topic = rng.choice(p.interests)
        props: dict[str, Any] = {
            "url": f"/content/{topic}",
            "content": topic,
            "product": _product_for(topic),
            "utm_source": utm,
        }
        events.append(_event(f"{key}-pv{i}", "page_view", at.add(minutes=i), p, props))
    later = at.add(minutes=pages)
    if p.customer_id is None and rng.random() < 0.04:
        p.customer_id = f"N{p.visitor_id[1:]}"
        events.append(_event(f"{key}-signup", "signup", later, p, {}))
    elif p.customer_id and rng.random() < 0.02:
        props = {
            "policy_id": f"P-{key}",
            "product": rng.choice(PRODUCTS)[0],
            "premium": rng.randint(3, 30) * 10000,
        }
        events.append(_event(f"{key}-buy", "policy_purchased", later, p, props))
    return events


def _product_for(topic: str) -> str:
    return next((code for code, _n, _c, tags, *_ in PRODUCTS if topic in tags), "WHOLE-LIFE")


def _event(
    event_id: str, type_: str, at: pendulum.DateTime, p: Person, props: dict[str, Any]
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "event_id": event_id,
        "type": type_,
        "occurred_at": at.isoformat(),
        "visitor_id": p.visitor_id,
        "properties": props,
    }
    if type_ in ("signup", "login", "policy_purchased"):
        event["customer_id"] = p.customer_id
    return event


def collect_results(people: list[Person], days: int) -> dict[str, Any]:
    """The figures the summary and the report show, read back from the database."""
    from automation.db import get_engine
    from automation.models import Customer, Event, Identity, Message

    anonymous = Identity.customer_id.is_(None)  # type: ignore[union-attr]
    with get_engine().connect() as conn:
        count = _counter(conn)
        stages = _grouped(conn, Customer.lifecycle_stage)
        events = _grouped(conn, Event.type)
        visits: dict[str, int] = {
            v: n
            for v, n in conn.execute(select(Identity.visitor_id, Identity.visits))  # type: ignore[call-overload]
        }
        page_views = _grouped(conn, Event.visitor_id, Event.type == "page_view")
        journeys = _journey_outcomes(conn)
        messages = _grouped(conn, Message.channel)
        figures = {
            "anonymous": count(Identity, anonymous),
            "first_time": count(Identity, anonymous, Identity.visits <= 1),
            "unprocessed": count(Event, Event.processed_at.is_(None)),  # type: ignore[union-attr]
            "stitched": count(Identity, Identity.stitched_at.is_not(None)),  # type: ignore[union-attr]
        }
    table2 = [p for p in people if p.group == "table2"]
    per_30_days = _avg(page_views.get(p.visitor_id, 0) for p in table2) * 30 / max(days, 1)
    return {
        "days": days,
        "funnel": {
            "first_time_anonymous": figures["first_time"],
            "anonymous": figures["anonymous"],
            "member": stages.get("member", 0),
            "customer": stages.get("customer", 0),
            "repeat": stages.get("repeat", 0),
        },
        "events": events,
        "events_total": sum(events.values()),
        "journeys": journeys,
        "messages": messages,
        "unprocessed": figures["unprocessed"],
        "stitched_visitors": figures["stitched"],
        "table2": {
            "customers": len(table2),
            "avg_page_views_per_30_days": per_30_days,
            "visits_per_week": _avg(visits.get(p.visitor_id, 0) for p in table2) / (days / 7),
        },
    }


def _journey_outcomes(conn: Any) -> dict[str, dict[str, int]]:
    from automation.models import Enrollment

    query = select(
        Enrollment.journey_id, Enrollment.status, Enrollment.control, func.count()
    ).group_by(
        Enrollment.journey_id,
        Enrollment.status,
        Enrollment.control,  # type: ignore[arg-type]
    )
    out: dict[str, dict[str, int]] = {}
    for journey, status, control, n in conn.execute(query):
        row = out.setdefault(journey, {})
        row[status] = row.get(status, 0) + n
        row["entered"] = row.get("entered", 0) + n
        if control:
            row["holdout"] = row.get("holdout", 0) + n
            row["holdout_converted"] = row.get("holdout_converted", 0) + (
                n if status == "converted" else 0
            )
    return out


def _counter(conn: Any) -> Any:
    def count(model: Any, *where: Any) -> int:
        return int(conn.execute(select(func.count()).select_from(model).where(*where)).scalar_one())

    return count


def _grouped(conn: Any, column: Any, *where: Any) -> dict[Any, int]:
    rows = conn.execute(select(column, func.count()).where(*where).group_by(column))
    return {key: n for key, n in rows}


def _avg(values: Any) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0


def print_results(results: dict[str, Any], console: Console) -> None:
    """The Rich summary in the terminal."""
    funnel = Table(title=f"Conversion funnel after {results['days']} days")
    funnel.add_column("stage")
    funnel.add_column("people", justify="right")
    for stage, n in results["funnel"].items():
        funnel.add_row(stage, f"{n:,}")
    console.print(funnel)
    ev = Table(title="Events through ingest")
    ev.add_column("type")
    ev.add_column("count", justify="right")
    for etype, n in sorted(results["events"].items()):
        ev.add_row(etype, f"{n:,}")
    ev.add_row("[bold]total[/]", f"[bold]{results['events_total']:,}[/]")
    console.print(ev)
    jt = Table(title="Journeys")
    for column in ("journey", "entered", "active", "converted", "exited", "completed", "holdout"):
        jt.add_column(column, justify="left" if column == "journey" else "right")
    for journey, row in sorted(results["journeys"].items()):
        jt.add_row(
            journey,
            *(
                f"{row.get(c, 0):,}"
                for c in ("entered", "active", "converted", "exited", "completed", "holdout")
            ),
        )
    console.print(jt)
    console.print(
        "messages decided: "
        + ", ".join(f"{ch} {n:,}" for ch, n in sorted(results["messages"].items()))
    )
    t2 = results["table2"]
    console.print(
        f"Table-2 group (members 28–40 with children, {t2['customers']} people): "
        f"{t2['avg_page_views_per_30_days']:.1f} page views per 30 days, "
        f"{t2['visits_per_week']:.2f} visits a week"
    )
    console.print(
        f"visitors stitched to members: {results['stitched_visitors']:,}; "
        f"events left unprocessed: {results['unprocessed']}"
    )
