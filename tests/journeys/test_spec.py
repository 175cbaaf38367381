"""Journey files: what validation says, and where it points."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from automation.cli import app
from automation.journeys.registry import builtin_files
from automation.journeys.spec import SpecError, load_file, load_text

GOOD = """\
journey: test-journey
name: Test
entry:
  on: signup
start: hello
states:
  hello:
    do:
      - email: welcome
    after: {wait: 3d, to: bye}
  bye:
    end: true
"""


def problems(text: str) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_text(text, "j.yaml")
    return caught.value.problems


def test_every_shipped_journey_is_valid() -> None:
    files = builtin_files()
    assert {f.stem for f in files} >= {
        "maturity-retention",
        "conversion-ladder",
        "welcome",
        "dormant-reactivation",
        "anniversary-greeting",
    }
    for path in files:
        spec = load_file(path)
        assert spec.journey_id == path.stem


def test_a_good_journey_compiles() -> None:
    spec = load_text(GOOD)
    assert spec.start == "hello"
    assert spec.state("hello").timers[0].wait is not None


@pytest.mark.parametrize(
    ("change", "line", "reason"),
    [
        (("to: bye}", "to: nowhere}"), 10, "unknown state 'nowhere'"),
        (("{wait: 3d,", "{wait: 3,"), 10, "'3'"),
        (("email: welcome", "email: no_such_template"), 9, "template 'no_such_template' not found"),
        (("  on: signup", "  on: signup\n  when: {customer.agee: 3}"), 5, "customer.agee"),
        (("    end: true", "    end: true\n  lonely:\n    end: true"), 13, "can never be reached"),
        (("    end: true", "    do: [{email: welcome}]"), 11, "no way out"),
        (("name: Test", "name: Test\ncolour: red"), 3, "unknown key 'colour'"),
        (("journey: test-journey", "journey: Test Journey"), 1, "lower-case slug"),
        (("after: {wait: 3d, to: bye}", "at: {date: {x: 1}, to: bye}"), 10, "date is one of"),
    ],
)
def test_mistakes_point_at_their_line(change: tuple[str, str], line: int, reason: str) -> None:
    found = problems(GOOD.replace(*change))
    assert any(p.startswith(f"j.yaml:{line}: ") and reason in p for p in found), found


def test_branches_need_an_else_and_splits_add_up() -> None:
    text = GOOD.replace(
        "    after: {wait: 3d, to: bye}",
        "    branch:\n      - when: {customer.has_children: true}\n        to: bye\n",
    )
    assert any("last {else: state}" in p for p in problems(text))
    split = GOOD.replace(
        "    after: {wait: 3d, to: bye}",
        "    split:\n      - {share: 30, to: bye}\n      - {share: 30, to: bye}\n",
    )
    assert any("add up to 60, not 100" in p for p in problems(split))


def test_a_yaml_syntax_error_names_its_line() -> None:
    found = problems(GOOD.replace("  on: signup", "  on: [signup"))
    assert found[0].startswith("j.yaml:") and "not valid YAML" in found[0]


def test_every_problem_is_reported_at_once() -> None:
    text = GOOD.replace("to: bye}", "to: nowhere}").replace("email: welcome", "email: nope")
    assert len(problems(text)) >= 2


def test_validate_command_exits_non_zero_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("to: bye}", "to: nowhere}"), encoding="utf-8")
    good = tmp_path / "good.yaml"
    good.write_text(GOOD, encoding="utf-8")
    result = CliRunner().invoke(app, ["journeys", "validate", str(good), str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:10: 'hello' moves to unknown state 'nowhere'" in result.output
    assert "good.yaml: ok" in result.output
