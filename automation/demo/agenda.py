"""What people will do later: actions kept in time order until the clock reaches them."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from datetime import datetime

Action = Callable[[], None]


class Agenda:
    """A time-ordered list of actions; equal times run in the order they were added."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, int, Action]] = []
        self._seq = itertools.count()

    def add(self, at: datetime, action: Action) -> None:
        heapq.heappush(self._heap, (at, next(self._seq), action))

    def due(self, until: datetime) -> Iterator[tuple[datetime, Action]]:
        """Take out the actions due by ``until``, earliest first (including ones that the
        actions themselves add for before ``until``)."""
        while self._heap and self._heap[0][0] <= until:
            at, _, action = heapq.heappop(self._heap)
            yield at, action

    def __len__(self) -> int:
        return len(self._heap)
