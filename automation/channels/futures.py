"""Sends as futures: a transport that answers in the caller's thread (the sink, the
SMS gateway) gives a finished one, so delivery waits on every channel the same way."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future


def done(send: Callable[[], str]) -> Future[str]:
    """Run ``send`` now; its answer or its error in a finished future."""
    future: Future[str] = Future()
    try:
        future.set_result(send())
    except Exception as exc:
        future.set_exception(exc)
    return future
