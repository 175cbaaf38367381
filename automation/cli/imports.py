"""``automation import``: customers, products, policies and events from CSV or JSONL."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from automation.cli.output import err, out


class ImportKind(StrEnum):
    """What a file to import holds."""

    customers = "customers"
    products = "products"
    policies = "policies"
    events = "events"


def import_(kind: ImportKind, file: Path) -> None:
    """Import CSV or JSONL; bad rows are reported as FILE:LINE and skipped."""
    from automation.events.imports.importer import import_file

    report = import_file(kind.value, file, console=err)
    if report.retier:
        # The importer sits below customers/: new policy holders and cleared overrides
        # get their computed tier here, not at the next daily run.
        from automation.customers.tiers import recompute_now

        recompute_now(report.retier)
    for problem in report.problems:
        err.print(problem, markup=False, highlight=False, soft_wrap=True)
    out.print(f"{kind.value}: {report.ok} imported, {len(report.problems)} bad rows skipped")
    if report.problems:
        raise typer.Exit(1)
