"""The demo's consistency checks: what must hold after any replay, or the run failed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape


@dataclass(frozen=True)
class Check:
    """One check: what it says, and whether it held."""

    text: str
    ok: bool


def checks(results: dict[str, Any]) -> list[Check]:
    """The checks over a replay's results (``results.collect``)."""
    m, f = results["messages"], results["files"]
    return [
        Check("every sent e-mail is a file in the sink", m.get("email:sent", 0) == f["eml"]),
        Check("every sent SMS is a file in the outbox", m.get("sms:sent", 0) == f["sms"]),
        Check("no event left unprocessed", results["events"]["unprocessed"] == 0),
        Check("no event failed", results["events"]["failed"] == 0),
        Check("no actor failed", results["engine"]["actor_failures"] == 0),
    ]


def failed_checks(results: dict[str, Any]) -> list[str]:
    """What the checks that did not hold say; empty when the run is sound."""
    return [c.text for c in checks(results) if not c.ok]


def print_checks(results: dict[str, Any], console: Console) -> None:
    """Every check with ✔ or ✘, as the HTML report lists them."""
    console.print("\n[bold]Checks[/]")
    for c in checks(results):
        mark = "[green]✔[/]" if c.ok else "[bold red]✘[/]"
        console.print(f"  {mark} {escape(c.text)}", highlight=False)
