"""Rendering an e-mail template: ``email/<name>.html`` and ``email/<name>.txt``.

Each part extends ``base.html`` / ``base.txt`` and defines the blocks ``subject`` and
``body``. For advertising the renderer (not the template) puts "(광고)" in front of the
subject; the layouts print the sender's details and the free ways to refuse, and
:func:`render_email` refuses a mail whose footer lost them. Links carry UTM tags, so
the web log credits the visit to the campaign; the context gains ``unsubscribe_url``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from automation.channels.jinja import TemplateProblem, check_name, render_file, tidy
from automation.channels.variables import AD_MARK, template_variables
from automation.tracking import tokens

FILES = (".html", ".txt")  # what a template needs, under email/


@dataclass(frozen=True)
class RenderedEmail:
    """An e-mail ready to be built into a MIME message."""

    subject: str
    html: str
    text: str
    advertising: bool


def render_email(template: str, context: dict[str, Any]) -> RenderedEmail:
    """Render ``email/<template>.html`` and ``.txt``.

    Parameters:
        template: the template name, as journeys name it.
        context: ``customer``, ``policy``, ``product``, ``message`` (see ``variables.py``).

    Returns:
        Subject (with "(광고)" for advertising), HTML, text and the advertising flag.

    Raises:
        TemplateProblem: missing part, render error, or a footer without the opt-out.
    """
    check_name(template)
    # UTM tags let the web log attribute the visit to this campaign (the closed loop).
    utm = {"utm_source": "automation", "utm_medium": "email", "utm_campaign": template}
    variables = template_variables(context, utm=utm)
    if "unsubscribe_url" not in variables:
        message = context.get("message") or {}
        if not isinstance(message.get("id"), int):
            raise TemplateProblem(f"email/{template}: the context has no message id")
        variables["unsubscribe_url"] = tokens.unsubscribe_url(message["id"])
    # Only the text's subject is used; the HTML's is rendered too, so a broken one fails
    # here (and at publish) as before. Neither body block is needed but in the output.
    text = render_file(f"email/{template}.txt", variables, blocks=("subject",))
    html = render_file(f"email/{template}.html", variables, blocks=("subject",))
    if text.advertising != html.advertising:
        raise TemplateProblem(f"email/{template}: .html and .txt disagree on advertising")
    if not text.subject or not text.subject.strip():
        raise TemplateProblem(f"email/{template}.txt: defines no subject block")
    subject = " ".join(text.subject.split())  # one line: a newline would break the header
    if text.advertising and not subject.startswith(AD_MARK):
        subject = f"{AD_MARK} {subject}"
    rendered = RenderedEmail(subject, html.output, tidy(text.output), text.advertising)
    _check_footer(template, rendered, variables)
    return rendered


def _check_footer(template: str, mail: RenderedEmail, variables: dict[str, Any]) -> None:
    # The law asks an advertisement for the sender and a free way to refuse; every mail
    # gets the unsubscribe link. A template that skipped the layout must not go out.
    needed = [variables["unsubscribe_url"]]
    if mail.advertising:
        needed += [variables["sender"]["name"], variables["sender"]["opt_out_phone"]]
    for part, body in (("html", mail.html), ("txt", mail.text)):
        lacking = [item for item in needed if item not in body]
        if lacking:
            raise TemplateProblem(
                f"email/{template}.{part}: the footer lacks {', '.join(lacking)} "
                f"(extend base.{part})"
            )
