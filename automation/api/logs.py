"""Keeps tracking and unsubscribe tokens out of the access log.

A token in ``/u/…``, ``/t/o/…``, ``/t/c/…``, ``/s/…`` or ``/consent/…`` lets whoever
reads it unsubscribe the customer, change their consents, or forge their opens and
clicks, so uvicorn's access log gets the path with
the token masked. The filter sits on the ``uvicorn.access`` logger, whose records
carry the path as their third argument; logging configuration leaves a logger's
filters in place.
"""

from __future__ import annotations

import logging
import re

ACCESS_LOGGER = "uvicorn.access"
MASK = "***"
_TOKEN = re.compile(r"(/u/|/t/[oc]/|/consent/|/s/)[^?#\s]+")


def mask_tokens(path: str) -> str:
    """``path`` with the token of a tracking or unsubscribe link replaced by ``***``."""
    return _TOKEN.sub(lambda m: m.group(1) + MASK, path)


class MaskTokens(logging.Filter):
    """Masks the request path of an access-log record (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], mask_tokens(args[2]), *args[3:])
        elif isinstance(record.msg, str) and not args:
            record.msg = mask_tokens(record.msg)
        return True


def mask_access_log() -> None:
    """Install :class:`MaskTokens` on the access logger, once per process."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, MaskTokens) for f in logger.filters):
        logger.addFilter(MaskTokens())
