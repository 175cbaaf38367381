"""`automation journeys …` as marketing ops drive it."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from automation.cli import app
from tests.journey_world import World

runner = CliRunner()


def test_publish_list_show_pause_and_enter(database: str) -> None:
    first = runner.invoke(app, ["journeys", "publish", "--builtin"])
    assert first.exit_code == 0, first.output
    assert "maturity-retention: published v1" in first.output
    again = runner.invoke(app, ["journeys", "publish", "--builtin"])
    assert "maturity-retention: unchanged (v1)" in again.output

    world = World(builtin=False)
    world.customer("W1")
    world.send("signup", "W1")
    shown = runner.invoke(app, ["journeys", "show", "welcome"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["customers"] == {"v1": {"thanks": 1}}
    listed = runner.invoke(app, ["journeys", "list"], env={"COLUMNS": "200"})
    assert "welcome" in listed.output and "thanks 1" in listed.output

    assert runner.invoke(app, ["journeys", "pause", "welcome"]).exit_code == 0
    assert "paused" in runner.invoke(app, ["journeys", "show", "welcome"]).output
    entered = runner.invoke(app, ["journeys", "enter", "welcome"])
    assert entered.exit_code == 1 and "is paused" in entered.output
    assert runner.invoke(app, ["journeys", "resume", "welcome"]).exit_code == 0
    world.customer("W2")
    entered = runner.invoke(
        app, ["journeys", "enter", "welcome", "--where", "{customer.customer_id: W2}"]
    )
    assert entered.exit_code == 0 and "1 customers entered" in entered.output


def test_unknown_journeys_are_one_line_errors(database: str) -> None:
    result = runner.invoke(app, ["journeys", "show", "nope"])
    assert result.exit_code == 1 and "no journey 'nope'" in result.output
