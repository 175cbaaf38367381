"""The console in the application: its pages, its stylesheet, and the answers to
"sign in first" (a redirect to ``/login``) and "not for your role" (a 403 page).
The pages are listed here, in the order a reader meets them."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from automation.console.auth import Forbidden, NeedsSignIn, viewer_of
from automation.console.pages import (
    agent,
    customers,
    dashboard,
    ops_journeys,
    ops_segments,
    ops_templates,
    signin,
)
from automation.console.render import STATIC, page

PAGES = (
    signin.router,
    agent.router,
    customers.router,
    dashboard.router,
    ops_journeys.router,
    ops_segments.router,
    ops_templates.router,
)


def install(app: FastAPI) -> None:
    """Mount the console's pages and stylesheet on ``app``."""
    for router in PAGES:
        app.include_router(router)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.add_exception_handler(NeedsSignIn, _sign_in_first)  # type: ignore[arg-type]
    app.add_exception_handler(Forbidden, _forbidden)  # type: ignore[arg-type]


def _sign_in_first(request: Request, exc: NeedsSignIn) -> Response:
    return RedirectResponse(f"/login?next={_quoted(exc.next_path)}", status_code=303)


def _forbidden(request: Request, exc: Forbidden) -> Response:
    return page(
        request,
        viewer_of(request),
        "error.html",
        status=403,
        title="Forbidden",
        message=str(exc),
    )


def _quoted(path: str) -> str:
    return quote(path, safe="/")
