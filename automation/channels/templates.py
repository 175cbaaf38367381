"""Rendering e-mail and SMS templates (Jinja2) into what the transports send.

Files live under ``TEMPLATES_DIR``: ``email/<name>.html`` and ``email/<name>.txt``
(each extends ``base.html`` / ``base.txt`` and defines the blocks ``subject`` and
``body``), and ``sms/<name>.txt`` (plain text, or blocks ``body`` and an optional
LMS ``subject``). Undefined variables are errors (``StrictUndefined``); only ``.html``
is autoescaped.

**Advertising (광고성 정보) is declared, never guessed.** Every template starts with
``{% set advertising = true %}`` or ``{% set advertising = false %}``; a template that
says neither is refused, so nobody sends an advertisement without its legal marks by
forgetting a line. For advertising, the renderer (not the template) puts "(광고)" in
front of the e-mail subject and around the SMS text (sender name first, the free 080
opt-out number last); the e-mail layouts print the sender's details and the free ways
to refuse, and :func:`render_email` refuses a mail whose footer lost them.

The context is a plain dict: ``customer`` (customer_id, name, email, mobile, ...),
``policy`` and ``product`` (dicts or None), ``message`` (id, key). The renderer adds
``sender``, ``site_url``, ``links`` (``home``, ``mypage``, ``products``, ``product``,
``policy``, ``consult``, ``contents``; a caller's ``links`` override them) and, for
e-mail, ``unsubscribe_url``. See :func:`sample_context` for the shape.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote, urlencode

import pendulum
from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
    select_autoescape,
)

from automation.channels.sms import (
    LMS_MAX_BYTES,
    LMS_SUBJECT_MAX_BYTES,
    SMS_MAX_BYTES,
    sms_size,
    truncate_bytes,
)
from automation.config import get_settings
from automation.errors import AutomationError
from automation.tracking import tokens

Channel = Literal["email", "sms"]

AD_MARK = "(광고)"
PARTS: dict[str, tuple[str, ...]] = {"email": (".html", ".txt"), "sms": (".txt",)}
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}", re.IGNORECASE)
_LAYOUTS = {"base"}


class TemplateProblem(AutomationError, ValueError):
    """A template is missing, does not render, or renders something unsendable."""


@dataclass(frozen=True)
class RenderedEmail:
    """An e-mail ready to be built into a MIME message."""

    subject: str
    html: str
    text: str
    advertising: bool


@dataclass(frozen=True)
class RenderedSms:
    """An SMS (≤ 90 bytes) or LMS (≤ 2,000 bytes, with a subject); ``size`` in bytes."""

    text: str
    subject: str | None
    kind: Literal["sms", "lms"]
    size: int
    advertising: bool


@dataclass(frozen=True)
class _Part:
    output: str
    subject: str | None
    body: str | None
    advertising: bool


def sender() -> dict[str, str]:
    """The sender's details the footers print (the ``SENDER_*`` settings)."""
    settings = get_settings()
    return {
        "name": settings.sender_name,
        "address": settings.sender_address,
        "phone": settings.sender_phone,
        "postal_address": settings.sender_postal_address,
        "opt_out_phone": settings.opt_out_phone,
    }


def site_url() -> str:
    """Base of the insurer's web site the templates link to (``SITE_URL`` or ``PUBLIC_URL``)."""
    settings = get_settings()
    return (settings.site_url or settings.public_url).rstrip("/")


def render_email(template: str, context: dict[str, Any]) -> RenderedEmail:
    """Render ``email/<template>.html`` and ``.txt``.

    Parameters:
        template: the template name, as journeys name it.
        context: ``customer``, ``policy``, ``product``, ``message`` (see the module).

    Returns:
        Subject (with "(광고)" for advertising), HTML, text and the advertising flag.

    Raises:
        TemplateProblem: missing part, render error, or a footer without the opt-out.
    """
    _check_name(template)
    variables = _variables("email", template, context)
    text = _render(f"email/{template}.txt", variables)
    html = _render(f"email/{template}.html", variables)
    if text.advertising != html.advertising:
        raise TemplateProblem(f"email/{template}: .html and .txt disagree on advertising")
    if not text.subject or not text.subject.strip():
        raise TemplateProblem(f"email/{template}.txt: defines no subject block")
    subject = " ".join(text.subject.split())  # one line: a newline would break the header
    if text.advertising and not subject.startswith(AD_MARK):
        subject = f"{AD_MARK} {subject}"
    rendered = RenderedEmail(subject, html.output, _tidy(text.output), text.advertising)
    _check_footer(template, rendered, variables)
    return rendered


def render_sms(template: str, context: dict[str, Any]) -> RenderedSms:
    """Render ``sms/<template>.txt``, wrap advertising, and size it in EUC-KR bytes.

    Advertising reads ``(광고)<sender>`` / the text / ``무료수신거부 <080 number>``.
    Size is counted in CP949 (the superset of EUC-KR Korean gateways use: every Hangul
    syllable 2 bytes); a character outside it (emoji) counts 2 bytes.

    Returns:
        ``sms`` up to 90 bytes, else ``lms`` with a subject (the ``subject`` block, or
        the text's first line), cut to 40 bytes.

    Raises:
        TemplateProblem: render error, empty text, or over 2,000 bytes.
    """
    _check_name(template)
    variables = _variables("sms", template, context)
    part = _render(f"sms/{template}.txt", variables)
    body = _tidy(part.body if part.body is not None else part.output).strip()
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


def sample_context(channel: str) -> dict[str, Any]:
    """A full context of the shape the delivery passes, for previews and checks."""
    return {
        "customer": {
            "customer_id": "C-0001",
            "name": "홍길동",
            "email": "gildong.hong@example.com",
            "mobile": "010-1234-5678",
            "gender": "M",
            "birth_date": "1985-03-14",
            "joined_at": "2024-11-22",
        },
        "policy": {
            "policy_id": "P-0001",
            "product_code": "EDU-CARE",
            "product_name": "교보 에듀케어 교육보험",
            "start_date": "2016-12-12",
            "maturity_date": "2026-12-12",
            "status": "active",
        },
        "product": {
            "product_code": "CHILD-CI",
            "name": "어린이 CI보험",
            "category": "insurance",
        },
        "message": {"id": 1, "key": f"sample:{channel}"},
    }


def check_template(channel: str, name: str) -> list[str]:
    """Problems that would stop ``name`` from being sent on ``channel``; empty if none.

    Renders with :func:`sample_context` and with a sparse one (no name, policy or
    product), so a template that only works for some customers fails at publish time.
    """
    if channel not in PARTS:
        return [f"unknown channel {channel!r}: email or sms"]
    try:
        _check_name(name)
    except TemplateProblem as exc:
        return [str(exc)]
    root = get_settings().templates_dir
    missing = [
        f"{channel}/{name}{ext}: missing"
        for ext in PARTS[channel]
        if not _exists(root, channel, name, ext)
    ]
    if missing:
        return missing
    render = render_email if channel == "email" else render_sms
    problems: list[str] = []
    for label, context in (
        ("", sample_context(channel)),
        (" for a customer with no name, policy or product", _sparse(channel)),
    ):
        try:
            render(name, context)
        except TemplateProblem as exc:
            if str(exc) not in problems:
                problems.append(f"{exc}{label}")
    return problems


def _exists(root: Path, channel: str, name: str, ext: str) -> bool:
    return (root / channel / f"{name}{ext}").is_file()


def _sparse(channel: str) -> dict[str, Any]:
    context = sample_context(channel)
    context["customer"]["name"] = None
    context["policy"] = None
    context["product"] = None
    return context


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name) or name in _LAYOUTS:
        raise TemplateProblem(f"{name!r} is not a template name (letters, digits, _ and -)")


def _variables(channel: Channel, template: str, context: dict[str, Any]) -> dict[str, Any]:
    variables = dict(context)
    # Only the template says whether it advertises; until it does, the layouts see None
    # and the renderer refuses the result with a message that says what to add.
    variables["advertising"] = None
    variables.setdefault("sender", sender())
    variables.setdefault("site_url", site_url())
    variables["links"] = {
        **_links(channel, template, variables),
        **(context.get("links") or {}),
    }
    if channel == "email" and "unsubscribe_url" not in variables:
        message = context.get("message") or {}
        if not isinstance(message.get("id"), int):
            raise TemplateProblem(f"email/{template}: the context has no message id")
        variables["unsubscribe_url"] = tokens.unsubscribe_url(message["id"])
    return variables


def _links(channel: Channel, template: str, variables: dict[str, Any]) -> dict[str, str]:
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
    if channel == "sms":
        return links  # every byte counts in an SMS; clicks are not tracked there anyway
    # UTM tags let the web log attribute the visit to this campaign (the closed loop).
    tags = urlencode({"utm_source": "automation", "utm_medium": channel, "utm_campaign": template})
    return {key: f"{url}?{tags}" for key, url in links.items()}


def _render(path: str, variables: dict[str, Any]) -> _Part:
    env = _environment(get_settings().templates_dir)
    try:
        template = env.get_template(path)
        context = template.new_context(variables)
        output = env.concat(template.root_render_func(context))  # what Template.render does
        subject = _block(context, "subject")
        body = _block(context, "body")
    except TemplateNotFound as exc:
        raise TemplateProblem(f"{path}: template {exc.name} not found") from None
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"{exc.name or path}:{exc.lineno}: {exc.message}") from None
    except TemplateProblem:
        raise
    except Exception as exc:  # anything a template expression raised, with its line
        raise TemplateProblem(f"{_where(exc.__traceback__, path)}: {exc}") from None
    advertising = context.vars.get("advertising")
    if not isinstance(advertising, bool):
        raise TemplateProblem(
            f"{path}: declare {{% set advertising = true %}} (광고성 정보) or false at the top"
        )
    return _Part(output, subject, body, advertising)


def _block(context: Any, name: str) -> str | None:
    stack = context.blocks.get(name)
    # The first entry is the most derived template's block (what the layout renders).
    return "".join(stack[0](context)) if stack else None


def _where(tb: TracebackType | None, default: str) -> str:
    # Jinja rewrites tracebacks so template frames carry the template's file and line.
    root = str(get_settings().templates_dir)
    where = default
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.startswith(root):
            where = f"{Path(filename).relative_to(root).as_posix()}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where


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


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"


def korean_date(value: date | datetime | str | None) -> str:
    """``2026-12-12`` → ``2026년 12월 12일`` (a time is read in the business zone)."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a naive datetime has no place in a message")
        value = pendulum.instance(value).in_tz(get_settings().timezone).date()
    elif isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.year}년 {value.month}월 {value.day}일"


# Final consonant (받침) of digits as read in Korean: 0 영, 1 일, 3 삼, 6 육, 7 칠, 8 팔.
_DIGIT_FINAL = {"0": 21, "1": 8, "2": 0, "3": 16, "4": 0, "5": 0, "6": 1, "7": 8, "8": 8, "9": 0}
_RIEUL = 8


def josa(word: object, pair: str) -> str:
    """``word`` with the particle that fits it: ``교보생명|josa("이/가")`` → ``교보생명이``.

    ``pair`` is "with final consonant/without" (이/가, 은/는, 을/를, 과/와, 으로/로).
    A word ending in a letter we cannot read gets both: ``ABC이(가)``.
    """
    text = str(word or "")
    with_final, _, without = pair.partition("/")
    last = text.rstrip()[-1:] or " "
    if "가" <= last <= "힣":
        final = (ord(last) - ord("가")) % 28
    elif last in _DIGIT_FINAL:
        final = _DIGIT_FINAL[last]
    else:
        return f"{text}{with_final}({without})"
    if with_final == "으로" and final == _RIEUL:
        return f"{text}{without}"  # ㄹ takes 로: 서울로, 1로
    return f"{text}{with_final if final else without}"


@functools.lru_cache(maxsize=4)
def _environment(root: Path) -> Environment:
    env = Environment(
        loader=FileSystemLoader(root),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=True,  # marketing ops edit templates without a restart
    )
    env.filters["kdate"] = korean_date
    env.filters["josa"] = josa
    return env
