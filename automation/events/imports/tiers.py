"""An imported ``value_tier``: an override of the computed tier, with its source.

``vip`` or ``regular`` sets the tier and records ``attributes.value_tier_source =
"import"`` and ``attributes.value_tier_set_at`` (when); the computed tier
(``customers/tiers.py``) never replaces a tier that has a source. ``auto`` clears the
override: the source keys go and the customer is due a recompute (the import's
report lists them). Re-importing the same override keeps its time, so it changes
nothing. A blank cell, as everywhere in imports, means "not given".
"""

from __future__ import annotations

from typing import Any

from automation import clock
from automation.events.imports.rows import Row
from automation.events.imports.words import AUTO

SOURCE = "value_tier_source"  # attributes key: where an override came from
SET_AT = "value_tier_set_at"  # attributes key: when it was set
IMPORT = "import"


def override_tier(row: Row, stored: Any) -> bool:
    """Turn the row's ``value_tier`` into an override (or its clearing) on the row's
    columns and attributes; True when an override was cleared (a recompute is due).
    ``stored`` is the customer's stored row (a mapping), None for a new customer."""
    if "value_tier" not in row.given:
        return False
    tier = row.given.pop("value_tier")
    before = dict(stored["attributes"] or {}) if stored is not None else {}
    attributes = {**before, **row.attributes}
    if tier == AUTO:
        if SOURCE not in attributes:
            return stored is None  # a new customer: computed from the start
        attributes.pop(SOURCE)
        attributes.pop(SET_AT, None)
    elif (
        stored is not None
        and stored["value_tier"] == tier
        and before.get(SOURCE) == IMPORT
        and SOURCE not in row.attributes
    ):
        row.given["value_tier"] = tier  # the same override again: keep its time
        return False
    else:
        row.given["value_tier"] = tier
        attributes[SOURCE] = IMPORT
        attributes[SET_AT] = clock.now().isoformat()
    # The whole attributes value, so a cleared key is gone (the upsert merges otherwise).
    row.given["attributes"] = attributes
    row.attributes = {}
    return tier == AUTO
