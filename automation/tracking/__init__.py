"""Tracking: responses to messages come back as events.

- ``tokens.py``: signed tokens in open pixels, links and unsubscribe links (HMAC),
  and the link rewriting of an e-mail.
- ``responses.py``: bot detection, and an open, a click, an unsubscribe or an SMS
  gateway's report turned into an event (``events.catalog``) handed to ingest.
"""

from automation.tracking.responses import (
    Fetch,
    MessageFacts,
    bot_reason,
    record_click,
    record_open,
    record_sms_reports,
    record_unsubscribe,
)
from automation.tracking.tokens import BadToken, TokenData, read_token

__all__ = [
    "BadToken",
    "Fetch",
    "MessageFacts",
    "TokenData",
    "bot_reason",
    "read_token",
    "record_click",
    "record_open",
    "record_sms_reports",
    "record_unsubscribe",
]
