"""What every command writes: the two consoles and the one-line errors.

Kept apart from ``app`` so the command modules can use it while ``app`` imports them
(``app`` importing the commands and the commands importing ``app`` would be a circle).
"""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from automation.errors import NotYetAvailable

out = Console()
err = Console(stderr=True)


def say_error(message: str, label: str = "[bold red]error:[/]") -> None:
    """One line on stderr; the message is user data, never Rich markup."""
    err.print(f"{label} {escape(message)}", highlight=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """One clear line on stderr, then exit non-zero."""
    say_error(message)
    raise typer.Exit(code)


def fail_on_problems(problems: list[str]) -> None:
    """Each problem (already ``FILE:LINE: reason``) on its own line; exit 1 if any."""
    for problem in problems:
        err.print(problem, markup=False, highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)


def not_yet(what: str) -> NoReturn:
    """For a command that is announced but not built: ``app`` turns this into exit 3."""
    raise NotYetAvailable(f"'{what}' is not yet available in this version")
