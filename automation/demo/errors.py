"""The demo's own error."""

from __future__ import annotations

from automation.errors import AutomationError


class DemoError(AutomationError):
    """The engine refused what the demo sent: a bug in the demo or in the engine."""
