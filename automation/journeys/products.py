"""The product an e-mail or SMS action names, chosen when the message is decided.

``product: EDU-CARE`` names a code; ``best_for_customer`` is what templates get as
``product`` without one (:func:`recommended`: the most preferred product the customer
does not hold, else an MD pick); ``md_pick`` the first MD pick (by code)
the customer does not hold. A named product the customer already holds, or one gone
from the catalogue, falls back to ``best_for_customer``.

Chosen at decision, not at render, and kept in the message's payload: a retry, a
review or a preview shows the same product, the short link leads to it, and reports can
say what was offered even after the customer's preferences moved on.

Bulk entry (``bulk.py``) writes its messages by the million without a customer's
catalogue at hand: it keeps the action's ``product_wanted`` and the render chooses by the
same rules (:func:`wanted_product`).

The :class:`Catalog` (policies held, products, preferences) is loaded here for both the
decision and the render (``delivery/content.py``), so the two agree on
``best_for_customer``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from automation.customers.preferences import ranked
from automation.journeys.definition import PRODUCT_RULES
from automation.models import Customer, Message, Policy, Product


def wanted_product(catalog: Catalog, customer: Customer, wanted: str) -> dict[str, Any] | None:
    """The product ``wanted`` names for ``customer``, by :func:`choose`'s rules, from a
    loaded catalogue (which holds every product it may name: see :func:`load_catalog`)."""
    held = catalog.held.get(customer.customer_id, set())
    if wanted == "md_pick":
        picks = sorted(c for c, p in catalog.products.items() if p.md_pick and c not in held)
        return product_facts(catalog.products[picks[0]]) if picks else None
    product = catalog.products.get(wanted)
    if product is not None and wanted not in held:
        return product_facts(product)
    return recommended(catalog, customer)


def choose(session: Session, customer: Customer, wanted: str) -> dict[str, Any]:
    """The payload fields for ``wanted``: ``product_code`` (None if nothing fits) and
    ``product_rule``, the rule that chose it (``named``, ``md_pick``,
    ``best_for_customer``, or ``best_for_customer`` in place of a held named product)."""
    catalog = load_catalog(session, [], [customer])
    named = None if wanted in PRODUCT_RULES or wanted in catalog.products else wanted
    if named and (found := session.get(Product, named)) is not None:
        catalog.products[named] = found  # not preferred, held or an MD pick: not loaded
    product = wanted_product(catalog, customer, wanted)
    code = product["product_code"] if product else None
    rule = wanted if wanted in PRODUCT_RULES else "named" if code == wanted else None
    return {"product_code": code, "product_rule": rule or "best_for_customer"}


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
    codes |= {
        str(m.payload.get("product_code") or m.payload.get("product_wanted"))
        for m in messages
        if m.payload.get("product_code") or m.payload.get("product_wanted")
    }
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


def recommended(catalog: Catalog, customer: Customer) -> dict[str, Any] | None:
    """``best_for_customer``: the product the customer prefers most (recency-weighted
    views, kept by the preferences step) and does not hold; else an MD pick they do not
    hold; else None."""
    held = catalog.held.get(customer.customer_id, set())
    for code in catalog.preferred.get(customer.customer_id, []):
        product = catalog.products.get(code)
        if product is not None and code not in held:
            return product_facts(product)
    pick = catalog.md_pick
    return product_facts(pick) if pick is not None and pick.product_code not in held else None


def product_facts(product: Product) -> dict[str, Any]:
    """What a template sees of a product: its code, name and category."""
    return {
        "product_code": product.product_code,
        "name": product.name,
        "category": product.category,
    }
