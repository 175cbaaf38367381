"""The worker: what runs the engine.

- ``process.py``: the pipeline (``STEPS``) over a chunk of claimed events, exactly
  once in effect; failure isolation and retries.
- ``actors.py``: the two Dramatiq actors (process events, deliver messages), thin;
  importing it builds the broker and tunes the garbage collector (``gc.py``).
- ``embedded.py``: the in-process worker, relays and scheduler of ``serve``; ``drain``.
"""

from automation.worker.process import STEPS, process_event, process_events

__all__ = ["STEPS", "process_event", "process_events"]
