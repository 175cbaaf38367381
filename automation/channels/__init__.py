"""Channels: what each channel is (``base.py``), rendering its templates, signing its
links, and its transports (SMTP or the ``.eml`` sink; an HTTP gateway or the JSON file
outbox). Nothing here decides whether or when a message goes: that is ``delivery``.

- ``base.py``: one :class:`Channel` declaration each for e-mail, SMS and a call, in
  :data:`CHANNELS`.
- ``templates.py``: the template files and the publish-time check; ``jinja.py`` (the
  environment, its filters, one file rendered), ``variables.py`` (what every template
  sees), ``email_template.py``, ``sms_template.py``.
- ``email.py`` (MIME, Reply-To), ``signing.py`` (DKIM, when a key is configured),
  ``smtp.py`` (aiosmtplib pool, ``.eml`` sink), ``sms.py`` (file
  outbox, HTTP gateway), ``sms_text.py`` (CP949 sizes, mobile numbers), ``outbox.py``
  (files written whole), ``errors.py`` (transient or permanent).

Modules import each other by module path; this file only lists the public names.
"""

from automation.channels.base import CALL, CHANNELS, EMAIL, SMS, Block, Channel, Rendered
from automation.channels.email import build_email
from automation.channels.email_template import RenderedEmail, render_email
from automation.channels.errors import (
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from automation.channels.jinja import TemplateProblem, josa, korean_date
from automation.channels.sms import OutgoingSms, close_gateways, get_gateway
from automation.channels.sms_template import RenderedSms, render_sms
from automation.channels.sms_text import normalise_mobile, sms_size
from automation.channels.smtp import close_senders, get_sender
from automation.channels.templates import check_template, sample_context

__all__ = [
    "CALL",
    "CHANNELS",
    "EMAIL",
    "SMS",
    "Block",
    "Channel",
    "DeliveryError",
    "OutgoingSms",
    "PermanentDeliveryError",
    "Rendered",
    "RenderedEmail",
    "RenderedSms",
    "TemplateProblem",
    "TransientDeliveryError",
    "build_email",
    "check_template",
    "close_gateways",
    "close_senders",
    "get_gateway",
    "get_sender",
    "josa",
    "korean_date",
    "normalise_mobile",
    "render_email",
    "render_sms",
    "sample_context",
    "sms_size",
]
