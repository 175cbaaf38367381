"""The ``automation`` command: the Typer app, the map of its commands, and the entry point.

Errors a user can cause exit non-zero with one line on stderr, never a traceback.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import typer
from sqlalchemy.exc import DatabaseError
from typer.core import TyperGroup

from automation.cli import (
    db,
    demo,
    imports,
    journeys,
    keys,
    messages,
    offers,
    report,
    runtime,
    segments,
    users,
)
from automation.cli.output import say_error
from automation.errors import AutomationError, NotYetAvailable


class _Commands(TyperGroup):
    """Turns our errors into one line on stderr and an exit code, for every command."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except NotYetAvailable as exc:
            say_error(str(exc), "[yellow]not yet available:[/]")
            ctx.exit(3)
        except AutomationError as exc:
            say_error(str(exc))
            ctx.exit(1)
        except DatabaseError as exc:
            message = _database_message(exc)
            if message is None:
                raise
            say_error(message)
            ctx.exit(1)


def _database_message(exc: Exception) -> str | None:
    """One line for a database a user can fix (no tables yet, cannot be opened)."""
    from automation.db.engine import open_problem

    text = str(getattr(exc, "orig", exc))
    if "no such table" in text or ("relation" in text and "does not exist" in text):
        return "the database has no tables yet: run `automation db upgrade`"
    return open_problem(exc)


app = typer.Typer(
    cls=_Commands,
    help="Event-driven marketing automation for a life insurer's eCRM.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# The whole command line, in the order `--help` lists it (Typer puts commands before groups).
app.command("serve")(runtime.serve)
app.command("worker")(runtime.worker)
app.command("scheduler")(runtime.scheduler)
app.command("drain")(runtime.drain)
app.command("tick")(runtime.tick)
app.command("import")(imports.import_)
app.command("demo")(demo.demo)
app.command("report")(report.report)
app.add_typer(db.app, name="db")
app.add_typer(keys.app, name="keys")
app.add_typer(journeys.app, name="journeys")
app.add_typer(segments.app, name="segments")
app.add_typer(messages.app, name="messages")
app.add_typer(users.app, name="users")
app.add_typer(offers.app, name="offers")


def main(argv: list[str] | None = None) -> Any:
    """Console entry point."""
    logging.basicConfig(
        level=os.environ.get("AUTOMATION_LOG_LEVEL", "WARNING"),
        format="%(levelname)s %(name)s: %(message)s",
    )
    return app(args=argv)
