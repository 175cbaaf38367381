"""The segments job: a bulk refresh of every segment.

Events keep members up to date as they arrive; time alone does not arrive as an
event ("clicked in the last 7 days" turns false a week later), so every segment is
recomputed in SQL periodically. Changes are recorded and emitted as
``segment_entered``/``segment_exited`` events with ids naming the refresh.
"""

from __future__ import annotations

from datetime import datetime

from automation.customers.prospect import rescore
from automation.segments.membership import refresh_all


def run_segments(now: datetime) -> int:
    """Decay prospect scores, then refresh every segment; returns how many entry and
    exit events were emitted."""
    rescore(now)  # a score only moves when an event arrives: time has to move it too
    return sum(r.events for r in refresh_all())
