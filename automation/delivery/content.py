"""What a message says about its customer: the template's context, and the call
task's snapshot of the customer's online preferences."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from automation import clock
from automation.customers.preferences import ranked
from automation.models import Customer, Event, Message, Policy, Product

RECENT_DAYS = 90
VIEW_TYPES = ("page_view", "content_view", "product_view")
RESPONSE_TYPES = ("email_opened", "email_clicked", "sms_replied", "call_completed", "unsubscribed")


@dataclass
class Catalog:
    """What the templates of a batch of messages read, loaded in two statements."""

    policies: dict[str, Policy]  # the customers' own and those messages name, by id
    held: dict[str, set[str]]  # customer → product codes of the policies they hold
    products: dict[str, Product]  # every product a context may name
    md_pick: Product | None  # the first MD pick by code
    preferred: dict[str, list[str]]  # customer → product codes, most preferred first


def load_catalog(
    session: Session, messages: Sequence[Message], customers: Sequence[Customer]
) -> Catalog:
    """Policies and products for the contexts of ``messages`` to ``customers``."""
    customer_ids = [c.customer_id for c in customers]
    named = {str(m.payload["policy_id"]) for m in messages if m.payload.get("policy_id")}
    policies = {
        p.policy_id: p
        for p in session.exec(
            select(Policy).where(
                or_(col(Policy.customer_id).in_(customer_ids), col(Policy.policy_id).in_(named))
            )
        )
    }
    held: dict[str, set[str]] = {c: set() for c in customer_ids}
    for policy in policies.values():
        if policy.customer_id in held and policy.product_code:
            held[policy.customer_id].add(policy.product_code)
    preferred = {c.customer_id: ranked(c.attributes or {}, "product") for c in customers}
    codes = {code for codes in preferred.values() for code in codes}
    codes |= {p.product_code for p in policies.values() if p.product_code}
    products = {
        p.product_code: p
        for p in session.exec(
            select(Product).where(
                or_(col(Product.product_code).in_(codes), col(Product.md_pick).is_(True))
            )
        )
    }
    picks = sorted(code for code, p in products.items() if p.md_pick)
    return Catalog(policies, held, products, products[picks[0]] if picks else None, preferred)


def template_context(session: Session, message: Message, customer: Customer) -> dict[str, Any]:
    """The context a template renders with (the shape of ``channels.templates.sample_context``)."""
    return context_for(load_catalog(session, [message], [customer]), message, customer)


def context_for(catalog: Catalog, message: Message, customer: Customer) -> dict[str, Any]:
    """:func:`template_context` from a loaded :class:`Catalog` (no statement)."""
    policy = _policy(catalog, message.payload.get("policy_id"))
    return {
        "customer": {
            "customer_id": customer.customer_id,
            "name": customer.name,
            "email": customer.email,
            "mobile": customer.mobile,
            "gender": customer.gender,
            "birth_date": customer.birth_date.isoformat() if customer.birth_date else None,
            "joined_at": customer.joined_at.date().isoformat() if customer.joined_at else None,
        },
        "policy": policy,
        "product": _recommended(catalog, customer),
        "message": {"id": message.id, "key": message.idempotency_key},
    }


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


def _recommended(catalog: Catalog, customer: Customer) -> dict[str, Any] | None:
    """The product the customer prefers most (recency-weighted views, kept by the
    preferences step) and does not hold; else an MD pick they do not hold."""
    held = catalog.held.get(customer.customer_id, set())
    for code in catalog.preferred.get(customer.customer_id, []):
        product = catalog.products.get(code)
        if product is not None and code not in held:
            return _product(product)
    pick = catalog.md_pick
    return _product(pick) if pick is not None and pick.product_code not in held else None


def _product(product: Product) -> dict[str, Any]:
    return {
        "product_code": product.product_code,
        "name": product.name,
        "category": product.category,
    }


def _product_names(session: Session, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    rows = session.exec(select(Product).where(col(Product.product_code).in_(codes)))
    return {p.product_code: p.name for p in rows}
