"""``automation demo``: a synthetic insurer, replayed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from automation.cli.output import out


def demo(
    customers: int = 1000,
    days: int = 60,
    out_dir: Annotated[Path, typer.Option("--out")] = Path("demo-out"),
) -> None:
    """Seed a synthetic insurer, replay D days, print the funnel, write an HTML report."""
    from automation.demo import run_demo

    run_demo(customers=customers, days=days, out=out_dir, console=out)
