"""The seed's table 1 as the shipped segments group-a … group-d: each row's customer,
imported with the CRM's Korean words, is in its own group and no other; near misses
(wrong gender, children, insured or not, age) are out. SQL (the bulk refresh) and
Python (the per-event step) agree."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import select

from automation import clock
from automation.conditions import Facts
from automation.db import session_scope
from automation.events.imports.importer import import_file
from automation.models import Customer, SegmentMember
from automation.segments import registry
from automation.segments.membership import refresh_all
from tests.journey_world import World

GROUPS = ("group-a", "group-b", "group-c", "group-d")
# START is 2026-11-02: born 1 May, a customer is (2026 − year) years old.
# id, born, gender, occupation, children, insured, the group expected (None: none)
PEOPLE = [
    # Table 1's rows.
    ("A", 1996, "여", "회사원", "Y", False, "group-a"),
    ("B", 1998, "여성", "회사원", "N", False, "group-b"),
    ("C", 1991, "남", "자영업", "Y", True, "group-c"),
    ("D", 1986, "여", "주부", "Y", True, "group-d"),
    # Near misses.
    ("A-man", 1996, "남", "회사원", "Y", False, None),
    ("A-insured", 1996, "여", "회사원", "Y", True, None),
    ("A-homemaker", 1996, "여", "주부", "Y", False, None),
    ("A-at-35", 1991, "여", "회사원", "Y", False, None),
    ("A-at-28", 1998, "여", "회사원", "Y", False, "group-a"),  # a B with children
    ("A-no-children", 1996, "여", "회사원", "N", False, "group-b"),  # B's row at 30
    ("B-at-32", 1994, "여", "회사원", "N", False, None),
    ("B-insured", 1998, "여", "회사원", "N", True, None),
    ("C-woman", 1991, "여", "자영업", "Y", True, None),
    ("C-uninsured", 1991, "남", "자영업", "Y", False, None),
    ("C-no-children", 1991, "남", "자영업", "N", True, None),
    ("C-office", 1991, "남", "회사원", "Y", True, None),
    ("D-man", 1986, "남", "주부", "Y", True, None),
    ("D-uninsured", 1986, "여", "주부", "Y", False, None),
    ("D-no-children", 1986, "여", "주부", "N", True, None),
    ("D-at-45", 1981, "여", "주부", "Y", True, None),
    ("D-at-38", 1988, "여", "주부", "Y", True, "group-d"),
]


def _import(folder: Path) -> None:
    customers = folder / "customers.csv"
    rows = [
        f"{cid},{born}-05-01,{gender},{job},{kids}" for cid, born, gender, job, kids, _, _ in PEOPLE
    ]
    customers.write_text(
        "customer_id,birth_date,gender,occupation,has_children\n" + "\n".join(rows) + "\n",
        encoding="utf-8",
    )
    assert import_file("customers", customers).problems == []
    policies = folder / "policies.csv"
    insured = [f"P-{cid},{cid},2024-03-01" for cid, *_, held, _ in PEOPLE if held]
    policies.write_text("policy_id,customer_id,start_date\n" + "\n".join(insured) + "\n")
    assert import_file("policies", policies).problems == []


def _memberships() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {cid: set() for cid, *_ in PEOPLE}
    with session_scope() as s:
        rows = s.exec(select(SegmentMember).where(SegmentMember.segment_id.in_(GROUPS)))  # type: ignore[attr-defined]
        for row in rows:
            found[row.customer_id].add(row.segment_id)
    return found


def test_each_row_of_table_1_is_in_its_group_only(database: str, tmp_path: Path) -> None:
    World(builtin=False)
    registry.publish_builtin()
    _import(tmp_path)
    refresh_all(emit=False)
    expected = {cid: {group} if group else set() for cid, *_, group in PEOPLE}
    assert _memberships() == expected
    # The per-event step's Python evaluation agrees with the bulk SQL.
    with session_scope() as s:
        groups = [
            (row.segment_id, cond) for row, cond in registry.segments(s) if row.segment_id in GROUPS
        ]
        assert len(groups) == 4
        in_python = {
            c.customer_id: {gid for gid, cond in groups if cond.matches(Facts(c, clock.now()))}
            for c in s.exec(select(Customer))
        }
    assert in_python == expected


def test_table_1_customers_are_stored_in_the_canonical_words(database: str, tmp_path: Path) -> None:
    World(builtin=False)
    _import(tmp_path)
    with session_scope() as s:
        rows = {c.customer_id: c for c in s.exec(select(Customer))}
    got = {
        cid: (rows[cid].gender, rows[cid].occupation, rows[cid].lifecycle_stage) for cid in "ABCD"
    }
    assert got == {
        "A": ("F", "office", "member"),
        "B": ("F", "office", "member"),
        "C": ("M", "self-employed", "customer"),
        "D": ("F", "homemaker", "customer"),
    }
