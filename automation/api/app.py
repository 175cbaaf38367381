"""The FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from automation import __version__
from automation.api.limits import BodyLimit
from automation.api.logs import mask_access_log
from automation.api.routes import (
    consent,
    customers,
    events,
    health,
    journeys,
    messages,
    offers,
    personalize,
    reports,
    segments,
    site,
    sms,
    tasks,
    tracking,
)
from automation.config import get_settings
from automation.console.routes import install as install_console


def create_app() -> FastAPI:
    """The API with every router mounted, the body limit, and tokens kept out of the
    access log.

    No interactive docs: FastAPI's pages load their scripts from a CDN, and our pages
    load nothing from another host. The schema stays at ``/openapi.json``.
    """
    app = FastAPI(title="automation", version=__version__, docs_url=None, redoc_url=None)
    app.add_middleware(BodyLimit)
    site_url = get_settings().site_url
    if site_url:
        # site.js runs on the insurer's pages and calls us from their origin.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=[site_url.rstrip("/")],
            allow_methods=["GET", "POST"],
            allow_headers=["X-API-Key", "Content-Type"],
            max_age=3600,
        )
    mask_access_log()
    app.include_router(health.router)
    app.include_router(events.router)
    app.include_router(tracking.router)
    app.include_router(consent.router)
    app.include_router(tasks.router)
    app.include_router(reports.router)
    app.include_router(sms.router)
    app.include_router(messages.router)
    app.include_router(personalize.router)
    app.include_router(offers.router)
    app.include_router(customers.router)
    app.include_router(journeys.router)
    app.include_router(segments.router)
    app.include_router(site.router)
    install_console(app)
    return app
