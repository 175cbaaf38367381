"""`automation import`: what a user sees for good and bad files, and what ends up stored."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from automation import cli, db
from automation.errors import ValidationError
from automation.events.imports.importer import import_file
from automation.models import ConsentChange, Customer, Event, Policy, Product

CUSTOMER_HEADER = (
    "customer_id,name,email,mobile,birth_date,has_children,"
    "email_consent,sms_consent,consent_at,timezone,segment"
)
NAIVE = "has no time zone; add an offset such as +09:00 or Z"


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def jsonl(*rows: dict[str, Any]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def all_of(model: Any) -> list[Any]:
    with Session(db.get_engine()) as session:
        return list(session.exec(select(model)))


def customer(customer_id: str) -> Customer:
    with Session(db.get_engine()) as session:
        found = session.get(Customer, customer_id)
    assert found is not None, f"customer {customer_id} not stored"
    return found


def changes(customer_id: str) -> list[tuple[str, bool]]:
    with Session(db.get_engine()) as session:
        rows = session.exec(
            select(ConsentChange)
            .where(ConsentChange.customer_id == customer_id)
            .order_by(col(ConsentChange.id))
        )
        return [(c.kind, c.granted) for c in rows]


def seed_customers(folder: Path, *rows: str) -> None:
    body = "customer_id,name,timezone\n" + "".join(row + "\n" for row in rows)
    report = import_file("customers", write(folder, "seed-customers.csv", body))
    assert report.problems == []


# --- customers ---------------------------------------------------------------------------


def test_customers_csv_imports_every_column(database: str, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "customers.csv",
        CUSTOMER_HEADER + "\n"
        "C1,Kim Minji,minji@example.com,010-1234-5678,1988-04-02,y,true,no,"
        "2026-01-05T09:00:00+09:00,Asia/Seoul,gold\n"
        "C2,Lee Jun,,+82-10-9999-0000,,,,,,,\n",
    )

    report = import_file("customers", path)

    assert (report.ok, report.problems) == (2, [])
    kim = customer("C1")
    assert (kim.name, kim.email, kim.mobile) == ("Kim Minji", "minji@example.com", "010-1234-5678")
    assert kim.birth_date == date(1988, 4, 2) and kim.has_children is True
    assert kim.email_consent is True and kim.email_consent_source == "import"
    assert kim.email_consent_at == datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
    assert kim.sms_consent is False
    assert kim.attributes == {"segment": "gold"}
    assert kim.lifecycle_stage == "member"
    lee = customer("C2")
    assert lee.email is None and lee.attributes == {} and lee.timezone == "Asia/Seoul"


def test_customers_jsonl_with_bom_and_typed_values(database: str, tmp_path: Path) -> None:
    body = jsonl(
        {
            "customer_id": "C1",
            "name": "Kim",
            "email_consent": True,
            "night_consent": 0,
            "timezone": "Europe/London",
            "locale": "en-GB",
            "joined_at": "2025-03-01T10:00:00Z",
            "tier_note": {"vip": True},
        },
        {"customer_id": 42, "name": "Park", "has_children": "No"},
    )
    report = import_file("customers", write(tmp_path, "customers.ndjson", "\ufeff" + body))

    assert (report.ok, report.problems) == (2, [])
    kim = customer("C1")
    assert kim.email_consent is True and kim.night_consent is False
    assert (kim.timezone, kim.locale) == ("Europe/London", "en-GB")
    assert kim.joined_at == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    assert kim.attributes == {"tier_note": {"vip": True}}
    assert customer("42").has_children is False


def test_broken_customer_rows_are_reported_by_line_and_good_rows_kept(
    database: str, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "bad.csv",
        CUSTOMER_HEADER + "\n"
        "C1,Good One,,,,,,,,,\n"
        ",No Id,,,,,,,,,\n"
        "C3,Bad Date,,,1990-13-01,,,,,,\n"
        "\n"
        "C4,Bad Bool,,,,maybe,,,,,\n"
        "C5,Naive,,,,,y,,2026-01-05T09:00:00,,\n"
        "C6,Bad Contact,not-an-email,12ab,,,,,,Mars/Base,\n"
        "C7,Good Two,,,,,,,,,\n"
        "C8,Short\n",
    )

    report = import_file("customers", path)

    assert report.ok == 2
    assert report.problems == [
        f"{path}:3: customer_id is missing",
        f"{path}:4: birth_date '1990-13-01' is not a date (YYYY-MM-DD)",
        f"{path}:6: has_children 'maybe' is not a boolean (use true/false, 1/0 or y/n)",
        f"{path}:7: consent_at '2026-01-05T09:00:00' {NAIVE}",
        f"{path}:8: email 'not-an-email' is not an email address; "
        "mobile '12ab' is not a phone number (digits, + and - only); "
        "timezone 'Mars/Base' is not an IANA time zone (e.g. Asia/Seoul)",
        f"{path}:10: has 2 fields but the header has 11",
    ]
    assert sorted(c.customer_id for c in all_of(Customer)) == ["C1", "C7"]


def test_a_line_with_bytes_that_are_not_utf8_is_skipped(database: str, tmp_path: Path) -> None:
    content = "customer_id,name\nC1,김민지\nC2,Caf".encode() + b"\xe9\n" + b"C3,Ok\n"
    path = write(tmp_path, "latin1.csv", b"\xef\xbb\xbf" + content)

    report = import_file("customers", path)

    assert report.problems == [f"{path}:3: not valid UTF-8 (byte 0xe9 at column 7)"]
    assert report.ok == 2
    assert customer("C1").name == "김민지"
    assert sorted(c.customer_id for c in all_of(Customer)) == ["C1", "C3"]


def test_jsonl_lines_that_are_not_utf8_or_not_objects_are_skipped(
    database: str, tmp_path: Path
) -> None:
    content = (
        b'{"customer_id": "C1"}\n{"customer_id": "C\xff2"}\n[1]\n{oops\n\n{"customer_id": "C6"}\n'
    )
    path = write(tmp_path, "customers.jsonl", content)

    report = import_file("customers", path)

    assert report.problems == [
        f"{path}:2: not valid UTF-8 (byte 0xff at column 19)",
        f"{path}:3: expected a JSON object, not an array",
        f"{path}:4: not valid JSON: Expecting property name enclosed in double quotes (column 2)",
    ]
    assert sorted(c.customer_id for c in all_of(Customer)) == ["C1", "C6"]


def test_reimport_is_idempotent(database: str, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "customers.csv",
        CUSTOMER_HEADER + "\n"
        "C1,Kim,kim@example.com,,,,y,n,2026-01-05T09:00:00+09:00,,gold\n"
        "C2,Lee,,,,,1,,,,\n",
    )

    first = import_file("customers", path)
    second = import_file("customers", path)

    assert first.ok == second.ok == 2
    assert len(all_of(Customer)) == 2
    assert len(all_of(ConsentChange)) == 3  # C1 email + sms, C2 email: recorded once


def test_absent_columns_keep_stored_values_and_attributes_merge(
    database: str, tmp_path: Path
) -> None:
    import_file(
        "customers",
        write(tmp_path, "full.csv", CUSTOMER_HEADER + "\nC1,Kim,kim@example.com,,,,,,,,gold\n"),
    )
    report = import_file(
        "customers",
        write(tmp_path, "names.csv", "customer_id,name,email,branch\nC1,Kim Minji,,Seoul\n"),
    )

    assert report.ok == 1
    kim = customer("C1")
    assert (kim.name, kim.email) == ("Kim Minji", "kim@example.com")
    assert kim.attributes == {"segment": "gold", "branch": "Seoul"}


def test_the_later_of_two_rows_with_one_id_wins(database: str, tmp_path: Path) -> None:
    path = write(tmp_path, "twice.csv", "customer_id,name,email\nC1,Old,old@example.com\nC1,New,\n")

    report = import_file("customers", path)

    assert (report.ok, report.problems) == (2, [])
    kim = customer("C1")
    assert (kim.name, kim.email) == ("New", "old@example.com")


def test_consent_changes_are_recorded_with_time_and_source(
    database: str, tmp_path: Path, frozen: Any
) -> None:
    import_file(
        "customers",
        write(
            tmp_path,
            "a.csv",
            "customer_id,email_consent,sms_consent,consent_at\nC1,y,n,2026-01-05T09:00:00+09:00\n",
        ),
    )
    assert changes("C1") == [("email", True), ("sms", False)]

    import_file(
        "customers", write(tmp_path, "b.csv", "customer_id,email_consent,sms_consent\nC1,n,yes\n")
    )

    assert changes("C1") == [("email", True), ("sms", False), ("email", False), ("sms", True)]
    kim = customer("C1")
    assert kim.email_consent is False and kim.sms_consent is True
    assert kim.sms_consent_at == frozen and kim.sms_consent_source == "import"
    latest = max(all_of(ConsentChange), key=lambda c: c.id)
    assert latest.source == "import" and latest.changed_at == frozen


def test_import_never_lowers_the_lifecycle_stage(database: str, tmp_path: Path) -> None:
    seed_customers(tmp_path, "C1,Kim,Asia/Seoul")
    with Session(db.get_engine()) as session:
        kim = session.get(Customer, "C1")
        assert kim is not None
        kim.lifecycle_stage = "repeat"
        session.add(kim)
        session.commit()

    again = write(tmp_path, "again.csv", "customer_id,name,lifecycle_stage\nC1,Kim,member\n")
    import_file("customers", again)

    assert customer("C1").lifecycle_stage == "repeat"


# --- products ----------------------------------------------------------------------------


def test_products_csv_and_jsonl(database: str, tmp_path: Path) -> None:
    csv_report = import_file(
        "products",
        write(
            tmp_path,
            "products.csv",
            "product_code,name,category,content_tags,is_new,md_pick,channel\n"
            "EDU,EduCare,education,kids; savings ;,Y,0,online\n"
            "NOCAT,Missing Category,,,,,\n",
        ),
    )
    jsonl_report = import_file(
        "products",
        write(
            tmp_path,
            "products.jsonl",
            jsonl(
                {
                    "product_code": "LIFE",
                    "name": "Whole Life",
                    "category": "life",
                    "content_tags": ["family"],
                    "is_new": False,
                    "md_pick": True,
                },
            ),
        ),
    )

    assert csv_report.problems == [f"{tmp_path}/products.csv:3: category is missing"]
    assert (csv_report.ok, jsonl_report.ok, jsonl_report.problems) == (1, 1, [])
    products = {p.product_code: p for p in all_of(Product)}
    assert products["EDU"].content_tags == ["kids", "savings"]
    assert (products["EDU"].is_new, products["EDU"].md_pick) == (True, False)
    assert products["EDU"].attributes == {"channel": "online"}
    assert products["LIFE"].content_tags == ["family"] and products["LIFE"].md_pick is True


# --- policies ----------------------------------------------------------------------------

POLICY_HEADER = "policy_id,customer_id,product_code,status,start_date,maturity_date,premium,agent"


def test_policies_move_holders_to_customer_and_repeat(database: str, tmp_path: Path) -> None:
    seed_customers(tmp_path, "C1,Kim,Asia/Seoul", "C2,Lee,America/New_York", "C3,Park,Asia/Seoul")
    products = write(tmp_path, "p.csv", "product_code,name,category\nEDU,EduCare,education\n")
    import_file("products", products)
    path = write(
        tmp_path,
        "policies.csv",
        POLICY_HEADER + "\n"
        "P1,C1,EDU,active,2024-03-01,2044-03-01,120000,Choi\n"
        "P2,C2,,active,2023-05-10,,99.50,\n"
        "P3,C2,EDU,lapsed,2021-07-01,2031-07-01,0,\n",
    )

    report = import_file("policies", path)

    assert (report.ok, report.problems) == (3, [])
    assert customer("C1").lifecycle_stage == "customer"
    assert customer("C2").lifecycle_stage == "repeat"
    assert customer("C3").lifecycle_stage == "member"
    # Midnight of the earliest start in the holder's own zone, stored in UTC.
    assert customer("C1").first_policy_at == datetime(2024, 2, 29, 15, 0, tzinfo=UTC)
    assert customer("C2").first_policy_at == datetime(2021, 7, 1, 4, 0, tzinfo=UTC)
    policies = {p.policy_id: p for p in all_of(Policy)}
    assert policies["P1"].premium == Decimal("120000.00")
    assert policies["P1"].attributes == {"agent": "Choi"}
    assert policies["P2"].product_code is None and policies["P2"].maturity_date is None
    assert policies["P3"].status == "lapsed"


def test_bad_policy_rows_are_reported(database: str, tmp_path: Path) -> None:
    seed_customers(tmp_path, "C1,Kim,Asia/Seoul")
    path = write(
        tmp_path,
        "policies.csv",
        POLICY_HEADER + "\n"
        "P1,C1,,active,2024-03-01,2044-03-01,100,\n"
        "P2,C9,,active,2024-03-01,,100,\n"
        "P3,C1,,active,2024-03-01,,-5,\n"
        "P4,C1,,active,2024-03-01,2020-01-01,1,\n"
        "P5,C1,NOPE,active,,,,\n"
        ",C1,,,,,,\n",
    )

    report = import_file("policies", path)

    assert report.ok == 1
    assert report.problems == [
        f"{path}:3: customer C9 is not known; import customers first",
        f"{path}:4: premium -5 is negative",
        f"{path}:5: maturity_date 2020-01-01 is before start_date 2024-03-01",
        f"{path}:6: product NOPE is not known; import products first",
        f"{path}:7: policy_id is missing",
    ]
    assert [p.policy_id for p in all_of(Policy)] == ["P1"]
    assert customer("C1").lifecycle_stage == "customer"


def test_policies_jsonl_reimport_keeps_one_row_per_policy(database: str, tmp_path: Path) -> None:
    seed_customers(tmp_path, "C1,Kim,Asia/Seoul")
    path = write(
        tmp_path,
        "policies.jsonl",
        jsonl(
            {"policy_id": "P1", "customer_id": "C1", "start_date": "2024-03-01", "premium": 1500.5},
        ),
    )

    assert import_file("policies", path).ok == 1
    assert import_file("policies", path).ok == 1

    policies = all_of(Policy)
    assert [(p.policy_id, p.premium) for p in policies] == [("P1", Decimal("1500.50"))]
    assert customer("C1").lifecycle_stage == "customer"


# --- events ------------------------------------------------------------------------------


def test_events_jsonl_go_through_ingest(database: str, tmp_path: Path) -> None:
    good = {
        "event_id": "e1",
        "type": "page_view",
        "occurred_at": "2026-11-22T10:00:00+09:00",
        "visitor_id": "v1",
        "properties": {"url": "/"},
    }
    path = write(
        tmp_path,
        "events.jsonl",
        jsonl(
            good,
            {"event_id": "e2", "type": "page_view", "visitor_id": "v1"},
            {
                "event_id": "e3",
                "type": "login",
                "occurred_at": "2026-11-22T10:05:00+09:00",
                "customer_id": "C1",
            },
        ),
    )

    first = import_file("events", path)
    second = import_file("events", path)

    assert first.ok == 2
    assert first.problems == [f"{path}:2: a page_view event needs properties.url"]
    assert (second.ok, second.problems) == (2, first.problems)  # duplicates count as imported
    events = all_of(Event)
    assert sorted(e.event_id for e in events) == ["e1", "e3"]
    assert {e.source for e in events} == {"import"}


def test_events_csv_properties_columns_become_properties(database: str, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "events.csv",
        "event_id,type,occurred_at,customer_id,visitor_id,"
        "properties.policy_id,properties.premium,properties.url\n"
        "e1,policy_purchased,2026-11-22T10:00:00+09:00,C1,,P1,120000,\n"
        "e2,page_view,2026-11-22T10:01:00+09:00,,v1,,,/home\n"
        "e3,page_view,2026-11-22T10:02:00,,v1,,,/home\n",
    )

    report = import_file("events", path)

    assert report.ok == 2
    assert report.problems == [f"{path}:4: occurred_at '2026-11-22T10:02:00' {NAIVE}"]
    events = {e.event_id: e for e in all_of(Event)}
    assert events["e1"].properties == {"policy_id": "P1", "premium": 120000}
    assert events["e2"].properties == {"url": "/home"} and events["e2"].visitor_id == "v1"


# --- whole-file problems -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name", "content", "message"),
    [
        ("customers", "missing.csv", None, "missing.csv: no such file"),
        ("customers", "customers.txt", "customer_id\nC1\n", "unknown file type '.txt'"),
        ("customers", "empty.csv", "", "empty.csv is empty"),
        ("customers", "blank.jsonl", "\ufeff\n\n", "blank.jsonl is empty"),
        ("products", "p.csv", "product_code,name\nX,Y\n", "the header has no category column"),
        ("friends", "f.csv", "id\n1\n", "unknown import kind 'friends'"),
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_whole(
    database: str, tmp_path: Path, kind: str, name: str, content: str | None, message: str
) -> None:
    path = tmp_path / name if content is None else write(tmp_path, name, content)

    with pytest.raises(ValidationError, match=message.replace(".", r"\.")) as caught:
        import_file(kind, path)

    assert "\n" not in str(caught.value)
    assert all_of(Customer) == [] and all_of(Product) == []


# --- the command line --------------------------------------------------------------------


def test_cli_reports_bad_rows_on_stderr_and_keeps_good_ones(database: str, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bad.csv",
        "customer_id,name,birth_date\nC1,Kim,1988-04-02\nC2,Lee,04/02/1988\nC3,Park,\n",
    )

    result = CliRunner().invoke(cli.app, ["import", "customers", str(path)])

    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{path}:3: birth_date '04/02/1988' is not a date (YYYY-MM-DD)"
    ]
    assert "2 imported, 1 bad rows skipped" in result.stdout
    assert sorted(c.customer_id for c in all_of(Customer)) == ["C1", "C3"]


def test_cli_good_file_exits_zero(database: str, tmp_path: Path) -> None:
    path = write(tmp_path, "good.jsonl", jsonl({"customer_id": "C1"}))

    result = CliRunner().invoke(cli.app, ["import", "customers", str(path)])

    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert "customers: 1 imported, 0 bad rows skipped" in result.stdout


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("nope.csv", None, "no such file"),
        (
            "customers.xlsx",
            "x",
            "unknown file type '.xlsx'; use .csv, .jsonl, .ndjson or .json-lines",
        ),
        ("empty.csv", "", "is empty"),
    ],
)
def test_cli_refuses_a_whole_file_in_one_line_without_traceback(
    database: str, tmp_path: Path, name: str, content: str | None, reason: str
) -> None:
    path = tmp_path / name if content is None else write(tmp_path, name, content)

    result = CliRunner().invoke(cli.app, ["import", "customers", str(path)])

    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"error: {path}")
    assert reason in result.stderr
    assert "Traceback" not in result.output


def test_progress_bar_on_a_terminal_is_transient(database: str, tmp_path: Path) -> None:
    terminal = io.StringIO()
    console = Console(file=terminal, force_terminal=True, width=80)
    path = write(tmp_path, "c.csv", "customer_id\n" + "".join(f"C{i}\n" for i in range(1200)))

    report = import_file("customers", path, console=console)

    assert (report.ok, report.problems) == (1200, [])
    assert "importing c.csv" in terminal.getvalue()  # shown while running, then erased
    assert len(all_of(Customer)) == 1200


def test_a_row_the_database_refuses_is_retried_alone(
    database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if customer C9 were deleted between the check and the write: the chunk
    # fails on the foreign key, and only that row is lost.
    import automation.events.imports.importer as importer

    seed_customers(tmp_path, "C1,Kim,Asia/Seoul")
    monkeypatch.setattr(importer, "_known", lambda conn, column, values: set(values))
    path = write(
        tmp_path, "policies.csv", POLICY_HEADER + "\nP1,C1,,,,,,\nP2,C9,,,,,,\nP3,C1,,,,,,\n"
    )

    report = import_file("policies", path)

    assert report.ok == 2
    assert len(report.problems) == 1
    assert report.problems[0].startswith(f"{path}:3: the database refused the row: ")
    assert sorted(p.policy_id for p in all_of(Policy)) == ["P1", "P3"]
    assert customer("C1").lifecycle_stage == "repeat"


def test_nul_bytes_and_nan_are_bad_rows_on_every_database(database: str, tmp_path: Path) -> None:
    csv_path = write(tmp_path, "nul.csv", b"customer_id,name\nC1,Ki\x00m\nC2,Lee\n")
    jsonl_path = write(
        tmp_path, "nan.jsonl", b'{"customer_id": "C3", "score": NaN}\n{"customer_id": "C4"}\n'
    )

    csv_report = import_file("customers", csv_path)
    jsonl_report = import_file("customers", jsonl_path)

    assert csv_report.problems == [f"{csv_path}:2: holds a NUL byte at column 6"]
    assert jsonl_report.problems == [f"{jsonl_path}:1: not valid JSON: NaN is not a JSON number"]
    assert sorted(c.customer_id for c in all_of(Customer)) == ["C2", "C4"]
