"""The delivery bench's set-up and its baselines' payloads.

Customers are written with ``COPY``; their messages are made the way the engine makes
them: a published journey, one entry event per customer ingested
(``ingest(publish=False)``), processed by ``automation.worker.process.process_events``
in chunks of 100; the ``deliver_messages`` actor messages that processing enqueues
are taken off the stub broker as the actor would get them. Payloads for the bare
baselines are built afterwards by the engine's own functions, each step timed.
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson
from _common import PgBare, check

EMAIL, SMS = "email", "sms"
ENTRY = {EMAIL: "signup", SMS: "login"}  # welcome enters on signup; the SMS journey on login
SMS_TEMPLATE = "product_reminder"  # shipped: templates/sms/product_reminder.txt
SMS_JOURNEY = f"""journey: bench-sms
name: 벤치 SMS (delivery bench)
description: One SMS on a log-in, with a shipped template.
entry:
  on: login
  reentry: once
start: remind
states:
  remind:
    do:
      - sms: {SMS_TEMPLATE}
    after: {{wait: 3d, to: done}}
  done:
    end: true
"""
CUSTOMER_COLUMNS = (
    *("customer_id", "name", "email", "mobile", "birth_date"),
    *("email_consent", "sms_consent", "call_consent", "ad_consent", "ad_consent_at"),
    *("night_consent", "locale", "timezone", "lifecycle_stage", "value_tier"),
    *("activity_status", "joined_at", "attributes", "created_at", "updated_at"),
)
PRODUCT_COLUMNS = (
    *("product_code", "name", "category", "content_tags", "is_new", "md_pick"),
    *("attributes", "updated_at"),
)
INGEST_BATCH = 1000


def customer_ids(channel: str, n: int) -> list[str]:
    return [f"{channel[0].upper()}{i:07d}" for i in range(n)]


def insert_world(bare: PgBare, n: int) -> None:
    """The demo's products and ``n`` consenting customers per channel, by ``COPY``."""
    from automation.demo.catalog import PRODUCTS, korean_name

    now, rng = datetime.now(UTC), random.Random(7)
    products = (
        (p.code, p.name, p.category, orjson.dumps(list(p.tags)).decode(), p.is_new, p.md_pick)
        for p in PRODUCTS
    )
    rows = []
    for channel in (EMAIL, SMS):
        by_mail = channel == EMAIL
        for i, cid in enumerate(customer_ids(channel, n)):
            consents = (by_mail, not by_mail, False, True, now, True)  # night: SMS by day or not
            born = date(1980 + i % 20, 1 + i % 12, 1 + i % 28)
            who = (cid, korean_name(rng), f"{cid.lower()}@example.kr", f"010{i:08d}", born)
            fixed = ("ko-KR", "Asia/Seoul", "member", "regular", "active", now, "{}", now, now)
            rows.append((*who, *consents, *fixed))
    with bare.transaction():
        bare.copy("products", PRODUCT_COLUMNS, ((*p, "{}", now) for p in products))
        bare.copy("customers", CUSTOMER_COLUMNS, rows)


def publish_journeys() -> None:
    """The shipped welcome journey (one e-mail on sign-up) and the bench's SMS journey."""
    from automation.journeys.registry import builtin_files, publish_files

    welcome = [p for p in builtin_files() if p.name == "welcome.yaml"]
    check(len(welcome) == 1, "no shipped welcome.yaml")
    with tempfile.TemporaryDirectory(prefix="bench-delivery-") as folder:
        path = Path(folder) / "bench-sms.yaml"
        path.write_text(SMS_JOURNEY, encoding="utf-8")
        publish_files([*welcome, path])


def queue_messages(channel: str, n: int) -> list[list[int]]:
    """Ingest one entry event per customer, process them in chunks as a worker does,
    and return the ``deliver_messages`` batches processing enqueued (in order)."""
    from dramatiq import Message as ActorMessage

    from automation.broker import get_broker
    from automation.broker.enqueue import CHUNK, MESSAGES_QUEUE
    from automation.events.ingest import ingest
    from automation.worker.process import process_events

    at = datetime.now(UTC).isoformat(timespec="milliseconds")
    events = [
        {"event_id": f"bench-{channel}-{cid}", "type": ENTRY[channel], "customer_id": cid}
        | {"occurred_at": at, "properties": {}}
        for cid in customer_ids(channel, n)
    ]
    stored: list[int] = []
    for i in range(0, n, INGEST_BATCH):
        stored += ingest(events[i : i + INGEST_BATCH], source="bench", publish=False).stored_ids
    check(len(stored) == n, f"{channel}: ingest stored {len(stored)} of {n} events")
    for i in range(0, n, CHUNK):
        process_events(stored[i : i + CHUNK])
    queue = get_broker().queues.get(MESSAGES_QUEUE)  # type: ignore[attr-defined]
    batches: list[list[int]] = []
    while queue is not None and not queue.empty():
        batches.append(list(ActorMessage.decode(queue.get_nowait()).args[0]))
        queue.task_done()
    check(sum(map(len, batches)) == n, f"{channel}: {sum(map(len, batches))} messages of {n}")
    return batches


def drain_events_queue() -> int:
    """Drop the ``process_events`` messages ingest published (nothing consumes them)."""
    from automation.broker import get_broker
    from automation.broker.enqueue import EVENTS_QUEUE

    queue = get_broker().queues.get(EVENTS_QUEUE)  # type: ignore[attr-defined]
    dropped = 0
    while queue is not None and not queue.empty():
        queue.get_nowait()
        queue.task_done()
        dropped += 1
    return dropped


@dataclass(slots=True)
class Steps:
    """Seconds spent in each step of building the payloads, and how many were built."""

    seconds: dict[str, float] = field(default_factory=dict)
    count: int = 0

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def ms(self, name: str) -> float:
        return 1000 * self.seconds.get(name, 0.0) / max(self.count, 1)


def email_payloads(message_ids: list[int]) -> tuple[list[tuple[str, list[str], bytes]], Steps]:
    """The envelopes and bytes the engine sends for these messages, built by its own
    functions (context, render, MIME, serialisation), each step timed."""
    from automation.channels.email import build_email
    from automation.channels.email_template import render_email
    from automation.channels.smtp import _envelope

    steps, out = Steps(), []
    for row, customer, session in _rows(message_ids):
        with steps.step("context"):
            context = _context(session, row, customer)
        with steps.step("render"):
            rendered = render_email(row.template, context)
        with steps.step("mime"):
            mail = build_email(rendered, to=customer.email, message_id=row.id, message_key=row.key)
        with steps.step("bytes"):
            out.append(_envelope(mail))
        steps.count += 1
    return out, steps


def sms_payloads(message_ids: list[int]) -> tuple[list[bytes], Steps]:
    """The JSON bodies ``HttpGateway.send`` posts for these messages, steps timed."""
    from automation.channels.sms import OutgoingSms, callback_url, sender_number
    from automation.channels.sms_template import render_sms

    steps, out = Steps(), []
    for row, customer, session in _rows(message_ids):
        with steps.step("context"):
            context = _context(session, row, customer)
        with steps.step("render"):
            rendered = render_sms(row.template, context)
        with steps.step("bytes"):
            sms = OutgoingSms.of(rendered, to=customer.mobile, message_key=row.key)
            payload = {"to": sms.to, "from": sender_number(), "text": sms.text}
            payload |= {"subject": sms.subject, "kind": sms.kind, "message_key": sms.message_key}
            out.append(orjson.dumps(payload | {"callback_url": callback_url()}))
        steps.count += 1
    return out, steps


@dataclass(slots=True)
class _Row:
    id: int
    key: str
    template: str
    model: Any


def _rows(message_ids: list[int]) -> Iterator[tuple[_Row, Any, Any]]:
    """(message, customer, session) per id, in one session."""
    from sqlmodel import col, select

    from automation.db import session_scope
    from automation.models import Customer, Message

    with session_scope() as session:
        messages = {
            m.id: m for m in session.exec(select(Message).where(col(Message.id).in_(message_ids)))
        }
        wanted = [m.customer_id for m in messages.values()]
        customers = {
            c.customer_id: c
            for c in session.exec(select(Customer).where(col(Customer.customer_id).in_(wanted)))
        }
        for message_id in message_ids:
            m = messages[message_id]
            row = _Row(m.id, m.idempotency_key, m.template or "", m)  # type: ignore[arg-type]
            yield row, customers[m.customer_id], session


def _context(session: Any, message: _Row, customer: Any) -> dict[str, Any]:
    from automation.delivery.content import template_context

    return template_context(session, message.model, customer)


def expected_keys(channel: str, message_ids: list[int]) -> list[str]:
    """What the sink should see once each: e-mail ``Message-ID`` headers, SMS keys."""
    from sqlmodel import col, select

    from automation.channels.email import message_id_header
    from automation.config import get_settings
    from automation.db import session_scope
    from automation.models import Message

    with session_scope() as session:
        keys = list(
            session.exec(select(Message.idempotency_key).where(col(Message.id).in_(message_ids)))
        )
    if channel == SMS:
        return keys
    sender = get_settings().sender_address
    return [message_id_header(key, sender) for key in keys]
