"""What every template sees besides the caller's context: the sender's details, the
site's address and its links; and the mark an advertisement carries.

The caller's context is a plain dict: ``customer`` (customer_id, name, email, mobile,
...), ``policy`` and ``product`` (dicts or None), ``message`` (id, key); see
:func:`automation.channels.templates.sample_context`. To it come ``sender``,
``site_url`` and ``links`` (``home``, ``mypage``, ``products``, ``product``, ``policy``,
``consult``, ``contents``; a caller's ``links`` override them), ``links.consent`` (the
customer's signed consent page on this engine, never UTM-tagged), ``consents`` (the
caller's ``customer.consents``, as delivery reads them from the customer's row; a sample
customer has every consent given today), ``today`` and ``consent_link_days`` (how long
that link works).
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import quote, urlencode

from automation import clock
from automation.config import get_settings
from automation.customers.consent import LABELS
from automation.customers.consent_link import consent_url
from automation.models import CONSENT_KINDS

AD_MARK = "(광고)"


def sender() -> dict[str, str]:
    """The sender's details the footers print (the ``SENDER_*`` settings, ``REPLY_TO``)."""
    settings = get_settings()
    return {
        "name": settings.sender_name,
        "address": settings.sender_address,
        "reply_to": settings.reply_to or settings.sender_address,
        "phone": settings.sender_phone,
        "postal_address": settings.sender_postal_address,
        "opt_out_phone": settings.opt_out_phone,
    }


def site_url() -> str:
    """Base of the insurer's web site the templates link to: ``SITE_URL``, or a
    placeholder on the embedded default (never ``PUBLIC_URL``: this engine has no such
    pages, so a tracked link would redirect to a 404)."""
    return get_settings().site.rstrip("/")


def template_variables(
    context: dict[str, Any], *, utm: dict[str, str] | None = None
) -> dict[str, Any]:
    """``context`` with the sender, the site and its links (tagged with ``utm``, if any).

    ``advertising`` is None until the template declares it: the layouts see that, and
    the renderer refuses the result with a message that says what to add.
    """
    variables = dict(context)
    variables["advertising"] = None
    variables.setdefault("sender", sender())
    variables.setdefault("site_url", site_url())
    links = _links(variables)
    if utm:
        tags = _tags(tuple(utm.items()))
        links = {key: f"{url}?{tags}" for key, url in links.items()}
    customer_id = (context.get("customer") or {}).get("customer_id")
    given = context.get("links") or {}
    if customer_id and "consent" not in given:
        links = Links(links, consent_for=str(customer_id))
    links.update(given)
    variables["links"] = links
    variables.setdefault("today", clock.now())
    variables.setdefault("consent_link_days", get_settings().consent_link_valid_days)
    if "consents" not in variables:
        given = (context.get("customer") or {}).get("consents")
        variables["consents"] = given or _sample_consents()
    return variables


class Links(dict[str, str]):
    """A template's ``links``, whose ``consent`` (the customer's signed consent page) is
    signed when a template first reads it: few templates print it, and signing it took
    a sixth of an e-mail's render."""

    def __init__(self, links: dict[str, str], *, consent_for: str) -> None:
        super().__init__(links)
        self._customer_id = consent_for

    def __missing__(self, key: str) -> str:
        if key != "consent":
            raise KeyError(key)
        url = self["consent"] = consent_url(self._customer_id)
        return url

    def __contains__(self, key: object) -> bool:
        return key == "consent" or super().__contains__(key)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        try:
            return self[key]
        except KeyError:
            return default


@functools.lru_cache(maxsize=32)
def _tags(utm: tuple[tuple[str, str], ...]) -> str:
    return urlencode(utm)


def _sample_consents() -> dict[str, dict[str, Any]]:
    """Every consent given today: the publish check's and previews' sample customer."""
    now = clock.now()
    return {
        kind: {"label": LABELS[kind], "granted": True, "at": now, "source": None}
        for kind in CONSENT_KINDS
    }


def _links(variables: dict[str, Any]) -> dict[str, str]:
    site = variables["site_url"]
    product, policy = variables.get("product"), variables.get("policy")
    links = {
        "home": f"{site}/",
        "mypage": f"{site}/mypage",
        "products": f"{site}/products",
        "contents": f"{site}/contents",
        "consult": f"{site}/consultation",
        "product": f"{site}/products",
        "policy": f"{site}/mypage/policies",
    }
    if product and product.get("product_code"):
        links["product"] = f"{site}/products/{quote(str(product['product_code']))}"
    if policy and policy.get("policy_id"):
        links["policy"] = f"{site}/mypage/policies/{quote(str(policy['policy_id']))}"
    return links
