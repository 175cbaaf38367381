"""``automation offers``: the personalization offer rules (validate, publish, show) and
what they earned (report)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from automation.cli.output import fail, fail_on_problems, out

app = typer.Typer(help="Personalization offer rules.", no_args_is_help=True)


@app.command("validate")
def offers_validate(file: Path) -> None:
    """Check an offer-rules file; every problem as FILE:LINE: reason."""
    from automation.personalize.rules import OfferRulesError, load_text

    try:
        rules = load_text(_read(file), str(file))
    except OfferRulesError as exc:
        fail_on_problems(exc.problems)
        return
    out.print(f"{file}: {len(rules.rules)} rules ok, holdout {rules.holdout}%", highlight=False)


@app.command("publish")
def offers_publish(
    file: Annotated[Path | None, typer.Argument()] = None,
    builtin: Annotated[bool, typer.Option("--builtin", help="the shipped rules")] = False,
) -> None:
    """Publish the rules as the next version (the same text again publishes nothing)."""
    from automation.personalize import store
    from automation.personalize.rules import OfferRulesError

    if (file is None) == (not builtin):
        fail("give a FILE or --builtin")
    try:
        if builtin:
            published = store.publish_builtin()
        else:
            assert file is not None
            published = store.publish_text(_read(file), str(file), by="cli")
    except OfferRulesError as exc:
        fail_on_problems(exc.problems)
        return
    said = "published" if published.changed else "unchanged, still"
    out.print(f"offer rules {said} version {published.version}", highlight=False)


@app.command("show")
def offers_show() -> None:
    """The versions, and the rules in force in order."""
    from automation.personalize import store

    versions = store.versions()
    if not versions:
        fail("no offer rules published yet: automation offers publish --builtin")
    version, rules = store.in_force()
    table = Table("rule", "audience", "slot", "offers", title=f"offer rules v{version}")
    assert rules is not None
    for rule in rules.rules:
        items = ", ".join(f"{i.kind}:{i.key}" for i in rule.items)
        table.add_row(rule.rule_id, rule.audience, rule.slot, items)
    out.print(table)
    out.print(
        f"holdout {rules.holdout}%; versions: "
        + ", ".join(f"v{v.version} by {v.published_by}" for v in versions),
        highlight=False,
    )


@app.command("report")
def offers_report(
    from_: Annotated[str | None, typer.Option("--from", help="first day, YYYY-MM-DD")] = None,
    to: Annotated[str | None, typer.Option("--to", help="last day, YYYY-MM-DD")] = None,
    format_: Annotated[str, typer.Option("--format", help="table or json")] = "table",
) -> None:
    """Per rule: people shown, clicks, conversions, credited, uplift over the holdout."""
    from automation.reports.offers import offer_report
    from automation.reports.period import Period

    if format_ not in ("table", "json"):
        fail(f"--format {format_}: table or json")
    try:
        period = Period.of(from_, to)
    except ValueError as exc:
        fail(f"period: {exc}")
    data = offer_report(period)
    if format_ == "json":
        out.print_json(json.dumps(data, ensure_ascii=False, default=str))
        return
    held = data["holdout"]
    table = Table(
        "rule",
        "shown",
        "clicked",
        "converted",
        "credited",
        "rate",
        "uplift",
        "95% CI",
        title=f"offers {data['period']['from']} – {data['period']['to']}",
    )
    for row in data["rules"]:
        interval = row["interval"]
        table.add_row(
            row["rule"],
            str(row["shown"]),
            str(row["clickers"]),
            str(row["converted"]),
            str(row["credited"]),
            _pct(row["conversion_rate"]),
            _pct(row["uplift"], True),
            f"{_pct(interval[0], True)} ~ {_pct(interval[1], True)}"
            if interval
            else row["verdict"],
        )
    out.print(table)
    out.print(
        f"holdout: {held['people']} people, {held['converted']} converted ({_pct(held['rate'])})",
        highlight=False,
    )


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{100 * value:+.1f}%p" if signed else f"{100 * value:.1f}%"


def _read(file: Path) -> str:
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{file}: no such file")
    except UnicodeDecodeError as exc:
        fail(f"{file}:1: not UTF-8 ({exc.reason})")
