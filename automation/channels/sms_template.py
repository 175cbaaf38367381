"""Rendering an SMS template: ``sms/<name>.txt``, plain text or the blocks ``body`` and
an optional LMS ``subject``, sized as carriers count it (``sms_text.py``).

For advertising the renderer (not the template) wraps the text: ``(광고)<sender>`` first,
``무료수신거부 <080 number>`` last. Links carry no UTM tags: every byte counts in an SMS.
The delivery passes short tracked links (``tracking/short.py``) as ``links``.

**A link where it fits.** The template sees ``link_fits``: true on the first render; if
that text is over 90 bytes, it is rendered again with ``link_fits`` false, and if that
fits in an SMS it goes out so (product name, no link), else the first text goes out as
an LMS (with its link). ``{% if link_fits %}{{ links.product }}{% endif %}`` is a link
that never turns an SMS into an LMS; a link written plainly always goes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from automation.channels.jinja import Part, TemplateProblem, check_name, render_file, tidy
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
    part, body, text = _render(template, variables, link_fits=True)
    size = sms_size(text)
    if size <= SMS_MAX_BYTES:
        return RenderedSms(text, None, "sms", size, part.advertising)
    _, _, short = _render(template, variables, link_fits=False)
    if sms_size(short) <= SMS_MAX_BYTES:  # the optional link was what did not fit
        return RenderedSms(short, None, "sms", sms_size(short), part.advertising)
    if size > LMS_MAX_BYTES:
        raise TemplateProblem(
            f"sms/{template}.txt: {size} bytes, over the {LMS_MAX_BYTES:,}-byte LMS limit"
        )
    subject = " ".join((part.subject or body.splitlines()[0]).split())
    if part.advertising and not subject.startswith(AD_MARK):
        subject = f"{AD_MARK}{subject}"
    subject = truncate_bytes(subject, LMS_SUBJECT_MAX_BYTES)
    return RenderedSms(text, subject, "lms", size, part.advertising)


def _render(template: str, variables: dict[str, Any], *, link_fits: bool) -> tuple[Part, str, str]:
    """The rendered file, its body, and the text as sent (wrapped if advertising)."""
    part = render_file(f"sms/{template}.txt", {**variables, "link_fits": link_fits})
    body = tidy(part.body if part.body is not None else part.output).strip()
    if not body:
        raise TemplateProblem(f"sms/{template}.txt: renders an empty text")
    if not part.advertising:
        return part, body, body
    who = variables["sender"]
    return part, body, f"{AD_MARK}{who['name']}\n{body}\n무료수신거부 {who['opt_out_phone']}"
