"""The worker's garbage-collector setting.

Processing a chunk of events loads and writes ORM rows: tens of thousands of small
container objects per chunk, almost none of them in reference cycles. With Python's
default first-generation threshold (700 allocations) the collector ran hundreds of
times per chunk and took about a fifth of a worker's time (``bench/journeys.py``);
a threshold of a few thousand keeps what it frees the same and runs it a tenth as
often. Worker processes call :func:`tune_gc` when they start (``automation.worker.actors``).
"""

from __future__ import annotations

import gc

from automation.config import get_settings


def tune_gc() -> int:
    """Set the first-generation threshold to ``WORKER_GC_THRESHOLD`` (0 leaves Python's
    own); returns the threshold in force."""
    threshold = get_settings().worker_gc_threshold
    if threshold:
        _, older, oldest = gc.get_threshold()
        gc.set_threshold(threshold, older, oldest)
    return gc.get_threshold()[0]
