"""Rendering a console page: the Jinja environment of ``console/templates``, the
header every page shares (name, role, navigation, sign-out), and the headers that keep
a page to its own server.

``Content-Security-Policy`` allows scripts, styles, images and form targets from this
server only: a page cannot load anything from another host, even by mistake.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from automation.channels.jinja import korean_date
from automation.console.auth import Viewer
from automation.console.roles import NAV, ROLE_LABELS, may_open

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def page(
    request: Request, viewer: Viewer | None, template: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """``template`` rendered for ``viewer`` (None: signed out) as an HTML response."""
    nav = []
    if viewer is not None:
        nav = [
            {"path": path, "label": label, "current": request.url.path.startswith(path)}
            for area, path, label in NAV
            if may_open(viewer.person.role, area)
        ]
    html = (
        _environment()
        .get_template(template)
        .render(
            viewer=viewer,
            person=viewer.person if viewer else None,
            role_label=ROLE_LABELS[viewer.person.role] if viewer else "",
            csrf=viewer.csrf if viewer else "",
            nav=nav,
            path=request.url.path,
            status=status,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def number(value: Any) -> str:
    """``12345`` → ``12,345``; None → ``–``."""
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def percent(value: Any, digits: int = 1) -> str:
    """``0.1234`` → ``12.3%``; None → ``–``."""
    return "–" if value is None else f"{100 * float(value):.{digits}f}%"


@functools.cache
def _environment() -> Environment:
    return environment(TEMPLATES)


def environment(folder: Path) -> Environment:
    """A page environment over ``folder``: autoescaped, strict, with the console's
    filters (``number``, ``percent``, ``kdate``); the customer's consent page uses it too."""
    env = Environment(
        loader=FileSystemLoader(folder),
        undefined=StrictUndefined,
        autoescape=select_autoescape(default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["number"] = number
    env.filters["percent"] = percent
    env.filters["kdate"] = korean_date
    return env
