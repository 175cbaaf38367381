"""The demo's consistency checks: what must hold after any replay, or the run failed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Check:
    """One check: what it says, and whether it held."""

    text: str
    ok: bool


def checks(results: dict[str, Any]) -> list[Check]:
    """The checks over a replay's results (``results.collect``)."""
    m, f = results["messages"], results["files"]
    return [
        Check("every sent e-mail is a file in the sink", m.get("email:sent", 0) == f["eml"]),
        Check("every sent SMS is a file in the outbox", m.get("sms:sent", 0) == f["sms"]),
        Check("no event left unprocessed", results["events"]["unprocessed"] == 0),
        Check("no event failed", results["events"]["failed"] == 0),
        Check("no actor failed", results["engine"]["actor_failures"] == 0),
    ]
