"""``automation keys``: API keys."""

from __future__ import annotations

from typing import Annotated

import typer

from automation.cli.output import err

app = typer.Typer(help="API keys.", no_args_is_help=True)


@app.command("create")
def keys_create(
    scope: Annotated[str, typer.Argument(help="ingest, admin or agent")],
    name: Annotated[str | None, typer.Option(help="a name to recognise it by")] = None,
) -> None:
    """Print a new API key once; only its hash is stored."""
    from automation.api.keys import create_key

    key = create_key(scope, name)
    print(key)
    err.print("[dim]store it now: it is not shown again[/]")
