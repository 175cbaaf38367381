"""Importing ``value_tier`` (an override of the computed tier, with its source) and the
customer words conditions compare (gender, occupation, marital status in Korean)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from sqlmodel import select

from automation import clock
from automation.conditions import Facts, compile_condition
from automation.customers import tiers
from automation.db import session_scope
from automation.events.imports.importer import import_file
from automation.models import Customer, Policy
from automation.scheduler.jobs.segments import run_segments
from automation.scheduler.jobs.tiers import run_tiers
from automation.segments import registry
from automation.segments.membership import member_counts
from tests.journey_world import World


def _write(folder: Path, name: str, body: str) -> Path:
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


def _customer(customer_id: str) -> Customer:
    with session_scope() as s:
        row = s.get(Customer, customer_id)
        assert row is not None
        return row


def _import(folder: Path, body: str, name: str = "customers.csv") -> list[str]:
    """Import customers the way ``automation import customers`` does, tiers included."""
    report = import_file("customers", _write(folder, name, body))
    tiers.recompute_now(report.retier)
    return report.problems


def test_an_imported_tier_overrides_the_computed_one_until_cleared(
    database: str, tmp_path: Path
) -> None:
    world = World(builtin=False)
    registry.publish_builtin()
    world.customer("C1")
    world.send("policy_purchased", "C1", policy_id="P1", premium=50_000)
    assert _customer("C1").value_tier == "regular"

    assert _import(tmp_path, "customer_id,value_tier\nC1,VIP\n") == []
    c1 = _customer("C1")
    assert c1.value_tier == "vip"
    assert c1.attributes["value_tier_source"] == "import"
    assert c1.attributes["value_tier_set_at"] == clock.now().isoformat()
    assert "value_tier" not in c1.attributes  # a column, no longer an extra attribute
    run_segments(clock.now())
    assert member_counts().get("vip") == 1

    # Neither a policy event nor the daily job replaces it.
    world.send("policy_purchased", "C1", policy_id="P2", premium=10_000)
    run_tiers(clock.now())
    assert _customer("C1").value_tier == "vip"

    # The same file again changes nothing, its time included.
    stamped = _customer("C1").attributes["value_tier_set_at"]
    clock.advance(timedelta(hours=1))
    assert _import(tmp_path, "customer_id,value_tier\nC1,vip\n") == []
    assert _customer("C1").attributes["value_tier_set_at"] == stamped

    # auto clears it: the computed tier (two small policies: regular) is back.
    assert _import(tmp_path, "customer_id,value_tier\nC1,auto\n") == []
    c1 = _customer("C1")
    assert c1.value_tier == "regular"
    assert "value_tier_source" not in c1.attributes and "value_tier_set_at" not in c1.attributes
    run_segments(clock.now())
    assert member_counts().get("vip") is None


def test_an_imported_regular_holds_a_vip_down_and_auto_lifts_it(
    database: str, tmp_path: Path
) -> None:
    World(builtin=False).customer("C1")
    with session_scope() as s:
        for n in range(3):
            s.add(Policy(policy_id=f"P{n}", customer_id="C1", start_date=date(2025, 1, 1)))
    assert _import(tmp_path, "customer_id,value_tier\nC1,regular\n") == []
    tiers.recompute_now()
    assert _customer("C1").value_tier == "regular"
    assert _import(tmp_path, "customer_id,value_tier\nC1,auto\n") == []
    assert _customer("C1").value_tier == "vip"  # three active policies


def test_a_bad_tier_is_a_file_line_error_and_the_good_rows_are_kept(
    database: str, tmp_path: Path
) -> None:
    World(builtin=False)
    path = _write(tmp_path, "customers.csv", "customer_id,value_tier\nC1,vip\nC2,gold\nC3,\n")
    report = import_file("customers", path)
    assert report.ok == 2
    assert report.problems == [
        f"{path}:3: value_tier 'gold' is not a tier (use vip or regular; auto clears an override)"
    ]
    assert _customer("C1").value_tier == "vip"
    c3 = _customer("C3")  # a blank cell: not given
    assert c3.value_tier == "regular" and "value_tier_source" not in c3.attributes
    with session_scope() as s:
        assert s.get(Customer, "C2") is None


def test_korean_words_are_stored_as_the_canonical_ones(database: str, tmp_path: Path) -> None:
    World(builtin=False)
    body = (
        "customer_id,gender,occupation,marital_status,value_tier\n"
        "C1,여,회사원,기혼,우수\n"
        "C2,남성,자영업,미혼,일반\n"
        "C3,female,주부,Married,\n"
        "C4,M,retired,,\n"
    )
    assert _import(tmp_path, body) == []
    got = {
        cid: (c.gender, c.occupation, c.marital_status, c.value_tier)
        for cid in ("C1", "C2", "C3", "C4")
        for c in [_customer(cid)]
    }
    assert got == {
        "C1": ("F", "office", "married", "vip"),
        "C2": ("M", "self-employed", "single", "regular"),
        "C3": ("F", "homemaker", "married", "regular"),
        "C4": ("M", "retired", None, "regular"),  # not in the list: kept as given
    }
    # ... and the conditions read them, in SQL and in Python.
    married = compile_condition({"customer.marital_status": "married", "customer.gender": "F"})
    with session_scope() as s:
        in_sql = s.exec(select(Customer.customer_id).where(married.to_sql(clock.now()))).all()
        everyone = s.exec(select(Customer)).all()
        in_python = [c.customer_id for c in everyone if married.matches(Facts(c, clock.now()))]
    assert sorted(in_sql) == sorted(in_python) == ["C1", "C3"]
