"""``automation report weblog --segment``, ``segments``, ``interest`` and ``products``:
their tables, JSON, CSV and HTML, and the mistakes they refuse."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from automation.cli import app
from tests.reports.analysis_world import WEEK, seed

runner = CliRunner()
WIDE = {"COLUMNS": "250"}


def _run(*args: str) -> str:
    result = runner.invoke(app, ["report", *args], env=WIDE)
    assert result.exit_code == 0, result.output
    return result.output


def test_weblog_of_a_segment(database: str) -> None:
    seed()
    table = _run("weblog", *WEEK, "--segment", "young")
    assert "segment young (5 customers)" in re.sub(r"\s+", " ", table)
    assert re.search(r"visitors\s*│\s*4\b", table) and re.search(r"page views\s*│\s*9\b", table)
    data = json.loads(_run("weblog", *WEEK, "--segment", "young", "--format", "json"))
    assert data["group"] == {"segment": "young"} and data["page_views_per_visitor"] == 2.25
    rows = list(
        csv.reader(io.StringIO(_run("weblog", *WEEK, "--segment", "young", "--format", "csv")))
    )
    assert rows[0] == ["figure", "value"]
    assert [
        "product_preference",
        "EDU-CARE 교보 에듀케어 (3); CHILD-CI 어린이 CI (2); HOME-LOAN 주택담보대출 (1)",
    ] in rows


def test_segments_table_json_and_csv(database: str) -> None:
    seed()
    table = _run("segments", *WEEK)
    assert "visits/wk/visitor" in table and "most viewed (page views)" in table
    assert "EDU-CARE (3); CHILD-CI (2)" in table and "Members as of" in table
    data = json.loads(_run("segments", *WEEK, "--format", "json"))
    assert [(r["segment"], r["age_band"], r["gender"]) for r in data["rows"]][:3] == [
        ("older", "50s", "F"),
        ("older", "unknown", "M"),
        ("older", "all", "all"),
    ]
    text = _run("segments", *WEEK, "--segment", "young", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == (
        "segment,segment_name,age_band,gender,members,visitors,page_views,visits,"
        "page_views_per_visitor,visits_per_week_per_visitor,top_content,top_category,top_product"
    )
    total = rows[-1]
    assert (total["age_band"], total["members"], total["page_views"]) == ("all", "5", "9")
    assert total["top_product"].startswith("EDU-CARE 교보 에듀케어 (3); CHILD-CI")


def test_interest_table_and_days(database: str) -> None:
    seed()
    table = _run("interest", *WEEK)
    assert "high 15+ page views or 4+ visits" in table and "50.0%" in table
    data = json.loads(_run("interest", *WEEK, "--days", "3", "--format", "json"))
    high = [r for r in data["rows"] if r["segment"] == "young" and r["interest"] == "high"]
    assert data["days"] == 3 and high[0]["converted"] == 0
    header = _run("interest", *WEEK, "--format", "csv").splitlines()[0]
    assert header == "segment,segment_name,interest,customers,converted,first_policy,repeat,rate"


def test_products_table_csv_and_html(database: str, tmp_path: Path) -> None:
    seed()
    table = _run("products", *WEEK)
    assert "Viewed but never bought: CHILD-CI." in table
    rows = list(csv.DictReader(io.StringIO(_run("products", *WEEK, "--format", "csv"))))
    assert [(r["product"], r["never_bought"]) for r in rows] == [
        ("CHILD-CI", "True"),
        ("EDU-CARE", "False"),
        ("HOME-LOAN", "False"),
        ("PENSION", "False"),
    ]
    target = tmp_path / "products.html"
    _run("products", *WEEK, "--segment", "young", "--format", "html", "--out", str(target))
    page = target.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Viewed but never bought: CHILD-CI." in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["segments", "--segment", "nobody"], "no segment 'nobody' (known: older, young)"),
        (["weblog", "--segment", "nobody"], "no segment 'nobody'"),
        (
            ["funnel", "--segment", "young"],
            "--segment: only for interest, products, segments, weblog",
        ),
        (["products", "--days", "3"], "--days: only for interest, not products"),
        (["interest", "--days", "0"], "--days 0: 1 to 366"),
        (["journeys", "--format", "csv"], "--format csv: not for the journeys report"),
    ],
)
def test_mistakes_are_one_line(database: str, args: list[str], message: str) -> None:
    seed()
    result = runner.invoke(app, ["report", *args, *WEEK], env=WIDE)
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
