"""``automation db``: the database schema."""

from __future__ import annotations

import typer

from automation.cli.output import out

app = typer.Typer(help="The database schema.", no_args_is_help=True)


@app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply the Alembic migrations in migrations/."""
    from automation.db.migrate import upgrade

    upgrade(revision)
    out.print(f"database at revision {revision}")
