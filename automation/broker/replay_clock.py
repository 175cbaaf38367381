"""Dramatiq middleware that carries a replay's clock from the publisher to the worker.

In a replay (the demo, ``tick --at``, a test) the publishing process moves its own
clock; worker processes run on real time. So a message published while the clock is
frozen or moved carries that time in its options, and the worker thread that runs it
reads the same "now" for the length of the message: the policy's night hours, caps
and timers then agree with the replay, whatever process does the work. On real time
nothing is stamped and nothing changes.
"""

from __future__ import annotations

from typing import Any

import pendulum
from dramatiq import Broker, Message, Middleware

from automation import clock

OPTION = "replay_now"


class ReplayClock(Middleware):
    """Stamp the publisher's replayed time on each message; follow it while working it."""

    def before_enqueue(self, broker: Broker, message: Message[Any], delay: int) -> None:
        at = clock.replayed()
        if at is not None:
            message.options[OPTION] = at.isoformat()

    def before_process_message(self, broker: Broker, message: Message[Any]) -> None:
        stamp = message.options.get(OPTION)
        clock.follow(pendulum.parse(stamp) if stamp else None)  # type: ignore[arg-type]

    def after_process_message(
        self,
        broker: Broker,
        message: Message[Any],
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        clock.follow(None)

    def after_skip_message(self, broker: Broker, message: Message[Any]) -> None:
        clock.follow(None)
