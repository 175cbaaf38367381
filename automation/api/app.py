"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from automation import __version__
from automation.api.limits import BodyLimit
from automation.api.logs import mask_access_log
from automation.api.routes import events, health, messages, reports, sms, tasks, tracking
from automation.console.routes import install as install_console


def create_app() -> FastAPI:
    """The API with every router mounted, the body limit, and tokens kept out of the
    access log.

    No interactive docs: FastAPI's pages load their scripts from a CDN, and our pages
    load nothing from another host. The schema stays at ``/openapi.json``.
    """
    app = FastAPI(title="automation", version=__version__, docs_url=None, redoc_url=None)
    app.add_middleware(BodyLimit)
    mask_access_log()
    app.include_router(health.router)
    app.include_router(events.router)
    app.include_router(tracking.router)
    app.include_router(tasks.router)
    app.include_router(reports.router)
    app.include_router(sms.router)
    app.include_router(messages.router)
    install_console(app)
    return app
