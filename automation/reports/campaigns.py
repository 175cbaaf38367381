"""Campaign results: what the journeys decided to send in a period, and what came of it.

Definitions (per message; a row's figure is how many of its messages qualify):

- **decided**: messages created (decided by a journey) inside the period. Everything
  below is about these messages, whenever it happened: responses and conversions up to
  now count, so a message decided on the period's last day is followed to today.
- **sent**: the channel took it: ``sent_at`` is set (``sent``; a call task created), or
  the mail server refused it for good at the send (``bounced``).
- **bounced**: status ``bounced``, or a bounce reported later: an ``email_bounced``
  event, or the SMS gateway's ``sms_failed`` (the carrier's refusal), naming it.
- **delivered**: an ``sms_delivered`` report names it, or it was sent and not bounced
  (a gateway without delivery reports, e-mail, calls).
- **opened** / **clicked**: an ``email_opened`` / ``email_clicked`` names it whose
  ``suspected_bot`` is not ``true``; a mail scanner's pre-fetch is counted apart
  (``scanner_opened`` / ``scanner_clicked``: messages with one) and never as a
  person's. **replied**: an ``sms_replied``. **unsubscribed**: an ``unsubscribed``.
- **converted** (last touch): the message is the ``last_message_id`` of an enrollment
  whose status is ``converted`` (its goal event reached).
- **suppressed**: status ``suppressed``, by the contact policy's ``reason``;
  **deferred**, **failed**, **review** and **waiting** (``queued`` or ``sending``) are
  the messages in that status now.
- **call_outcomes**: call messages by their task's outcome (else the outcome of a
  ``call_completed`` naming the message).
- **rates**: open and click rate = opened / clicked over delivered; conversion rate =
  converted / sent; ``None`` when the denominator is 0. Opens and clicks exist only for
  e-mail, so rows mixing channels have diluted open and click rates.

The advertising-consent re-confirmation (asked, answered, kept and withdrawn per
channel, no answer, ``ad_consent_expired`` suppressions) comes with every report:
``campaigns_consent``, definitions there.

The parts: ``campaigns_queries`` (the SQL statement, explained there) and
``campaigns_figures`` (the report's dataclasses); this module runs the statement and
sums its groups into rows, per-channel totals and the overall total.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from automation.db import get_engine
from automation.reports.campaigns_consent import consent_figures
from automation.reports.campaigns_figures import CampaignReport, CampaignRow, Counts
from automation.reports.campaigns_queries import DIMENSIONS, SUMMED, campaign_query
from automation.reports.period import Period

# Names importers know from this module, defined in its parts.
__all__ = [
    "DEFAULT_BY",
    "DIMENSIONS",
    "CampaignReport",
    "CampaignRow",
    "Counts",
    "campaign_query",
    "campaign_report",
    "dimensions",
]

DEFAULT_BY = ("journey", "template", "channel")


def campaign_report(period: Period, by: Sequence[str] = DEFAULT_BY) -> CampaignReport:
    """Campaign results of the messages decided in ``period``, grouped by ``by``.

    Parameters:
        period: the reporting window (messages by ``created_at``).
        by: dimensions among journey, version, state, template, channel (in that order
            in each row); empty for one row of everything.

    Raises:
        ValueError: an unknown dimension.
    """
    dims = dimensions(by)
    with get_engine().begin() as conn:
        rows = conn.execute(campaign_query(period, dims)).all()
    groups: dict[tuple[Any, ...], Counts] = {}
    channels: dict[tuple[Any, ...], Counts] = {}
    total = Counts()
    for row in rows:
        counts = _counts(row)
        key = tuple(getattr(row, f"k_{d}") for d in dims)
        groups[key] = groups.get(key, Counts()) + counts
        channels[(row.channel,)] = channels.get((row.channel,), Counts()) + counts
        total += counts
    return CampaignReport(
        period=period,
        by=dims,
        rows=_rows(dims, groups),
        channels=_rows(("channel",), channels),
        total=total,
        consent=consent_figures(period),
    )


def dimensions(by: Sequence[str] | str) -> tuple[str, ...]:
    """``by`` checked and put in the rows' order (journey, version, state, template,
    channel), without repeats.

    Raises:
        ValueError: an unknown dimension.
    """
    names = [by] if isinstance(by, str) else [d.strip() for d in by]
    unknown = [d for d in names if d not in DIMENSIONS]
    if unknown:
        raise ValueError(
            f"cannot group campaigns by {', '.join(map(repr, unknown))}: "
            f"use {', '.join(DIMENSIONS)}"
        )
    return tuple(d for d in DIMENSIONS if d in names)


def _rows(dims: tuple[str, ...], groups: dict[tuple[Any, ...], Counts]) -> list[CampaignRow]:
    # Missing values (a message outside any journey) sort last.
    ordered = sorted(
        groups.items(), key=lambda kv: [(v is None, "" if v is None else v) for v in kv[0]]
    )
    return [CampaignRow(dict(zip(dims, key, strict=True)), counts) for key, counts in ordered]


def _counts(row: Any) -> Counts:
    n = {name: int(getattr(row, name) or 0) for name in SUMMED}
    # The group's reason and outcome are those of all its messages (they are grouped on).
    suppressed = n.pop("suppressed")
    reasons = {row.suppressed_reason: suppressed} if suppressed else {}
    outcomes = {row.call_outcome: n["decided"]} if row.call_outcome else {}
    return Counts(**n, suppressed=reasons, call_outcomes=outcomes)
