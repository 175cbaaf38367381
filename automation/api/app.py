"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from automation import __version__
from automation.api.routes import events, health, reports, sms, tasks, tracking


def create_app() -> FastAPI:
    """The API with every router mounted."""
    app = FastAPI(title="automation", version=__version__)
    app.include_router(health.router)
    app.include_router(events.router)
    app.include_router(tracking.router)
    app.include_router(tasks.router)
    app.include_router(reports.router)
    app.include_router(sms.router)
    return app
