"""The channels, declared once: what each needs of the customer, what the contact
policy honours on it, what becomes of a message a crashed worker left behind, how it
renders and how it delivers.

Everything that differs between an e-mail, an SMS and a call is a field of its
:class:`Channel`; the delivery (``delivery/*``) reads these instead of comparing
channel names. What settings tune stays in settings, keyed by :attr:`Channel.name`:
the channels the night rule covers (``NIGHT_CHANNELS``) and the caps per channel
(``CAP_<NAME>_DAY``, ``CAP_<NAME>_WEEK``).
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from automation.channels.email import build_email
from automation.channels.email_template import FILES as EMAIL_FILES
from automation.channels.email_template import RenderedEmail, render_email
from automation.channels.futures import done
from automation.channels.sms import OutgoingSms, get_gateway
from automation.channels.sms_template import FILES as SMS_FILES
from automation.channels.sms_template import RenderedSms, render_sms
from automation.channels.smtp import get_sender

Rendered = RenderedEmail | RenderedSms


class Render(Protocol):
    """Renders a named template with a message's context."""

    def __call__(self, template: str, context: dict[str, Any]) -> Rendered: ...


class Send(Protocol):
    """Starts handing a rendered message to its transport. The future gives the
    transport's id for it, or raises ``TransientDeliveryError`` (try again later) or
    ``PermanentDeliveryError``; a message that cannot be built raises them at once.
    Several started sends travel together (the SMTP pool's connections).
    """

    def __call__(
        self, rendered: Rendered, *, to: str, message_id: int, message_key: str
    ) -> Future[str]: ...


class Block(NamedTuple):
    """A suppression flag the contact policy honours on a channel."""

    flag: str  # the customer attribute the response loop sets (profile step)
    reason: str  # the reason a message it stops records


@dataclass(frozen=True)
class Channel:
    """What is particular to one channel."""

    name: str  # as messages, journeys and settings name it
    label: str  # as the customer reads it (the unsubscribe page)
    consent_field: str  # the customer's consent to be contacted this way
    address_field: str | None  # the customer's field it is sent to; None: no address
    blocks: tuple[Block, ...]  # in the order the policy checks them
    # A message left ``sending`` by a crashed worker: sent again (True), or to review
    # (False) because the customer may already have it.
    resend_after_crash: bool
    render: Render | None = None  # None: no template
    template_files: tuple[str, ...] = ()  # what a template needs, under <name>/
    send: Send | None = None  # after the claim's transaction
    opens_task: bool = False  # delivered in the claim's transaction, as an agent task
    bounces: bool = False  # a recipient's permanent failure bounces the customer (email_bounced)
    records_sent: bool = False  # each send is an ``email_sent`` event

    def __post_init__(self) -> None:
        if (self.send is None) != self.opens_task:
            raise ValueError(f"channel {self.name}: either a transport or an agent task")


def _send_email(rendered: Rendered, *, to: str, message_id: int, message_key: str) -> Future[str]:
    """Build the MIME mail and hand it to the SMTP sender (or the ``.eml`` sink)."""
    if not isinstance(rendered, RenderedEmail):
        raise TypeError(f"an e-mail sends a RenderedEmail, not {type(rendered).__name__}")
    mail = build_email(rendered, to=to, message_id=message_id, message_key=message_key)
    return get_sender().submit(mail)


def _send_sms(rendered: Rendered, *, to: str, message_id: int, message_key: str) -> Future[str]:
    """Hand the SMS to the gateway of ``SMS_URL`` (in this thread: the future is done)."""
    if not isinstance(rendered, RenderedSms):
        raise TypeError(f"an SMS sends a RenderedSms, not {type(rendered).__name__}")
    sms = OutgoingSms.of(rendered, to=to, message_key=message_key)
    return done(lambda: get_gateway().send(sms))


EMAIL = Channel(
    name="email",
    label="이메일",
    consent_field="email_consent",
    address_field="email",
    blocks=(Block("unsubscribed", "unsubscribed"), Block("hard_bounced", "hard_bounced")),
    resend_after_crash=False,  # a customer must never get the same advertisement twice
    render=render_email,
    template_files=EMAIL_FILES,
    send=_send_email,
    bounces=True,
    records_sent=True,  # the e-mail-unresponsive segment counts these
)
SMS = Channel(
    name="sms",
    label="문자(SMS)",
    consent_field="sms_consent",
    address_field="mobile",
    blocks=(Block("unsubscribed_sms", "unsubscribed"),),
    resend_after_crash=False,
    render=render_sms,
    template_files=SMS_FILES,
    send=_send_sms,
)
CALL = Channel(
    name="call",
    label="전화",
    consent_field="call_consent",
    address_field=None,  # the task names the customer; the agent finds the number
    blocks=(Block("do_not_call", "do_not_call"),),
    # Opening the task is idempotent by message id, and an agent calling once more
    # costs nothing wrong.
    resend_after_crash=True,
    opens_task=True,
)

CHANNELS: dict[str, Channel] = {c.name: c for c in (EMAIL, SMS, CALL)}
