"""Rendering an SMS template: ``sms/<name>.txt``, plain text or the blocks ``body`` and
an optional LMS ``subject``, sized as carriers count it (``sms_text.py``).

For advertising the renderer (not the template) wraps the text: ``(광고)<sender>`` first,
``무료수신거부 <080 number>`` last. Links carry no UTM tags: every byte counts in an SMS,
and clicks are not tracked there anyway.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from automation.channels.jinja import TemplateProblem, check_name, render_file, tidy
from automation.channels.sms_text import (
    LMS_MAX_BYTES,
    LMS_SUBJECT_MAX_BYTES,
    SMS_MAX_BYTES,
    sms_size,
    truncate_bytes,
)
from automation.channels.variables import AD_MARK, template_variables

FILES = (".txt",)  # what a template needs, under sms/


@dataclass(frozen=True)
class RenderedSms:
    """An SMS (≤ 90 bytes) or LMS (≤ 2,000 bytes, with a subject); ``size`` in bytes."""

    text: str
    subject: str | None
    kind: Literal["sms", "lms"]
    size: int
    advertising: bool


def render_sms(template: str, context: dict[str, Any]) -> RenderedSms:
    """Render ``sms/<template>.txt``, wrap advertising, and size it in EUC-KR bytes.

    Size is counted in CP949 (the superset of EUC-KR Korean gateways use: every Hangul
    syllable 2 bytes); a character outside it (emoji) counts 2 bytes.

    Returns:
        ``sms`` up to 90 bytes, else ``lms`` with a subject (the ``subject`` block, or
        the text's first line), cut to 40 bytes.

    Raises:
        TemplateProblem: render error, empty text, or over 2,000 bytes.
    """
    check_name(template)
    variables = template_variables(context)
    part = render_file(f"sms/{template}.txt", variables)
    body = tidy(part.body if part.body is not None else part.output).strip()
    if not body:
        raise TemplateProblem(f"sms/{template}.txt: renders an empty text")
    text = body
    if part.advertising:
        who = variables["sender"]
        text = f"{AD_MARK}{who['name']}\n{body}\n무료수신거부 {who['opt_out_phone']}"
    size = sms_size(text)
    if size <= SMS_MAX_BYTES:
        return RenderedSms(text, None, "sms", size, part.advertising)
    if size > LMS_MAX_BYTES:
        raise TemplateProblem(
            f"sms/{template}.txt: {size} bytes, over the {LMS_MAX_BYTES:,}-byte LMS limit"
        )
    subject = " ".join((part.subject or body.splitlines()[0]).split())
    if part.advertising and not subject.startswith(AD_MARK):
        subject = f"{AD_MARK}{subject}"
    subject = truncate_bytes(subject, LMS_SUBJECT_MAX_BYTES)
    return RenderedSms(text, subject, "lms", size, part.advertising)
