"""Which events a key's scope may send to ``POST /v1/events``: the one list.

The site (an ``ingest`` key) sends behaviour: page, product and content views,
sign-ups, logins, quote and consultation requests, complaints and inquiries (the
e-Service desk; a ``system`` key may send them too, from the insurer's own service
channels), and custom types of its own. The
engine's facts change what the engine believes about a customer (suppression flags,
policies, the lifecycle ladder, journeys' timers), so they come from the engine itself
(its tracking, SMS and call-center routes and its processes call ingest in process),
from an import, or from a ``system`` key (the insurer's core systems posting
purchases). ``admin`` may send anything.

A type is the engine's when it is one of :data:`ENGINE_TYPES` or lies in one of the
engine's namespaces (:data:`ENGINE_PREFIXES`), whatever its separators: ``sms.failed``
and ``sms-failed`` are ``sms_failed``'s namespace too.
"""

from __future__ import annotations

import re
from typing import Any

from automation import metrics
from automation.events.ingest import REJECTED, EventResult, IngestResult, ingest
from automation.models import Scope

# What the site may send among the core types (``events/schema.py``): behaviour.
SITE_TYPES = frozenset(
    {
        "page_view",
        "login",
        "signup",
        "product_view",
        "content_view",
        "quote_request",
        "consultation_request",
        "complaint",
        "inquiry",
    }
)
# The engine's facts: the other core types of ``events/schema.py`` and every type
# ``events/catalog.py`` emits.
ENGINE_TYPES = frozenset(
    {
        # policies: the core systems (system key) or an import
        "policy_purchased",
        "policy_renewed",
        "policy_matured",
        "policy_cancelled",
        "policy_maturity_approaching",
        # responses to our messages: tracking routes, the SMS callback, the call center
        "email_sent",
        "email_opened",
        "email_clicked",
        "sms_clicked",
        "email_bounced",
        "unsubscribed",
        "sms_delivered",
        "sms_failed",
        "sms_replied",
        "call_completed",
        "service_completed",
        # the scheduler's jobs, journeys' timers, segments
        "timer_due",
        "customer_dormant",
        "customer_churned",
        "customer_anniversary",
        "ad_consent_expiring",
        "ad_consent_expired",
        "segment_entered",
        "segment_exited",
    }
)
# The engine's namespaces, so a fact added later is not the site's by default.
ENGINE_PREFIXES = (
    "policy_",
    "email_",
    "sms_",
    "call_",
    "service_",
    "unsubscribe",
    "consent_",
    "ad_consent_",
    "customer_",
    "timer_",
    "scheduler_",
    "segment_",
    "journey_",
)
# Scopes that may send the engine's facts over HTTP.
FACT_SCOPES = frozenset({Scope.SYSTEM, Scope.ADMIN})
_SEPARATORS = re.compile(r"[.:-]")


def is_engine_type(event_type: str) -> bool:
    """True for an engine fact or a type in one of the engine's namespaces."""
    name = _SEPARATORS.sub("_", event_type.lower())
    return name in ENGINE_TYPES or name.startswith(ENGINE_PREFIXES)


def refusal(scope: str, raw: Any) -> str | None:
    """Why a key of ``scope`` may not send the event ``raw``, or None (the event's own
    validity is ingest's business)."""
    if scope in FACT_SCOPES or not isinstance(raw, dict):
        return None
    event_type = raw.get("type")
    if not isinstance(event_type, str) or not is_engine_type(event_type):
        return None
    return f"an {scope} key cannot send {event_type[:64]}; use a system key"


def ingest_as(scope: str, raw_events: list[Any]) -> IngestResult:
    """Ingest an HTTP batch sent with a key of ``scope``: an event the scope may not send
    is rejected with its reason, the rest of the batch stored as ingest would."""
    refused = {i: reason for i, raw in enumerate(raw_events) if (reason := refusal(scope, raw))}
    if not refused:
        return ingest(raw_events, source="api")
    kept = [raw for i, raw in enumerate(raw_events) if i not in refused]
    outcome = ingest(kept, source="api") if kept else IngestResult([])
    metrics.EVENTS_INGESTED.labels("api", REJECTED).inc(len(refused))
    results = iter(outcome.results)
    merged: list[EventResult] = []
    for i, raw in enumerate(raw_events):
        if i in refused:
            merged.append(EventResult(i, REJECTED, _event_id(raw), [refused[i]]))
        else:
            result = next(results)
            result.index = i
            merged.append(result)
    outcome.results = merged
    return outcome


def _event_id(raw: dict[str, Any]) -> str | None:
    value = raw.get("event_id")
    return value[:200] if isinstance(value, str) else None
