"""Redis consumers that sleep until woken, instead of polling an empty queue.

Dramatiq's Redis consumer polls: on an empty queue it runs its fetch script again after
a back-off of 5 ms doubling up to the worker timeout. Short (the demo's 10 ms), every
idle consumer thread, four a process with the delay queues, ran the script a hundred
times a second: two idle worker processes took half a core and Redis a tenth. Long
(the 1 s default), a message sent after a quiet spell waited up to a second for each
hand-over (event → segment event → message → ``email_sent``).

Here every enqueue also pushes a token on the queue's wake list (kept to
``WAKE_TOKENS``), and a consumer that found its queue empty blocks on that list
(``BLPOP``) for up to ``IDLE_WAIT_S``. A token pushed while nobody waits stays for
the next look, so no wake-up is lost between a consumer's empty fetch and its wait;
a token whose message another consumer took costs one empty fetch. Messages that
arrive without a token (put back by Redis's maintenance after a worker died, or sent
by another program) are found at the next look, within ``IDLE_WAIT_S``. Each consumer
still fetches at least that often, which is the worker's heartbeat (``build.py``).
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import redis
from dramatiq import Message
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import compute_backoff
from dramatiq.errors import ConnectionClosed

IDLE_WAIT_S = 1  # a consumer of an empty queue looks again at least this often
WAKE_TOKENS = 8  # enough to wake every consumer of a queue; more would wake for nothing


class WakingRedisBroker(RedisBroker):
    """Dramatiq's Redis broker whose consumers are woken by each enqueue."""

    @property
    def consumer_class(self) -> type[_RedisConsumer]:
        return _WakingConsumer

    def wake_key(self, queue_name: str) -> str:
        """The list a queue's idle consumers wait on (beside dramatiq's own keys)."""
        return f"{self.namespace}:__wake__.{queue_name}"

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        """Enqueue as dramatiq does, then wake one consumer of the queue it went to."""
        sent = super().enqueue(message, delay=delay)
        key = self.wake_key(sent.queue_name)
        pipe = self.client.pipeline(transaction=False)
        pipe.lpush(key, 1).ltrim(key, 0, WAKE_TOKENS - 1).execute()
        return sent


class _WakingConsumer(_RedisConsumer):
    """``_RedisConsumer`` with the empty-queue back-off replaced by a wait on the wake list."""

    def __init__(self, broker: WakingRedisBroker, queue_name: str, prefetch: int, timeout: int):
        super().__init__(broker, queue_name, prefetch, timeout)
        self.wake_key = broker.wake_key(queue_name)

    def __next__(self) -> MessageProxy | None:
        try:
            while True:
                while self.message_cache:
                    data = self.message_cache.pop(0)
                    if data is None:  # dramatiq's #266 guard, as in the consumer it extends
                        continue
                    self.misses = 0
                    message = Message.decode(data)
                    self.queued_message_ids.add(message.message_id)
                    return MessageProxy(message)
                if self.outstanding_message_count >= self.prefetch:
                    # Holding all it may: look again soon, as dramatiq does, since a
                    # worker thread finishing a message wakes nobody.
                    self.misses, backoff = compute_backoff(self.misses, max_backoff=self.timeout)
                    time.sleep(backoff / 1000)
                    return None
                wanted = self.prefetch - self.outstanding_message_count
                self.message_cache = self.broker.do_fetch(self.queue_name, wanted)
                if not self.message_cache:
                    self._wait()
                    return None  # the consumer thread checks whether to stop, then asks again
        except redis.ConnectionError as e:
            raise ConnectionClosed(e) from None

    def _wait(self) -> None:
        # A socket timeout shorter than the wait ends it early: an ordinary look again.
        with contextlib.suppress(redis.TimeoutError):
            self.broker.client.blpop([self.wake_key], timeout=IDLE_WAIT_S)
