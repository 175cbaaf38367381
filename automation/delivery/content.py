"""What a message says about its customer: the template's context, and the call
task's snapshot of the customer's online preferences.

The context's ``product`` is the one the journey fixed when it decided the message
(``payload.product_code``, see ``journeys/products.py``), else :func:`recommended`. An
SMS's ``links`` are short tracked links (``tracking/short.py``): every byte counts there,
and an e-mail's links are tracked when it is sent instead."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, select

from automation import clock
from automation.customers.consent import consents_of
from automation.customers.preferences import ranked
from automation.journeys.products import (
    Catalog,
    load_catalog,
    product_facts,
    recommended,
    wanted_product,
)
from automation.models import Customer, Event, Message, Policy, Product
from automation.tracking.short import short_url

__all__ = ["Catalog", "context_for", "load_catalog", "preference_report", "template_context"]

RECENT_DAYS = 90
VIEW_TYPES = ("page_view", "content_view", "product_view")
RESPONSE_TYPES = ("email_opened", "email_clicked", "sms_replied", "call_completed", "unsubscribed")
TOP_INTERESTS = 3  # content keys and categories a template sees, most read first


def template_context(session: Session, message: Message, customer: Customer) -> dict[str, Any]:
    """The context a template renders with (the shape of ``channels.templates.sample_context``)."""
    return context_for(load_catalog(session, [message], [customer]), message, customer)


def context_for(catalog: Catalog, message: Message, customer: Customer) -> dict[str, Any]:
    """:func:`template_context` from a loaded :class:`Catalog` (no statement)."""
    policy = _policy(catalog, message.payload.get("policy_id"))
    attrs = customer.attributes or {}
    code = message.payload.get("product_code")  # fixed when decided (journeys/products.py)
    chosen = catalog.products.get(str(code)) if code else None
    product: dict[str, Any] | None
    if chosen is not None:
        product = product_facts(chosen)
    elif wanted := message.payload.get("product_wanted"):  # bulk entry: chosen now
        product = wanted_product(catalog, customer, str(wanted))
    else:
        product = recommended(catalog, customer)
    context: dict[str, Any] = {
        "customer": {
            "customer_id": customer.customer_id,
            "name": customer.name,
            "email": customer.email,
            "mobile": customer.mobile,
            "gender": customer.gender,
            "birth_date": customer.birth_date.isoformat() if customer.birth_date else None,
            "joined_at": customer.joined_at.date().isoformat() if customer.joined_at else None,
            # What the member reads most (the preferences step): welcome tips follow it.
            "top_content": ranked(attrs, "content")[:TOP_INTERESTS],
            "top_categories": ranked(attrs, "category")[:TOP_INTERESTS],
            # From the row this delivery holds: the consent notice prints them.
            "consents": consents_of(customer),
        },
        "policy": policy,
        "product": product,
        "message": {"id": message.id, "key": message.idempotency_key},
    }
    if message.channel == "sms" and message.id is not None:
        context["links"] = sms_links(message.id, product=chosen is not None)
    return context


def sms_links(message_id: int, *, product: bool) -> dict[str, str]:
    """An SMS's short tracked links; ``links.product`` only for a product the journey
    fixed (the redirect finds it in the message), else the site's own link stays."""
    names = ("consult", "home", "mypage", *(("product",) if product else ()))
    return {name: short_url(message_id, name) for name in names}


def preference_report(session: Session, customer: Customer) -> dict[str, Any]:
    """What an agent should know before calling: recent visits, what the customer looked
    at, how they answered campaigns, their policies and maturity dates."""
    since = clock.now() - timedelta(days=RECENT_DAYS)
    events = list(
        session.exec(
            select(Event)
            .where(Event.customer_id == customer.customer_id, col(Event.occurred_at) >= since)
            .order_by(col(Event.occurred_at).desc())
            .limit(2000)
        )
    )
    views = [e for e in events if e.type in VIEW_TYPES]
    contents = Counter(str(e.properties["content"]) for e in views if e.properties.get("content"))
    products = Counter(str(e.properties["product"]) for e in views if e.properties.get("product"))
    names = _product_names(session, [code for code, _ in products.most_common(5)])
    policies = session.exec(select(Policy).where(Policy.customer_id == customer.customer_id))
    return {
        "as_of": clock.now().isoformat(),
        "window_days": RECENT_DAYS,
        "last_seen_at": customer.last_seen_at.isoformat() if customer.last_seen_at else None,
        "page_views": len(views),
        "recent_pages": [
            str(
                e.properties.get("url")
                or e.properties.get("product")
                or e.properties.get("content")
            )
            for e in views[:10]
        ],
        "top_content": [{"content": c, "views": n} for c, n in contents.most_common(5)],
        "top_products": [
            {"product": p, "name": names.get(p), "views": n} for p, n in products.most_common(5)
        ],
        "responses": dict(Counter(e.type for e in events if e.type in RESPONSE_TYPES)),
        "policies": [
            {
                "policy_id": p.policy_id,
                "product_code": p.product_code,
                "status": p.status,
                "maturity_date": p.maturity_date.isoformat() if p.maturity_date else None,
            }
            for p in policies
        ],
    }


def _policy(catalog: Catalog, policy_id: Any) -> dict[str, Any] | None:
    policy = catalog.policies.get(str(policy_id)) if policy_id else None
    if policy is None:
        return None
    product = catalog.products.get(policy.product_code) if policy.product_code else None
    return {
        "policy_id": policy.policy_id,
        "product_code": policy.product_code,
        "product_name": product.name if product else policy.product_code,
        "start_date": policy.start_date.isoformat() if policy.start_date else None,
        "maturity_date": policy.maturity_date.isoformat() if policy.maturity_date else None,
        "status": policy.status,
    }


def _product_names(session: Session, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.exec(select(Product).where(col(Product.product_code).in_(codes)))
    return {p.product_code: p.name for p in rows}
