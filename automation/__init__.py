"""Event-driven marketing automation engine for a life insurer's eCRM.

The flow reads one way: api / cli / scheduler → ingest → processing (profile,
segments, journeys) → ledger → channels.
"""

__version__ = "0.1.0"
