"""The demo at a small size: its numbers hang together, and the same seed repeats them.

Not exact values: what must hold whatever the seed. The demo replays into its own
SQLite file under ``--out`` and writes mail and SMS there too (``OUT/outbox``); the
checks read both back independently. Through the command, as a user runs it: each run
keeps to its own folder, and a check that fails makes it exit 1.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from xml.etree import ElementTree

import pytest
from rich.console import Console
from sqlalchemy import create_engine, text

from automation import clock
from automation.cli import main
from automation.config import reset_settings
from automation.demo import run_demo
from automation.demo.checks import checks
from automation.demo.progress import day_progress
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
    "complaint_pause",
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
    eml = list((folder / "out" / "outbox" / "email").glob("*.eml"))
    sms = list((folder / "out" / "outbox" / "sms").glob("*.json"))
    assert sent["email"] > 0 and sent["sms"] > 0 and sent["call"] > 0
    assert sent["email"] == len(eml) == results["files"]["eml"]
    assert sent["sms"] == len(sms) == results["files"]["sms"]
    assert missing == []
    assert not (folder / "outbox").exists()  # nothing in the working directory
    assert tasks == sent["call"]  # a sent call is a task in the queue
    for path in sms:
        assert json.loads(path.read_text(encoding="utf-8"))["text"]


def _file_of(folder: Path, provider_id: str) -> Path:
    kind, _, name = provider_id.partition(":")
    return folder / "out" / "outbox" / ("email" if kind == "sink" else "sms") / name


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
                "c.email_consent_at, c.sms_consent, c.sms_consent_at, c.call_consent, "
                "c.call_consent_at, c.ad_consent, c.ad_consent_at, c.attributes "
                "FROM messages m JOIN customers c ON c.customer_id = m.customer_id "
                "WHERE m.status IN ('sent', 'suppressed')"
            )
        ).all()
    flags = {"email": "unsubscribed", "sms": "unsubscribed_sms", "call": "do_not_call"}

    def since(value: Any, at: datetime) -> bool:
        # The customer answered after the message (the consent page): its consent then
        # is no longer the row's.
        return value is not None and datetime.fromisoformat(str(value)) > at

    for row in rows:
        m = row._mapping
        at = datetime.fromisoformat(str(m["updated_at"]))
        agreed = m[f"{m['channel']}_consent"]
        changed = since(m[f"{m['channel']}_consent_at"], at)
        if m["status"] == "sent":  # nothing reached a customer who refused the channel
            # …except a call the customer asked for (a consultation or service task)
            assert agreed or changed or m["reason"] == "requested_by_customer", m
        elif m["reason"] == f"no_{m['channel']}_consent":
            assert not agreed or changed, m
        elif m["reason"] == "no_ad_consent":
            assert not m["ad_consent"] or since(m["ad_consent_at"], at), m
        elif m["reason"] == "ad_consent_expired":
            given = datetime.fromisoformat(str(m["ad_consent_at"]))
            lapsed = m["ad_consent"] and given + timedelta(days=730) <= at
            assert lapsed or given > at, m
        elif m["reason"] == "complaint_pause":
            assert json.loads(m["attributes"]).get("complained_at"), m
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


SMALL = ["--customers", "200"]  # the command's runs: seconds each
CHECKS = [  # what each check says (the texts do not depend on the results)
    c.text
    for c in checks(
        {
            "messages": {},
            "files": {"eml": 0, "sms": 0},
            "events": {"unprocessed": 0, "failed": 0},
            "engine": {"actor_failures": 0},
        }
    )
]


def _command(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``automation demo ARGS`` through the console entry point: exit code, out, err."""
    with pytest.raises(SystemExit) as exited:
        main(["demo", *SMALL, *args])
    printed = capsys.readouterr()
    return int(exited.value.code or 0), printed.out, printed.err


def _files(out: Path) -> tuple[int, int]:
    return (
        len(list((out / "outbox" / "email").glob("*.eml"))),
        len(list((out / "outbox" / "sms").glob("*.json"))),
    )


def _printed_counts(printed: str) -> tuple[int, int, int, int]:
    """Sent and filed, e-mail then SMS, as the summary prints them (a note between the
    two figures, or a line wrapped anywhere, is allowed)."""
    happened = " ".join(printed[printed.index("What really happened") :].split())
    n = r"([\d,]+)"
    mail = re.search(rf"e-mails sent {n}.*?\.eml files in the sink {n}", happened)
    sms = re.search(rf"SMS sent {n}.*?files in the SMS outbox {n}", happened)
    assert mail and sms, printed
    sent, filed, sms_sent, sms_filed = (
        int(g.replace(",", "")) for g in (*mail.groups(), *sms.groups())
    )
    return sent, filed, sms_sent, sms_filed


def _ledger(out: Path) -> tuple[int, int]:
    engine = create_engine(f"sqlite:///{out / 'demo.db'}")
    query = "SELECT channel, count(*) FROM messages WHERE status = 'sent' GROUP BY channel"
    with engine.connect() as conn:
        sent: dict[str, int] = {channel: n for channel, n in conn.execute(text(query))}
    engine.dispose()
    return sent.get("email", 0), sent.get("sms", 0)


def test_each_run_of_the_command_keeps_to_its_own_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two runs of different lengths: each one's mail and SMS are under its own ``--out``,
    counted in its own summary, every check holds, and an earlier run's files are gone."""
    stale = tmp_path / "long" / "outbox" / "email" / "earlier-run.eml"
    stale.parent.mkdir(parents=True)
    stale.write_text("From: an earlier run\n")
    printed = {}
    # 10 days of 200 once ended with the last tick's SMS report unprocessed.
    for name, days in (("short", "3"), ("long", "10")):
        code, printed[name], err = _command(capsys, "--days", days, "--out", name)
        assert code == 0 and err == "", err
    assert not stale.exists()
    assert not (tmp_path / "outbox").exists()  # nothing in the working directory
    for name in ("short", "long"):
        out, shown = tmp_path / name, printed[name]
        for check in CHECKS:
            assert f"✔ {check}" in shown, shown
        assert "✘" not in shown
        mail_sent, mail_files, sms_sent, sms_files = _printed_counts(shown)
        assert mail_sent > 0 and (sms_sent > 0 or name == "short")  # SMS come later
        assert (mail_sent, sms_sent) == _ledger(out)
        assert (mail_files, sms_files) == (mail_sent, sms_sent) == _files(out)
        assert f"e-mails: {out / 'outbox' / 'email'}" in shown
    assert _printed_counts(printed["short"]) != _printed_counts(printed["long"])
    # Off a terminal (a pipe, a file, this capture), a line a week and one at the end.
    lines = re.findall(
        r"^day (\d+) of (\d+): [\d,]+ events, [\d,]+ messages sent", printed["long"], re.M
    )
    assert lines == [("7", "10"), ("10", "10")]
    assert re.findall(r"^day (\d+) of", printed["short"], re.M) == ["3"]


def test_a_failed_check_makes_the_command_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An e-mail gone from the sink before the results are read: the check says so, on
    the terminal and in the report, and the command exits 1 naming it."""
    from automation.demo import run

    collect = run.collect

    def collect_after_a_loss(*args: Any, **kwargs: Any) -> dict[str, Any]:
        sink = tmp_path / "out" / "outbox" / "email"
        min(sink.glob("*.eml")).unlink()
        return collect(*args, **kwargs)

    monkeypatch.setattr(run, "collect", collect_after_a_loss)
    code, shown, err = _command(capsys, "--days", "2", "--out", "out")
    assert code == 1
    assert "✘ every sent e-mail is a file in the sink" in shown
    assert "✔ every sent SMS is a file in the outbox" in shown
    assert err.count("\n") == 1 and "1 of the demo's checks failed" in err
    assert "every sent e-mail is a file in the sink" in err and "report.html" in err
    mail_sent, mail_files, _, _ = _printed_counts(shown)
    assert mail_files == mail_sent - 1
    report = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "✘ every sent e-mail is a file in the sink" in report


def test_on_a_terminal_the_live_bar_stays() -> None:
    """The weekly lines are for pipes and files; a terminal keeps Rich's live bar."""
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    world: Any = SimpleNamespace(did=Counter())
    with day_progress(console, 8) as day_done:
        for day in range(8):
            day_done(day, world)
    assert "day 7 of 8" not in console.file.getvalue()  # type: ignore[attr-defined]
    assert "replaying days" in console.file.getvalue()  # type: ignore[attr-defined]
