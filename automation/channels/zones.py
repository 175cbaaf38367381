"""Time zones by name, kept for the life of the process.

``pendulum.timezone(name)`` builds a new ``zoneinfo`` subclass instance, and
``zoneinfo`` caches a subclass's zones only weakly: once the last time in that zone is
gone, the next ``in_tz("Asia/Seoul")`` finds, stats and parses the tz file again
(about half of a delivered e-mail's time zone work, three times per message). Holding
each zone here keeps that cache warm for every caller in the process, ``clock.local``
included.
"""

from __future__ import annotations

import functools
from datetime import datetime

import pendulum


@functools.lru_cache(maxsize=64)
def zone(name: str) -> pendulum.Timezone | pendulum.FixedTimezone:
    """The zone ``name`` (an IANA name, or UTC), made once."""
    return pendulum.timezone(name)


def in_zone(at: datetime, name: str) -> pendulum.DateTime:
    """``at`` (aware) as a pendulum time in the zone ``name``."""
    return pendulum.instance(at).in_tz(zone(name))
