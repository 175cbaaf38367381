"""Alembic, driven from code: ``automation db upgrade`` and the tests use it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config

from automation.config import get_settings

ROOT = Path(__file__).resolve().parents[2]  # the checkout: alembic.ini, migrations/


def alembic_config(database_url: str | None = None) -> Config:
    """The Alembic config of this checkout, aimed at ``database_url`` (default: settings)."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url or get_settings().database_url
    return cfg


def upgrade(revision: str = "head", database_url: str | None = None, **attrs: Any) -> None:
    """Apply migrations up to ``revision``."""
    cfg = alembic_config(database_url)
    cfg.attributes.update(attrs)
    command.upgrade(cfg, revision)
