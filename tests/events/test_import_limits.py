"""JSON Lines can carry what no column holds (a NUL or lone surrogate escape, nesting a
thousand deep, a number past a double): such a row is refused alone, with its reason."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import Session, select

from automation import db
from automation.events.imports.importer import import_file
from automation.models import Customer, Event
from tests.events.test_imports import write

DEEP = '{"n":' * 900 + "1" + "}" * 900


def test_customer_rows_that_no_column_holds_are_refused_alone(
    database: str, tmp_path: Path
) -> None:
    lines = [
        json.dumps({"customer_id": "ok1", "name": "Kim"}),
        '{"customer_id": "nul", "name": "a\\u0000b"}',
        '{"customer_id": "sur", "name": "a\\ud800b"}',
        '{"customer_id": "tag", "segment": ["a", "\\ud800"]}',
        '{"customer_id": "deep", "x": ' + DEEP + "}",
        '{"customer_id": "big", "x": 1' + "0" * 400 + "}",
        '{"customer_id": "inf", "x": 1e400}',
        '{"customer_id": "key", "a\\u0000": 1}',
        json.dumps({"customer_id": "ok2", "mobile": "\u0660\u0661\u0660"}),  # Arabic-Indic digits
        json.dumps({"customer_id": "ok3", "name": "Lee"}),
    ]
    report = import_file("customers", write(tmp_path, "c.jsonl", "\n".join(lines) + "\n"))
    reasons = "\n".join(report.problems)
    assert report.ok == 2, reasons
    assert ":2: name holds a NUL character" in reasons
    assert ":3: name holds a lone surrogate" in reasons
    assert ":4: attributes.segment[1] holds a lone surrogate" in reasons
    assert ":5: attributes.x.n.n" in reasons and "nests deeper than 32 levels" in reasons
    assert ":6: attributes.x is too large a number" in reasons
    assert ":7: attributes.x is not a finite number" in reasons
    assert ":8: attributes: the key 'a\\x00' holds a NUL character" in reasons
    assert ":9: mobile" in reasons and "is not a phone number" in reasons
    with Session(db.get_engine()) as session:
        stored = sorted(session.exec(select(Customer.customer_id)).all())
    assert stored == ["ok1", "ok3"]


def test_event_lines_that_no_column_holds_are_refused_alone(database: str, tmp_path: Path) -> None:
    def line(event_id: str, props: str) -> str:
        return (
            f'{{"event_id": "{event_id}", "type": "page_view", "visitor_id": "v",'
            f' "properties": {{"url": "/"{props}}}}}'
        )

    lines = [
        line("e1", ""),
        line("e2", ', "x": "a\\ud800"'),
        line("e3", ', "x": 1e400'),
        line("e4", ', "x": ' + DEEP),
        line("e5", ""),
    ]
    report = import_file("events", write(tmp_path, "e.jsonl", "\n".join(lines) + "\n"))
    assert report.ok == 2, report.problems
    assert len(report.problems) == 3
    with Session(db.get_engine()) as session:
        assert sorted(session.exec(select(Event.event_id)).all()) == ["e1", "e5"]
