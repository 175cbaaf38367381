"""Consent changes as events: ``consent_changed`` (an operator's PATCH, or a core
system's post) applied to the customer by the profile step, with its audit row.

A change sets the consent flag, its time and its source, and records a
:class:`~automation.models.ConsentChange`. Granting a consent already granted renews its
time (a re-confirmation: the advertising consent's two-year lapse counts from it);
withdrawing one already withdrawn changes nothing. A change older than the consent's
stored time is left alone: events may be processed out of order, and the later word
of the customer wins.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from sqlmodel import Session

from automation import clock
from automation.db import session_scope
from automation.errors import NotFound, ValidationError
from automation.events.catalog import consent_changed
from automation.events.ingest import ingest
from automation.events.limits import shown
from automation.models import CONSENT_KINDS, ConsentChange, Customer, Event

CONSENT_CHANGED = "consent_changed"
SOURCE_LENGTH = 64  # the ``*_consent_source`` columns


def record_consents(
    customer_id: str, changes: dict[str, bool], *, source: str, by: str
) -> list[int]:
    """Store one ``consent_changed`` event per kind in ``changes`` (kind → granted)
    through ingest, and answer their row ids (to process before answering: a
    withdrawal must hold before the next send, broker or not).

    Raises:
        ValidationError: no change, or a kind that is not a consent.
        NotFound: no such customer (an event would create one as a bare member).
    """
    unknown = sorted(k for k in changes if k not in CONSENT_KINDS)
    if unknown:
        raise ValidationError(
            f"unknown consent kind '{shown(unknown[0], 32)}'; use {', '.join(CONSENT_KINDS)}"
        )
    if not changes:
        raise ValidationError(f"no consent to change; use {', '.join(CONSENT_KINDS)}")
    with session_scope() as session:
        if session.get(Customer, customer_id) is None:
            raise NotFound(f"no customer '{customer_id}'")
    request, now = uuid.uuid4().hex[:16], clock.now()
    events = [
        consent_changed(customer_id, kind, granted, now, request, source=source, by=by)
        for kind, granted in sorted(changes.items())
    ]
    return ingest(events, source="consent").stored_ids


# The suppression flag an opt-out set on a channel (customers/profile.py), which the
# customer's new consent to that channel ends.
OPT_OUT_FLAGS = {"email": "unsubscribed", "sms": "unsubscribed_sms", "call": "do_not_call"}


def apply_consent(session: Session, customer: Customer, event: Event) -> bool:
    """Apply one ``consent_changed`` event; True if the customer changed.

    An event with an unknown ``kind`` or a ``granted`` that is not a boolean (a system
    key may post anything under the type) changes nothing rather than failing its chunk.
    """
    props = event.properties or {}
    kind, granted = props.get("kind"), props.get("granted")
    if kind not in CONSENT_KINDS or not isinstance(granted, bool):
        return False
    given_at = getattr(customer, f"{kind}_consent_at")
    if given_at is not None and event.occurred_at < given_at:
        return False
    if not granted and not getattr(customer, f"{kind}_consent"):
        return False
    source = props.get("source")
    source = str(source)[:SOURCE_LENGTH] if source else None
    setattr(customer, f"{kind}_consent", granted)
    setattr(customer, f"{kind}_consent_at", event.occurred_at)
    flag = OPT_OUT_FLAGS.get(kind)
    if granted and flag and customer.attributes.get(flag):
        # Consent given again, by the customer, after an opt-out: the opt-out is over
        # (it stays in the event history and in consent_changes).
        customer.attributes = {k: v for k, v in customer.attributes.items() if k != flag}
    setattr(customer, f"{kind}_consent_source", source)
    session.add(customer)
    session.add(
        ConsentChange(
            customer_id=customer.customer_id,
            kind=kind,
            granted=granted,
            source=source,
            changed_at=event.occurred_at,
        )
    )
    return True


# --- the customer's own answer, from the consent page ----------------------------------

PAGE_SOURCE = "consent_page"
PAGE_KINDS = ("email", "sms", "call", "night")  # what the page asks; ``ad`` follows from them
CHANNEL_KINDS = ("email", "sms", "call")
LABELS = {
    "email": "이메일 광고 수신",
    "sms": "문자(SMS) 광고 수신",
    "call": "전화 광고 수신",
    "ad": "광고 수신 (전체)",
    "night": "야간(21시~8시) 광고 수신",
}


def consents_of(customer: Any) -> dict[str, dict[str, Any]]:
    """Each consent of a customer row (kind → ``label``, ``granted``, ``at``, ``source``),
    in :data:`CONSENT_KINDS` order: what the consent page and the result notice show."""
    return {
        kind: {
            "label": LABELS[kind],
            "granted": bool(getattr(customer, f"{kind}_consent")),
            "at": getattr(customer, f"{kind}_consent_at"),
            "source": getattr(customer, f"{kind}_consent_source"),
        }
        for kind in CONSENT_KINDS
    }


def consent_state(customer_id: str) -> dict[str, dict[str, Any]] | None:
    """:func:`consents_of` the customer ``customer_id``; None if there is no such one."""
    with session_scope() as session:
        customer = session.get(Customer, customer_id)
        return consents_of(customer) if customer is not None else None


def state_basis(state: dict[str, dict[str, Any]]) -> str:
    """A short digest of the consents a form was shown with: posting the same form
    twice (a double click, a reload) makes the same event ids, so it counts once."""
    parts = [
        f"{k}:{int(v['granted'])}:{v['at'].isoformat() if v['at'] else ''}"
        for k, v in state.items()
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def answer_from_page(customer_id: str, answers: dict[str, bool], basis: str) -> list[int]:
    """Record the customer's answer on the consent page; answer the stored event ids.

    ``answers`` holds each of :data:`PAGE_KINDS` (True: keep or give). Every consent the
    customer keeps is recorded again, so its time is renewed: keeping everything is the
    re-confirmation the law asks for every two years. Advertising consent (``ad``), if
    it was given, is kept while any channel is, and then always recorded, so
    ``ad_consent_at`` moves even when nothing else changes. Event ids derive from
    ``basis`` (the state the form showed) and the answer: the same form posted again
    stores nothing new.

    Raises:
        ValidationError: a kind missing from ``answers``.
        NotFound: no such customer.
    """
    missing = [kind for kind in PAGE_KINDS if kind not in answers]
    if missing:
        raise ValidationError(f"no answer for {', '.join(missing)}")
    state = consent_state(customer_id)
    if state is None:
        raise NotFound(f"no customer '{customer_id}'")
    wanted = {kind: answers[kind] for kind in PAGE_KINDS}
    # Never given: the page does not give it either (it re-confirms, it does not sign up).
    wanted["ad"] = state["ad"]["granted"] and any(wanted[kind] for kind in CHANNEL_KINDS)
    # "No" to what was never given changes nothing and needs no event.
    changes = {k: v for k, v in wanted.items() if v or state[k]["granted"]}
    if not changes:
        return []
    answer = ",".join(f"{k}={int(v)}" for k, v in sorted(wanted.items()))
    request = hashlib.sha256(f"{basis}|{answer}".encode()).hexdigest()[:16]
    now = clock.now()
    events = [
        consent_changed(
            customer_id, kind, granted, now, f"page-{request}", source=PAGE_SOURCE, by="customer"
        )
        for kind, granted in sorted(changes.items())
    ]
    return ingest(events, source="consent").stored_ids
