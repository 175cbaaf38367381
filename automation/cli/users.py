"""``automation users``: the people who sign in to the console (create, list, disable)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from automation.cli.output import out

app = typer.Typer(help="Console users (people; machines use API keys).", no_args_is_help=True)


@app.command("create")
def users_create(
    name: Annotated[str, typer.Argument(help="user name: lower-case letters, digits, . _ -")],
    role: Annotated[
        str,
        typer.Option(
            help="agent (the call queue), marketer (journeys, segments, templates), "
            "manager (the dashboard) or admin (everything)"
        ),
    ],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Add a person; the password is asked for twice (or read from stdin), never echoed,
    and only its argon2 hash is stored."""
    from automation.console.users import check_password, create_user
    from automation.errors import ValidationError

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True)
        check_password(password)
        if typer.prompt("again", hide_input=True) != password:
            raise ValidationError("the two passwords differ")
    person = create_user(name, role, password)
    out.print(f"user {person.username} ({person.role.value}) created", markup=False)


@app.command("list")
def users_list() -> None:
    """Everyone: name, role, active, created, last sign-in."""
    from rich.table import Table
    from rich.text import Text

    from automation.cli.keys import _when
    from automation.console.users import list_users

    table = Table("name", "role", "active", "created", "last sign-in")
    for user in list_users():
        table.add_row(
            Text(user.username),
            user.role,
            "yes" if user.active else "disabled",
            _when(user.created_at) if user.created_at else "",
            _when(user.last_login_at) if user.last_login_at else "",
        )
    out.print(table)


@app.command("disable")
def users_disable(name: Annotated[str, typer.Argument(help="the user name")]) -> None:
    """Stop a person signing in; their open session ends at its next request."""
    from automation.console.users import disable_user

    disable_user(name)
    out.print(f"user {name} disabled", markup=False)
