"""Customers: what each event changes about a customer, as pipeline steps over a chunk.

- ``chunk.py``: the chunk's shared state (locked rows, what waits for the commit) and
  the ``Step`` protocol.
- ``profile.py``: visits, activity, the lifecycle ladder, policies, suppression flags.
- ``preferences.py``: preferences and channel responsiveness (with ``signals.py``,
  ``decay.py``); ``prospect.py``: the prospect score and its reasons.
- ``attribution.py``: conversions credited to the messages that led there.
"""

from automation.customers.attribution import AttributionStep
from automation.customers.chunk import Chunk, Step
from automation.customers.preferences import PreferenceStep
from automation.customers.profile import ProfileStep

__all__ = ["AttributionStep", "Chunk", "PreferenceStep", "ProfileStep", "Step"]
