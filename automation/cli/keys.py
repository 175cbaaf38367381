"""``automation keys``: API keys (create, list, revoke)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer

from automation.cli.output import err, out

app = typer.Typer(help="API keys.", no_args_is_help=True)


@app.command("create")
def keys_create(
    scope: Annotated[
        str,
        typer.Argument(
            help="ingest (the site's behaviour), system (the core systems' facts: purchases, "
            "renewals …), agent (the call-center queue) or admin (everything)"
        ),
    ],
    name: Annotated[str | None, typer.Option(help="a name to recognise it by")] = None,
) -> None:
    """Print a new API key once; only its hash is stored."""
    from automation.api.keys import create_key

    key = create_key(scope, name)
    print(key)
    err.print("[dim]store it now: it is not shown again[/]")


@app.command("list")
def keys_list() -> None:
    """Every key: id, name, scope, created, revoked (never the key itself)."""
    from rich.table import Table
    from rich.text import Text

    from automation.api.keys import list_keys

    table = Table("id", "name", "scope", "created", "revoked")
    for view in list_keys():
        revoked = _when(view.revoked_at) if view.revoked_at else ""
        table.add_row(str(view.id), Text(view.name), view.scope, _when(view.created_at), revoked)
    out.print(table)


@app.command("revoke")
def keys_revoke(
    key: Annotated[str, typer.Argument(help="the key's id (digits) or name, from `keys list`")],
) -> None:
    """Revoke a key: every running process refuses it within API_KEY_CACHE_SECONDS
    (30 s by default)."""
    from automation.api.keys import revoke_key
    from automation.config import get_settings

    view, now = revoke_key(key)
    what = f"key {view.id} ({view.name}, {view.scope})"
    if not now:
        out.print(f"{what} was already revoked", markup=False, highlight=False)
        return
    seconds = get_settings().api_key_cache_seconds
    out.print(
        f"revoked {what}; every running process refuses it within {seconds} s",
        markup=False,
        highlight=False,
    )


def _when(at: datetime) -> str:
    """A time in the business time zone, to the minute."""
    from automation import clock
    from automation.config import get_settings

    return clock.to_utc(at).in_tz(get_settings().timezone).strftime("%Y-%m-%d %H:%M")
