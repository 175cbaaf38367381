"""Events: the one way in, and the outbox.

- ``ingest.ingest``: validate (``schema.py``), deduplicate, resolve and stitch identity
  (``identity.py``), store (``store.py``), enqueue. The API, tracking, call outcomes,
  provider callbacks, imports and the scheduler all call it.
- ``catalog.py``: every event the system itself emits, one constructor each, owning
  its type and id format.
- ``store.insert_events``: the one way to store events inside an open transaction
  (ingest's, or a chunk's through ``Chunk.emit``).
- ``outbox.py``: stored but unprocessed events offered to the broker again.
- ``imports/``: CSV/JSONL import of customers, policies, products, consents, events.
"""

from automation.events.ingest import EventResult, IngestResult
from automation.events.schema import EventIn, validate_event
from automation.events.store import insert_events

__all__ = ["EventIn", "EventResult", "IngestResult", "insert_events", "validate_event"]
