"""``automation demo``: a synthetic insurer, replayed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from automation.cli.output import fail, out


def demo(
    customers: int = 1000,
    days: int = 60,
    out_dir: Annotated[Path, typer.Option("--out")] = Path("demo-out"),
) -> None:
    """Seed a synthetic insurer, replay D days, print the funnel, write an HTML report.

    Exits 1 when any of the demo's checks failed (the report is written first).
    """
    from automation.demo import run_demo
    from automation.demo.checks import failed_checks

    results = run_demo(customers=customers, days=days, out=out_dir, console=out)
    failed = failed_checks(results)
    if failed:
        fail(
            f"{len(failed)} of the demo's checks failed: {'; '.join(failed)} "
            f"(see {(out_dir / 'report.html').resolve()})"
        )
