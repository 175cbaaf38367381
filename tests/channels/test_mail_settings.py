"""The settings a mail's reader meets: where a reply goes (``REPLY_TO``) and which site
the links open (``SITE_URL``; never the engine's own ``PUBLIC_URL``)."""

from __future__ import annotations

import email
import email.policy
import html
import re
from email.message import EmailMessage

import pytest

from automation.channels.email import build_email
from automation.channels.email_template import render_email
from automation.channels.templates import sample_context
from automation.config import get_settings, reset_settings
from automation.errors import ConfigError
from automation.tracking import tokens

PUBLIC = "https://crm.example.com"


def _mail(template: str = "welcome", message_id: int = 5) -> EmailMessage:
    """The mail as a reader's client parses it from the bytes sent."""
    context = sample_context("email")
    context["message"] = {"id": message_id, "key": f"k:{message_id}"}
    built = build_email(
        render_email(template, context),
        to="gildong.hong@example.com",
        message_id=message_id,
        message_key=f"k:{message_id}",
    )
    parsed = email.message_from_bytes(built.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _body(msg: EmailMessage, kind: str) -> str:
    part = msg.get_body((kind,))
    assert part is not None
    return str(part.get_content())


def _targets(msg: EmailMessage) -> list[str]:
    """Where the HTML's tracked links lead."""
    found = []
    for href in re.findall(r'href="([^"]+)"', _body(msg, "html")):
        href = html.unescape(href)
        if "/t/c/" in href:
            found.append(tokens.read_token(href.rsplit("/", 1)[1], "click").url or "")
    return found


def test_a_reply_goes_to_the_sender_by_default() -> None:
    msg = _mail()
    [address] = msg["Reply-To"].addresses
    assert (address.display_name, address.addr_spec) == ("교보생명", "ecrm@example.com")
    assert "이 메일에 회신하시거나" in _body(msg, "plain")


def test_reply_to_sends_answers_to_a_reachable_contact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOMATION_REPLY_TO", "help@kyobo.example.kr")
    reset_settings()
    msg = _mail("product_recommendation")
    assert msg["Reply-To"].addresses[0].addr_spec == "help@kyobo.example.kr"
    assert msg["From"].addresses[0].addr_spec == "ecrm@example.com"  # the sender stays
    for kind in ("plain", "html"):
        assert "help@kyobo.example.kr" in _body(msg, kind)  # the footer names it too


@pytest.mark.parametrize("bad", ["help", "help@", "도움@example.com", "a@b.com\r\nBcc: x@y.z"])
def test_a_reply_to_that_is_no_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv("AUTOMATION_REPLY_TO", bad)
    reset_settings()
    with pytest.raises(ConfigError, match="REPLY_TO: must be an e-mail address"):
        get_settings()


def test_the_embedded_default_links_to_a_placeholder_site_not_to_the_engine() -> None:
    msg = _mail("product_recommendation")
    targets = _targets(msg)
    assert targets
    assert all(t.startswith("https://www.example.com/") for t in targets), targets
    default_public = get_settings().public_url
    assert not [t for t in targets if t.startswith(default_public)]
    assert "https://www.example.com/consultation?" in _body(msg, "plain")


def test_site_url_is_where_the_links_lead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOMATION_PUBLIC_URL", PUBLIC)
    monkeypatch.setenv("AUTOMATION_SITE_URL", "https://www.kyobo.example.kr/")
    reset_settings()
    msg = _mail("cross_sell")
    targets = _targets(msg)
    assert "https://www.kyobo.example.kr/products/CHILD-CI?utm_source=automation" in " ".join(
        targets
    )
    assert all(t.startswith("https://www.kyobo.example.kr/") for t in targets), targets
    # The tracking still goes through the engine.
    assert f'href="{PUBLIC}/t/c/' in _body(msg, "html")


@pytest.mark.parametrize(
    ("variable", "value"),
    [("AUTOMATION_SITE_URL", "www.kyobo.co.kr"), ("AUTOMATION_PUBLIC_URL", "ftp://crm")],
)
def test_a_web_address_without_http_is_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    reset_settings()
    setting = variable.removeprefix("AUTOMATION_")
    with pytest.raises(ConfigError, match=f"{setting}: must be an http"):
        get_settings()
