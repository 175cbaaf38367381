"""The demo at a small size: its numbers hang together, and the same seed repeats them.

Not exact values: what must hold whatever the seed. The demo replays into its own
SQLite file under ``--out`` and writes mail and SMS under the working directory (the
test's own folder, see ``conftest.py``); the checks read both back independently.
"""

from __future__ import annotations

import io
import json
import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
from rich.console import Console
from sqlalchemy import create_engine, text

from automation import clock
from automation.config import reset_settings
from automation.demo import run_demo
from automation.demo.run import START
from automation.demo.summary import print_summary

CUSTOMERS, DAYS = 60, 20
POLICY_REASONS = {
    "no_email_consent",
    "no_sms_consent",
    "no_call_consent",
    "no_ad_consent",
    "ad_consent_expired",
    "unsubscribed",
    "hard_bounced",
    "do_not_call",
}


def _replay(folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], str]:
    folder.mkdir()
    monkeypatch.chdir(folder)
    console = Console(file=io.StringIO(), width=100)
    results = run_demo(customers=CUSTOMERS, days=DAYS, out=folder / "out", console=console)
    summary = Console(file=io.StringIO(), width=100)
    print_summary(results, summary)
    return results, summary.file.getvalue()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Two replays with the same seed, each in its own folder, on the embedded default.

    Module-scoped (the replays take a while), so it isolates itself as the autouse
    fixture of ``conftest.py`` does for each test.
    """
    mp = pytest.MonkeyPatch()
    try:
        for name in [n for n in os.environ if n.startswith("AUTOMATION_")]:
            mp.delenv(name)
        reset_settings()
        clock.unfreeze()
        base = tmp_path_factory.mktemp("demo")
        first = _replay(base / "first", mp)
        second = _replay(base / "second", mp)
    finally:
        mp.undo()
        reset_settings()
        clock.unfreeze()
    return base, first, second


def _db(folder: Path) -> Any:
    return create_engine(f"sqlite:///{folder / 'out' / 'demo.db'}").connect()


def test_the_same_seed_gives_the_same_summary(runs: Any) -> None:
    _, (first, first_text), (second, second_text) = runs
    assert first == second
    assert first_text == second_text
    assert "Conversion funnel" in first_text and "table-2 group" in first_text


def test_every_sent_email_and_sms_is_a_file(runs: Any) -> None:
    base, (results, _), _ = runs
    folder = base / "first"
    with _db(folder) as conn:
        sent = dict(
            conn.execute(
                text(
                    "SELECT channel, count(*) FROM messages WHERE status = 'sent' GROUP BY channel"
                )
            ).all()
        )
        files = conn.execute(
            text("SELECT provider_id FROM messages WHERE status = 'sent' AND channel != 'call'")
        ).scalars()
        missing = [p for p in files if not _file_of(folder, p).is_file()]
        tasks = conn.execute(text("SELECT count(*) FROM call_tasks")).scalar_one()
    eml = list((folder / "outbox" / "email").glob("*.eml"))
    sms = list((folder / "outbox" / "sms").glob("*.json"))
    assert sent["email"] > 0 and sent["sms"] > 0 and sent["call"] > 0
    assert sent["email"] == len(eml) == results["files"]["eml"]
    assert sent["sms"] == len(sms) == results["files"]["sms"]
    assert missing == []
    assert tasks == sent["call"]  # a sent call is a task in the queue
    for path in sms:
        assert json.loads(path.read_text(encoding="utf-8"))["text"]


def _file_of(folder: Path, provider_id: str) -> Path:
    kind, _, name = provider_id.partition(":")
    return folder / "outbox" / ("email" if kind == "sink" else "sms") / name


def test_the_funnel_never_grows_downward(runs: Any) -> None:
    _, (results, _), _ = runs
    reached = [rung["reached"] for rung in results["funnel"]["rungs"]]
    assert [r["rung"] for r in results["funnel"]["rungs"]] == [
        "visitor",
        "member",
        "first_policy",
        "repeat",
    ]
    assert reached[0] > 0
    assert reached == sorted(reached, reverse=True)


def test_every_converted_enrollment_has_its_goal_event(runs: Any) -> None:
    base, (results, _), _ = runs
    with _db(base / "first") as conn:
        goals = {
            journey: set((json.loads(spec).get("goal") or {}).get("on") or [])
            for journey, spec in conn.execute(
                text("SELECT journey_id, spec FROM journey_versions")
            ).all()
        }
        converted = conn.execute(
            text(
                "SELECT n.journey_id, n.customer_id, e.type, e.customer_id "
                "FROM enrollments n LEFT JOIN events e ON e.id = n.outcome_event_id "
                "WHERE n.status = 'converted'"
            )
        ).all()
    assert converted, "nobody converted: the demo shows nothing"
    for journey, customer, goal_type, goal_customer in converted:
        assert goal_type in goals[journey], (journey, customer, goal_type)
        assert goal_customer == customer
    purchases = [row for row in converted if row[0] in ("maturity-retention", "conversion-ladder")]
    assert all(row[2] in ("policy_purchased", "policy_renewed") for row in purchases)
    assert sum(j["converted"] for j in results["journeys"]["journeys"]) == len(converted)


def test_every_suppressed_message_has_a_reason_of_the_policy(runs: Any) -> None:
    base, (results, _), _ = runs
    with _db(base / "first") as conn:
        reasons = dict(
            conn.execute(
                text(
                    "SELECT coalesce(reason, ''), count(*) FROM messages "
                    "WHERE status = 'suppressed' GROUP BY reason"
                )
            ).all()
        )
    assert reasons, "the contact policy suppressed nothing: consents are not realistic"
    assert "" not in reasons
    unknown = {r for r in reasons if r not in POLICY_REASONS and not r.startswith("cap_")}
    assert not unknown
    assert results["campaigns"]["total"]["suppressed"] == reasons


def test_suppressions_match_the_customers_consents_and_flags(runs: Any) -> None:
    base, _, _ = runs
    with _db(base / "first") as conn:
        rows = conn.execute(
            text(
                "SELECT m.status, m.channel, m.reason, m.updated_at, c.email_consent, "
                "c.sms_consent, c.call_consent, c.ad_consent, c.ad_consent_at, c.attributes "
                "FROM messages m JOIN customers c ON c.customer_id = m.customer_id "
                "WHERE m.status IN ('sent', 'suppressed')"
            )
        ).all()
    flags = {"email": "unsubscribed", "sms": "unsubscribed_sms", "call": "do_not_call"}
    for row in rows:
        m = row._mapping
        agreed = m[f"{m['channel']}_consent"]
        if m["status"] == "sent":  # nothing reached a customer who refused the channel
            assert agreed, m
        elif m["reason"] == f"no_{m['channel']}_consent":
            assert not agreed, m
        elif m["reason"] == "no_ad_consent":
            assert not m["ad_consent"], m
        elif m["reason"] == "ad_consent_expired":
            lapses = datetime.fromisoformat(str(m["ad_consent_at"])) + timedelta(days=730)
            assert m["ad_consent"] and lapses <= datetime.fromisoformat(str(m["updated_at"])), m
        elif m["reason"] in ("unsubscribed", "do_not_call"):
            assert json.loads(m["attributes"]).get(flags[m["channel"]]), m
        else:
            assert m["reason"].startswith("cap_"), m


def test_the_engine_kept_up_and_the_people_answered(runs: Any) -> None:
    _, (results, _), _ = runs
    assert results["events"]["unprocessed"] == 0
    assert results["events"]["failed"] == 0
    assert results["engine"]["actor_failures"] == 0
    did = results["did"]
    assert did["email_opened"] > 0 and did["email_clicked"] > 0
    assert sum(n for k, n in did.items() if k.startswith("call_")) > 0
    web = results["table2"]
    assert web["group_customers"] > 0 and web["page_views"] > 0
    assert web["content_preference"][0]["key"] == "education-children"


def test_the_report_opens_without_a_network(runs: Any) -> None:
    base, (results, _), _ = runs
    page = (base / "first" / "out" / "report.html").read_text(encoding="utf-8")
    for fetches in ("http://", "https://", "<script", "<link", "<img", "url(", "@import"):
        assert fetches not in page
    charts = re.findall(r"<svg.*?</svg>", page, flags=re.S)
    assert len(charts) >= 8
    for chart in charts:
        ElementTree.fromstring(chart)  # well-formed: a browser draws it
    assert f"{results['table2']['visits_per_week_per_visitor']:.2f}" in page


@pytest.mark.parametrize("broker_kind", ["redis", "rabbitmq"])
def test_on_postgresql_and_a_real_broker_separate_workers_follow_the_replay(
    broker_kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the production services named, worker processes other than the demo's do
    the work, on the replay's clock (not on today's), and nothing is left behind."""
    from tests.conftest import make_broker
    from tests.services import PG_ADMIN_URL, require

    require("postgresql")
    broker = make_broker(broker_kind, monkeypatch)  # empty queues, named in the settings
    broker.close()
    name = f"automation_demo_{os.getpid()}_{broker_kind}"
    admin = create_engine(
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    monkeypatch.setenv("AUTOMATION_DATABASE_URL", url)
    reset_settings()
    days = 4
    try:
        console = Console(file=io.StringIO(), width=100)
        results = run_demo(customers=CUSTOMERS, days=days, out=tmp_path / "out", console=console)
        printed = console.file.getvalue()  # type: ignore[attr-defined]
        engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as conn:
            sent_at = conn.execute(
                text(
                    "SELECT min(sent_at), max(sent_at), count(*) FROM messages "
                    "WHERE status = 'sent'"
                )
            ).one()
            processed = conn.execute(
                text("SELECT min(processed_at), max(processed_at) FROM events")
            ).one()
            eml = conn.execute(
                text("SELECT count(*) FROM messages WHERE status = 'sent' AND channel = 'email'")
            ).scalar_one()
        engine.dispose()
    finally:
        from automation import db

        db.engine_for.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    assert "2 worker processes on" in printed
    log = (tmp_path / "out" / "workers.log").read_text()
    assert "Worker process is ready for action" in log
    start = START  # the replay's first day
    end = START + timedelta(days=days)
    assert sent_at[2] > 0
    assert start <= sent_at[0] and sent_at[1] <= end  # the workers' clock was the replay's
    assert start <= processed[0] and processed[1] <= end
    assert results["events"]["unprocessed"] == 0 and results["events"]["failed"] == 0
    assert results["engine"]["actor_failures"] == 0
    assert (
        eml == results["files"]["eml"] == len(list((tmp_path / "outbox" / "email").glob("*.eml")))
    )


def test_the_demo_offers_again_what_a_lost_broker_message_left_waiting(
    postgres_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An event stored whose broker message never came (published nowhere here): the
    pool notices that nothing moves, the relay offers it again, a worker processes it."""
    from automation.demo import workers
    from automation.events.ingest import ingest
    from tests.conftest import make_broker

    make_broker("redis", monkeypatch).close()
    monkeypatch.setattr(workers, "STALL_SECONDS", 0.5)
    with clock.frozen_at(START):
        event = {
            "event_id": "lost-1",
            "type": "page_view",
            "occurred_at": START.isoformat(),
            "visitor_id": "v-lost",
            "properties": {"url": "https://example.com/"},
        }
        ingest([event], publish=False)
        pool = workers.WorkerPool(tmp_path / "workers.log", processes=1, threads=1)
        try:
            pool()
        finally:
            pool.close()
    from automation.db import get_engine

    with get_engine().connect() as conn:
        processed = conn.execute(
            text("SELECT processed_at FROM events WHERE event_id = 'lost-1'")
        ).scalar_one()
    assert processed is not None and clock.to_utc(processed) == START
