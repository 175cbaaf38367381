"""Template previews for the marketing-ops page: a template rendered for a chosen
customer (or the sample one) exactly as the delivery would render it: the e-mail's
subject, HTML and text; the SMS text with its CP949 byte count and SMS/LMS kind.

The context comes from :func:`automation.delivery.content.template_context` with a
transient :class:`~automation.models.Message` (never saved, id 0): the preview writes
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import col, select

from automation.channels.email_template import FILES as EMAIL_FILES
from automation.channels.email_template import RenderedEmail, render_email
from automation.channels.jinja import TemplateProblem, check_name
from automation.channels.sms_template import FILES as SMS_FILES
from automation.channels.sms_template import RenderedSms, render_sms
from automation.channels.templates import sample_context
from automation.config import get_settings
from automation.db import session_scope
from automation.delivery.content import template_context
from automation.errors import NotFound
from automation.models import Customer, Message, Policy

CHANNEL_FILES = {"email": EMAIL_FILES, "sms": SMS_FILES}
CHANNEL_LABELS = {"email": "이메일 E-mail", "sms": "문자 SMS/LMS"}
PREVIEW_MESSAGE_ID = 0  # no message has id 0: the unsubscribe link of a preview leads nowhere
CUSTOMER_CHOICES = 20


@dataclass(frozen=True)
class TemplateRef:
    """A template by channel and name; ``key`` is how the form names it."""

    channel: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.channel}:{self.name}"


@dataclass(frozen=True)
class Preview:
    """A rendered template, and for whom (None: the sample customer)."""

    template: TemplateRef
    customer_id: str | None
    customer_name: str | None
    policy_id: str | None
    email: RenderedEmail | None = None
    sms: RenderedSms | None = None


def available() -> list[TemplateRef]:
    """Every e-mail and SMS template with all its files, by channel then name."""
    root = get_settings().templates_dir
    found = []
    for channel, files in CHANNEL_FILES.items():
        folder = root / channel
        for path in sorted(folder.glob(f"*{files[0]}")):
            name = path.name.removesuffix(files[0])
            if _is_name(name) and all((folder / f"{name}{ext}").is_file() for ext in files):
                found.append(TemplateRef(channel, name))
    return found


def find(key: str) -> TemplateRef:
    """The template ``channel:name``; raises NotFound if there is none."""
    for ref in available():
        if ref.key == key:
            return ref
    raise NotFound(f"no template '{key}'")


def preview(key: str, customer_id: str = "") -> Preview:
    """Render template ``key`` for ``customer_id`` (empty: the sample customer).

    Raises:
        NotFound: no such template or customer.
        TemplateProblem: the template does not render for this customer.
    """
    ref = find(key)
    customer_name = policy_id = None
    if customer_id:
        context, customer_name, policy_id = _customer_context(ref, customer_id)
    else:
        context = sample_context(ref.channel)
        context["message"] = {"id": PREVIEW_MESSAGE_ID, "key": f"preview:{ref.key}"}
    who = customer_id or None
    if ref.channel == "email":
        return Preview(ref, who, customer_name, policy_id, email=render_email(ref.name, context))
    return Preview(ref, who, customer_name, policy_id, sms=render_sms(ref.name, context))


def customer_choices() -> list[tuple[str, str]]:
    """A few customers to pick from (id, name), for the form's suggestions."""
    with session_scope() as session:
        rows = session.exec(
            select(Customer.customer_id, Customer.name)
            .order_by(col(Customer.customer_id))
            .limit(CUSTOMER_CHOICES)
        ).all()
    return [(cid, name or "") for cid, name in rows]


def _customer_context(
    ref: TemplateRef, customer_id: str
) -> tuple[dict[str, Any], str | None, str | None]:
    with session_scope() as session:
        customer = session.get(Customer, customer_id)
        if customer is None:
            raise NotFound(f"no customer '{customer_id}'")
        policies = session.exec(select(Policy).where(Policy.customer_id == customer_id))
        policy = _policy_to_name(list(policies))
        message = Message(
            id=PREVIEW_MESSAGE_ID,
            idempotency_key=f"preview:{ref.key}:{customer_id}",
            customer_id=customer_id,
            channel=ref.channel,
            template=ref.name,
            payload={"policy_id": policy} if policy else {},
        )
        return template_context(session, message, customer), customer.name, policy


def _policy_to_name(policies: list[Policy]) -> str | None:
    """The policy a journey would name: the active one maturing soonest, else any."""
    if not policies:
        return None
    active = [p for p in policies if p.status == "active"] or policies
    active.sort(key=lambda p: (p.maturity_date or date.max, p.policy_id))
    return active[0].policy_id


def _is_name(name: str) -> bool:
    try:
        check_name(name)
    except TemplateProblem:
        return False
    return True
