"""Delivery errors: transient ones are retried, permanent ones are not."""

from __future__ import annotations

from automation.errors import AutomationError


class DeliveryError(AutomationError):
    """A message could not be handed over; ``reason`` says why, in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientDeliveryError(DeliveryError):
    """Worth trying again later: a 4xx answer, a dropped connection, a timeout."""


class PermanentDeliveryError(DeliveryError):
    """Trying again will not help: a 5xx answer, a refused recipient, a bad address."""
