"""The HTTP API: thin routes over the domain functions."""

from automation.api.app import create_app

__all__ = ["create_app"]
