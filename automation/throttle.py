"""Token buckets per client address, for failed API-key attempts.

Each address may fail ``per_minute`` times a minute, and as many at once; a failure
spends a token, and an address with none left waits until one is back. The addresses
are kept in a bounded LRU, so a flood from many addresses costs bounded memory (an
evicted address starts again with a full bucket).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict

ADDRESSES = 4096


class FailureBuckets:
    """Failed attempts per address: :meth:`wait` before a look-up, :meth:`spend` after a
    failure."""

    def __init__(self, per_minute: int, size: int = ADDRESSES) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens back per second
        self.size = size
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at
        self._lock = threading.Lock()

    def wait(self, address: str) -> int:
        """Whole seconds until ``address`` may try again (0: it may now)."""
        with self._lock:
            tokens = self._tokens(address, time.monotonic())
        if tokens >= 1:
            return 0
        return max(1, math.ceil((1 - tokens) / self.rate))

    def spend(self, address: str) -> None:
        """Record one failed attempt of ``address``."""
        now = time.monotonic()
        with self._lock:
            tokens = self._tokens(address, now)
            self._buckets[address] = (max(tokens - 1, 0.0), now)
            self._buckets.move_to_end(address)
            while len(self._buckets) > self.size:
                self._buckets.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()

    def _tokens(self, address: str, now: float) -> float:
        held = self._buckets.get(address)
        if held is None:
            return self.capacity
        tokens, at = held
        return min(self.capacity, tokens + (now - at) * self.rate)
