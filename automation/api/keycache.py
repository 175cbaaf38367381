"""A small thread-safe map with an expiry per entry and a bound on its size.

The least recently used entry goes first when it is full, so a flood of new keys costs
a bounded amount of memory whatever its length.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Generic, TypeVar

V = TypeVar("V")


class TtlLru(Generic[V]):
    """Up to ``size`` entries, each valid for the ``ttl`` seconds it was put with."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bool, V | None]:
        """``(True, value)`` for a live entry (now the most recently used), else
        ``(False, None)``; an expired entry is dropped."""
        with self._lock:
            hit = self._entries.get(key)
            if hit is None:
                return False, None
            if hit[0] <= time.monotonic():
                del self._entries[key]
                return False, None
            self._entries.move_to_end(key)
            return True, hit[1]

    def put(self, key: str, value: V, ttl: float) -> None:
        """Store ``value`` for ``ttl`` seconds, evicting the least recently used."""
        with self._lock:
            self._entries[key] = (time.monotonic() + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
