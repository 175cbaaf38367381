"""The console's fixtures (``browser.py``)."""

from tests.console.browser import browser, console

__all__ = ["browser", "console"]
