"""How the synthetic customers answer what the engine sent them.

Each sent e-mail is read from the sink; whether its customer opens it, clicks, buys
or unsubscribes depends on how well the offer fits them (``Person.fit``): the product
its links lead to, or for a retention offer the maturing policy's product. Answers
are planned on the agenda at realistic delays and carried out through the tracking
routes when the clock gets there. An SMS may get a reply (the gateway reports it as
``sms_replied``) or an opt-out through the free 080 number. A company mail gateway
fetches every link of the mail it lets through: those fetches are scanner traffic
that the tracking routes must tell apart. Asked to re-confirm their advertising
consent, most customers who read the mail answer on the consent page: most keep it,
some withdraw SMS or everything.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from sqlmodel import col, select

from automation import clock
from automation.db import session_scope
from automation.demo.errors import DemoError
from automation.demo.mailbox import Link, Mail, read_mail, read_sms, sent_file
from automation.demo.people import Person
from automation.demo.web import event
from automation.demo.world import World
from automation.models import Message, MessageStatus

OPEN = (0.22, 0.30)  # chance of opening: base + fit ×
CLICK = (0.10, 0.40)  # of openers with an offer to click
CLICK_PLAIN = 0.08  # of openers of a mail without an offer (greetings, welcome)
BUY_AFTER_CLICK = (0.04, 0.22)
RENEW_AFTER_CLICK = (0.22, 0.33)
UNSUBSCRIBE = (0.004, 0.02)  # of openers: base + misfit ×
SMS_REPLY = (0.02, 0.10)
SMS_OPT_OUT = 0.008
SMS_FAILED = 0.015
BUY_AFTER_REPLY = (0.12, 0.25)
SCANNER = "Mimecast Security Gateway/5.0 (link-checker)"
CONSENT_ANSWER = 0.6  # of re-confirmation mails: the customer answers on the page
CONSENT_WITHDRAW_SMS = 0.12  # of answers: keeps e-mail, withdraws SMS
CONSENT_WITHDRAW_ALL = 0.05  # of answers: withdraws every channel
_CHECKED = re.compile(r'name="(\w+)" value="(yes|no)" checked')
_BASIS = re.compile(r'name="basis" value="([0-9a-f]+)"')
_CONSENT_LINK = re.compile(r"/consent/[A-Za-z0-9_.\-]+")
CONSENT_TEMPLATES = ("consent_reconfirm", "consent_result")


@dataclass(frozen=True, slots=True)
class Offer:
    """What a message puts in front of its customer."""

    product: str | None  # a product code (link or recommendation)
    policy_id: str | None  # a maturing policy (retention)


def answer_sent(world: World, since: datetime, until: datetime) -> int:
    """Plan the answers to every message sent in ``(since, until]``; returns how many."""
    with session_scope() as session:
        sent = list(
            session.exec(
                select(Message)
                .where(
                    Message.status == MessageStatus.SENT.value,
                    col(Message.sent_at) > since,
                    col(Message.sent_at) <= until,
                )
                .order_by(col(Message.id))
            )
        )
    reports = []
    for message in sent:
        person = world.person(message.customer_id)
        path = sent_file(message.provider_id)
        if person is None or path is None:
            continue  # calls: the agent works them from the queue
        if message.channel == "email" and message.template in CONSENT_TEMPLATES:
            _answer_consent_mail(world, message, path)
        elif message.channel == "email":
            _answer_email(world, message, person, read_mail(path))
        elif message.channel == "sms":
            reports.append(_answer_sms(world, message, person, read_sms(path)))
    if reports:  # the carrier's delivery reports come in batches
        _carrier(world, reports)
    return len(sent)


def _answer_email(world: World, m: Message, person: Person, mail: Mail) -> None:
    rng, now = world.rng, clock.now()
    offer = _offer(world, m, mail)
    fit = _fit(world, person, offer)
    if m.customer_id in world.work_mail:
        world.agenda.add(now + timedelta(seconds=3), lambda: _scan(world, mail))
    if mail.pixel is None or rng.random() >= OPEN[0] + OPEN[1] * fit:
        return
    opened = now + timedelta(minutes=3 + rng.expovariate(1 / 300))
    world.agenda.add(opened, lambda: _open(world, mail))
    if mail.unsubscribe and rng.random() < UNSUBSCRIBE[0] + UNSUBSCRIBE[1] * (1 - fit):
        path = mail.unsubscribe
        world.agenda.add(opened + timedelta(seconds=40), lambda: _unsubscribe(world, path))
        return
    link = _chosen_link(mail, offer)
    chance = CLICK[0] + CLICK[1] * fit if offer.product or offer.policy_id else CLICK_PLAIN
    if link is None or rng.random() >= chance:
        return
    clicked = opened + timedelta(seconds=rng.randint(15, 300))
    world.agenda.add(clicked, lambda: _click(world, person, link))
    _plan_purchase(world, m, person, offer, fit, clicked, RENEW_AFTER_CLICK, BUY_AFTER_CLICK)


def _answer_sms(world: World, m: Message, person: Person, sms: dict[str, Any]) -> dict[str, Any]:
    """Plan the customer's answer to an SMS; returns the carrier's delivery report."""
    rng = world.rng
    key = str(sms["message_key"])
    assert m.sent_at is not None
    report = {"message_key": key, "at": (m.sent_at + timedelta(seconds=20)).isoformat()}
    if rng.random() < SMS_FAILED:  # the carrier refuses (a number no longer in service)
        return report | {"status": "failed"}
    offer = _offer(world, m, None)
    fit = _fit(world, person, offer)
    now = clock.now()
    if rng.random() < SMS_OPT_OUT:
        at = now + timedelta(minutes=rng.randint(2, 120))
        world.agenda.add(at, lambda: _sms_opt_out(world, m, person))
    elif rng.random() < SMS_REPLY[0] + SMS_REPLY[1] * fit:
        replied = now + timedelta(minutes=2 + rng.expovariate(1 / 90))
        reply = {"message_key": key, "reply": "상담 받고 싶어요"}
        world.agenda.add(replied, lambda: _carrier(world, [reply]))
        _plan_purchase(world, m, person, offer, fit, replied, BUY_AFTER_REPLY, BUY_AFTER_REPLY)
    return report | {"status": "delivered"}


def _plan_purchase(
    world: World,
    m: Message,
    person: Person,
    offer: Offer,
    fit: float,
    after: datetime,
    renew: tuple[float, float],
    buy: tuple[float, float],
) -> None:
    """After an engaged answer, maybe a renewal (retention) or a purchase of the offer."""
    rng = world.rng
    at = after + timedelta(hours=rng.uniform(0.5, 96))
    if offer.policy_id and rng.random() < renew[0] + renew[1] * fit:
        policy_id = offer.policy_id
        world.agenda.add(at, lambda: renew_policy(world, person, policy_id, f"m{m.id}"))
    elif offer.product and rng.random() < buy[0] + buy[1] * person.fit(offer.product):
        code = offer.product
        world.agenda.add(at, lambda: buy_product(world, person, code, f"m{m.id}", m.channel))


def _offer(world: World, m: Message, mail: Mail | None) -> Offer:
    policy_id = m.payload.get("policy_id")
    product = None
    for link in mail.links if mail else ():
        code = _product_of(link.target)
        if code:
            product = code
            break
    if product and m.enrollment_id is not None:
        world.offers[m.enrollment_id] = product  # the SMS that follows names no product
    elif product is None and m.enrollment_id is not None:
        product = world.offers.get(m.enrollment_id)
    return Offer(product, str(policy_id) if policy_id else None)


def _fit(world: World, person: Person, offer: Offer) -> float:
    if offer.policy_id:
        # A maturing policy is renewed by whom it still suits; a good cross-sell helps.
        held = person.fit(world.policy_products.get(offer.policy_id))
        return max(held, person.fit(offer.product) if offer.product else 0.0)
    return person.fit(offer.product)


def _chosen_link(mail: Mail, offer: Offer) -> Link | None:
    """The link a customer follows: the offered product, else a consultation, else any."""
    for wanted in (f"/products/{offer.product}" if offer.product else None, "/consultation"):
        for link in mail.links:
            if wanted and wanted in link.target:
                return link
    return mail.links[0] if mail.links else None


def _product_of(url: str) -> str | None:
    path = url.split("?", 1)[0]
    if "/products/" not in path:
        return None
    return path.rsplit("/", 1)[1] or None


def _answer_consent_mail(world: World, m: Message, path: Path) -> None:
    """A consent mail is read, not clicked through to the site: the re-confirmation is
    answered on the consent page through the link in its text (or not at all); the
    result notice is only read."""
    rng, now = world.rng, clock.now()
    if m.template != "consent_reconfirm" or rng.random() >= CONSENT_ANSWER:
        return
    mail = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    text = mail.get_body(("plain",))
    found = _CONSENT_LINK.search(str(text.get_content()) if text is not None else "")
    if found is None:
        raise DemoError(f"the re-confirmation mail {m.id} has no consent link")
    draw = rng.random()
    withdraw = (
        ("email", "sms", "call")
        if draw < CONSENT_WITHDRAW_ALL
        else ("sms",)
        if draw < CONSENT_WITHDRAW_ALL + CONSENT_WITHDRAW_SMS
        else ()
    )
    at = now + timedelta(minutes=5 + rng.expovariate(1 / 600))
    link = found.group(0)
    world.agenda.add(at, lambda: _answer_consent(world, link, withdraw))


# --- carried out when the clock gets there ---------------------------------------------


def _answer_consent(world: World, link: str, withdraw: tuple[str, ...]) -> None:
    """Open the consent page and post its form: every consent as shown, except those
    in ``withdraw``."""
    page = world.get(link)
    if page.status_code != 200:
        raise DemoError(f"GET the consent page answered {page.status_code}: {page.text[:200]}")
    basis = _BASIS.search(page.text)
    if basis is None:
        raise DemoError("the consent page has no form")
    form = {
        kind: "no" if kind in withdraw else shown for kind, shown in _CHECKED.findall(page.text)
    }
    posted = world.client.post(link, data=form | {"basis": basis.group(1)})
    if posted.status_code != 200:
        raise DemoError(f"POST the consent page answered {posted.status_code}")
    world.did["consent_withdrawn" if withdraw else "consent_kept"] += 1


def _open(world: World, mail: Mail) -> None:
    assert mail.pixel is not None
    world.get(mail.pixel)
    world.did["email_opened"] += 1


def _click(world: World, person: Person, link: Link) -> None:
    answer = world.get(link.path)
    assert answer.status_code == 302, answer.text
    world.did["email_clicked"] += 1
    # The browser lands on the site: a page view that arrives from the campaign.
    url = answer.headers["location"]
    tags = dict(parse_qsl(urlsplit(url).query))
    props: dict[str, Any] = {"url": urlsplit(url).path or "/"}
    props |= {k: v for k, v in tags.items() if k.startswith("utm_")}
    code = _product_of(url)
    type_ = "product_view" if code else "page_view"
    if code:
        props["product"] = code
    at = clock.now() + timedelta(seconds=2)
    key = f"web:{person.visitor_id}:{at:%Y%m%d%H%M%S}:landing"
    if person.dormant:
        person.dormant = False  # the mail brought them back: they browse again
        world.did["came_back"] += 1
    world.send_events([event(key, type_, at, person, props) | _known(person)])


def _scan(world: World, mail: Mail) -> None:
    for path in ([mail.pixel] if mail.pixel else []) + [link.path for link in mail.links]:
        world.get(path, agent=SCANNER)
    world.did["scanned"] += 1


def _unsubscribe(world: World, path: str) -> None:
    answer = world.client.post(path, content=b"List-Unsubscribe=One-Click")
    assert answer.status_code == 200, answer.text
    world.did["unsubscribed"] += 1


def _carrier(world: World, reports: list[dict[str, Any]]) -> None:
    """The SMS carrier's reports through the gateway's callback: delivered, failed, or the
    customer's reply."""
    for report in reports:
        report.setdefault("at", clock.now().isoformat())
    answer = world.client.post(
        "/v1/sms/callback", json={"reports": reports}, headers={"X-API-Key": world.ingest_key}
    )
    if answer.status_code != 202:
        raise DemoError(f"POST /v1/sms/callback answered {answer.status_code}: {answer.text}")
    for report in reports:
        world.did["sms_replied" if "reply" in report else f"sms_{report['status']}"] += 1


def _sms_opt_out(world: World, m: Message, person: Person) -> None:
    props = {"message_id": m.id, "channel": "sms", "method": "080"}
    world.send_events([_event(f"sms-optout:{m.id}", "unsubscribed", person, props)])
    world.did["unsubscribed_sms"] += 1


def renew_policy(world: World, person: Person, policy_id: str, why: str) -> None:
    """The customer renews a maturing policy (once, before it matures) for ten more years."""
    matures = world.maturities.get(policy_id)
    too_late = matures is not None and clock.local().date() >= matures
    if policy_id in world.renewed or person.customer_id is None or too_late:
        return
    world.renewed.add(policy_id)
    maturity = (clock.now() + timedelta(days=3650)).date().isoformat()
    props = {"policy_id": policy_id, "maturity_date": maturity, "why": why}
    world.send_events([_event(f"renew:{policy_id}", "policy_renewed", person, props)])


def buy_product(world: World, person: Person, code: str, why: str, channel: str) -> None:
    """The customer buys ``code`` (a new policy)."""
    if person.customer_id is None:
        return
    policy_id = f"P-{person.customer_id}-{why}"
    if policy_id in person.policies:
        return
    person.policies.append(policy_id)
    props = {"policy_id": policy_id, "product": code, "premium": 60_000, "channel": channel}
    world.send_events([_event(f"buy:{policy_id}", "policy_purchased", person, props)])


def _event(key: str, type_: str, person: Person, props: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": f"demo:{key}",
        "type": type_,
        "occurred_at": clock.now().isoformat(),
        "customer_id": person.customer_id,
        "properties": props,
    }


def _known(person: Person) -> dict[str, Any]:
    # The tracked link identifies the customer, so the site knows who landed.
    return {"customer_id": person.customer_id} if person.customer_id else {}
