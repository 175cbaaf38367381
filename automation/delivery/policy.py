"""The contact policy: may this message go to this customer now, and if not, why.

Checked right before each send, in this order, and the first rule that says no is
the reason recorded on the message:

1. channel consent (``no_email_consent`` …);
2. advertising consent for advertising messages, lapsed two years after it was given
   without re-confirmation (``no_ad_consent``, ``ad_consent_expired``), and no
   advertising for ``COMPLAINT_PAUSE_DAYS`` after a complaint (``complaint_pause``);
3. unsubscribed, hard-bounced, do-not-call (``unsubscribed``, ``hard_bounced``,
   ``do_not_call``);
4. night time 21:00–08:00 in the customer's zone on the channels the rule covers
   (SMS and calls by default), without night-time consent → deferred to 08:00;
5. frequency caps per channel and overall, per local day (→ deferred to the next
   morning) and per 7 days (→ suppressed);
6. the customer's cap per journey per 7 days (→ suppressed).

What is per channel (its consent field, its suppression flags and their reasons) is
the channel's declaration (``channels/base.py``); the night channels and the caps are
settings. A pure function of the customer, the channel, what was already sent, and
the time: the ledger loads the counts and records the verdict.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

import pendulum

from automation import clock
from automation.channels import zones
from automation.channels.base import Channel
from automation.config import Settings, get_settings
from automation.models import Customer

SEND, DEFER, SUPPRESS = "send", "defer", "suppress"


@dataclass(frozen=True)
class Verdict:
    """What the policy says: send, defer until ``until``, or suppress; and why."""

    action: str
    reason: str | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Sent:
    """What this customer was already sent (messages recorded as sent)."""

    channel_today: int = 0
    channel_week: int = 0
    total_today: int = 0
    total_week: int = 0
    journey_week: int = 0


def decide(
    customer: Customer,
    channel: Channel,
    advertising: bool,
    sent: Sent,
    now: datetime | None = None,
    settings: Settings | None = None,
) -> Verdict:
    """The verdict for one message on ``channel`` to ``customer`` at ``now``.

    Parameters:
        customer: the customer's row (consents, suppression flags, time zone).
        channel: the message's channel (``channels.base.CHANNELS``).
        advertising: the rendered template says it advertises.
        sent: what the customer was already sent (``ledger.already_sent``).
    """
    settings = settings or get_settings()
    at, local = _moment(now or clock.now(), customer.timezone or settings.timezone)
    if not getattr(customer, channel.consent_field):
        return Verdict(SUPPRESS, f"no_{channel.consent_field}")
    if advertising:
        if not customer.ad_consent:
            return Verdict(SUPPRESS, "no_ad_consent")
        given = customer.ad_consent_at
        if given is not None and at >= ad_consent_lapses(given, settings):
            return Verdict(SUPPRESS, "ad_consent_expired")
    attributes = customer.attributes or {}
    if advertising and _complaint_pauses(attributes.get("complained_at"), at, settings):
        return Verdict(SUPPRESS, "complaint_pause")
    for block in channel.blocks:
        if attributes.get(block.flag):
            return Verdict(SUPPRESS, block.reason)
    if channel.name in night_channels(settings) and not customer.night_consent:
        morning = night_ends(local, settings)
        if morning is not None:
            return Verdict(DEFER, "night_time", morning)
    caps = _caps(channel.name, settings)
    if sent.channel_week >= caps["channel_week"]:
        return Verdict(SUPPRESS, f"cap_{channel.name}_week")
    if sent.total_week >= caps["total_week"]:
        return Verdict(SUPPRESS, "cap_total_week")
    if sent.channel_today >= caps["channel_day"] or sent.total_today >= caps["total_day"]:
        over_channel = sent.channel_today >= caps["channel_day"]
        which = f"cap_{channel.name}_day" if over_channel else "cap_total_day"
        return Verdict(DEFER, which, next_morning(local, settings))
    if sent.journey_week >= settings.cap_journey_week:
        return Verdict(SUPPRESS, "cap_journey_week")
    return Verdict(SEND)


@functools.lru_cache(maxsize=64)
def _moment(now: datetime, zone: str) -> tuple[pendulum.DateTime, pendulum.DateTime]:
    # A batch's messages share one ``now`` and mostly one zone: converted once.
    at = clock.to_utc(now)
    return at, at.in_tz(zones.zone(zone))


def ad_consent_lapses(given_at: datetime, settings: Settings | None = None) -> datetime:
    """When an advertising consent given at ``given_at`` lapses without re-confirmation."""
    days = (settings or get_settings()).ad_consent_valid_days
    return clock.to_utc(given_at) + timedelta(days=days)


def _complaint_pauses(complained_at: object, at: datetime, settings: Settings) -> bool:
    if not isinstance(complained_at, str) or not settings.complaint_pause_days:
        return False
    since = clock.to_utc(datetime.fromisoformat(complained_at))
    return at < since + timedelta(days=settings.complaint_pause_days)


def night_channels(settings: Settings) -> frozenset[str]:
    """The channels the night rule covers."""
    return _listed(settings.night_channels)


@functools.lru_cache(maxsize=8)
def _listed(names: str) -> frozenset[str]:
    return frozenset(c.strip() for c in names.split(",") if c.strip())


def night_ends(local: pendulum.DateTime, settings: Settings) -> datetime | None:
    """If ``local`` is night time, the morning it ends (UTC); else None."""
    start, end = settings.night_start_hour, settings.night_end_hour
    if local.hour >= start:
        return clock.to_utc(local.add(days=1).replace(hour=end, minute=0, second=0, microsecond=0))
    if local.hour < end:
        return clock.to_utc(local.replace(hour=end, minute=0, second=0, microsecond=0))
    return None


def next_morning(local: pendulum.DateTime, settings: Settings) -> datetime:
    """The next local day at the end of the night (a day cap resets at midnight)."""
    return clock.to_utc(
        local.add(days=1).replace(hour=settings.night_end_hour, minute=0, second=0, microsecond=0)
    )


def _caps(channel: str, settings: Settings) -> dict[str, int]:
    return {
        "channel_day": getattr(settings, f"cap_{channel}_day"),
        "channel_week": getattr(settings, f"cap_{channel}_week"),
        "total_day": settings.cap_total_day,
        "total_week": settings.cap_total_week,
    }
