"""The site snippet (``GET /v1/site.js``) and its demo page (``GET /site-demo``).

``site.js`` is a file of the package (``api/static/site.js``): the insurer's pages
include it with their ``ingest`` key; it keeps the visitor cookie, sends page views,
fills ``data-slot`` elements from ``/v1/personalize`` and reports the offers shown and
clicked. The demo page is a mock home page that includes it, with a key of its own.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, Template

from automation.api.deps import NO_NUL
from automation.api.keys import check_key, create_key
from automation.console.render import HEADERS
from automation.errors import AuthError
from automation.models import Scope

router = APIRouter(tags=["personalization"])
STATIC = Path(__file__).resolve().parent.parent / "static"
SCRIPT_SECONDS = 300  # a changed script reaches every page within five minutes
DEMO_KEY_NAME = "site-demo"
_KEY = r"^[A-Za-z0-9_-]{1,64}$"


@router.get(
    "/v1/site.js",
    response_class=Response,
    responses={200: {"content": {"application/javascript": {}}}},
)
async def site_js() -> Response:
    """The snippet a page includes with its key:
    ``<script src="…/v1/site.js" data-key="KEY" async></script>``."""
    return Response(
        _script(),
        media_type="application/javascript; charset=utf-8",
        headers={
            "Cache-Control": f"public, max-age={SCRIPT_SECONDS}",
            "X-Content-Type-Options": "nosniff",
            # Pages of another origin load it, even those that isolate themselves (COEP).
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


@router.get("/site-demo", response_class=HTMLResponse, include_in_schema=False)
async def site_demo(
    key: Annotated[str | None, Query(pattern=_KEY)] = None,
    customer_id: Annotated[str | None, Query(min_length=1, max_length=64, pattern=NO_NUL)] = None,
) -> HTMLResponse:
    """A mock insurer home page with hero, side, banner and content slots filled by
    ``site.js``: with ``?key=`` that key, else the engine's own ``site-demo`` ingest key
    (never an admin key); ``?customer_id=`` acts signed in."""
    used = key or await run_in_threadpool(_demo_key.get)
    html = _demo_page().render(key=used, customer_id=customer_id)
    return HTMLResponse(html, headers=HEADERS)


class _DemoKey:
    """The ``site-demo`` ingest key, created on first use and kept by this process (only
    its hash is stored, so another process or a restart creates its own)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: str | None = None

    def get(self) -> str:
        with self._lock:
            if self._key is not None and not _still_valid(self._key):
                self._key = None  # revoked, or a database that never had it
            if self._key is None:
                self._key = create_key(Scope.INGEST.value, DEMO_KEY_NAME)
            return self._key


def _still_valid(key: str) -> bool:
    try:
        check_key(key, Scope.INGEST)
    except AuthError:
        return False
    return True


_demo_key = _DemoKey()


@functools.cache
def _script() -> bytes:
    return (STATIC / "site.js").read_bytes()


@functools.cache
def _demo_page() -> Template:
    text = (STATIC / "site_demo.html").read_text(encoding="utf-8")
    return Environment(autoescape=True).from_string(text)
