"""The pipeline bench's load: the site's traffic posted to ``POST /v1/events``.

:class:`Mix` makes the events: page views of anonymous visitors and of known members,
and sign-ups (an anonymous visitor becomes a customer imported with e-mail consent) at
an exact share. :func:`offered` posts them at a fixed rate, open loop: post *k* leaves
at its due time whether or not earlier posts have been answered (up to ``inflight`` at
once; a post that had to wait for a free slot is counted late). :func:`closed` posts as
fast as the server answers (the baseline). A 5xx or a dropped connection is re-sent
(resending is safe: ``event_id`` is the idempotency key) and counted.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
from _common import check

PAGES = (
    "/",
    "/products/edu-care",
    "/products/health-plus",
    "/products/annuity-gold",
    "/products/term-life",
    "/contents/retirement-planning",
    "/contents/education-children",
    "/join",
)
MAX_RESENDS = 3
Event = dict[str, Any]


class Mix:
    """The site's events, ids prefixed with ``tag``; sign-ups take ``customers`` in order."""

    def __init__(self, tag: str, customers: list[str], signup_share: float, seed: int) -> None:
        self.tag = tag
        self.customers: Iterator[str] = iter(customers)
        self.share = signup_share
        self.rng = random.Random(seed)
        self.n = 0
        self.anonymous: list[str] = []
        self.members: list[tuple[str, str]] = []  # (visitor, customer)

    def _visitor(self) -> str:
        visitor = f"{self.tag}-v{self.n}"
        self.anonymous.append(visitor)
        return visitor

    def take(self, count: int, at: float) -> tuple[list[Event], list[str]]:
        """``count`` events occurring at ``at`` (epoch seconds); the customers signing up."""
        when = datetime.fromtimestamp(at, UTC).isoformat(timespec="microseconds")
        events: list[Event] = []
        signups: list[str] = []
        for _ in range(count):
            event = self._next(signups)
            event["occurred_at"] = when
            events.append(event)
        return events, signups

    def _next(self, signups: list[str]) -> Event:
        n, rng = self.n, self.rng
        self.n += 1
        event: Event = {"event_id": f"{self.tag}-{n}"}
        if int((n + 1) * self.share) > int(n * self.share):  # exactly share × events
            pool = self.anonymous
            visitor = pool.pop(rng.randrange(len(pool))) if pool else self._visitor()
            customer = next(self.customers)
            self.members.append((visitor, customer))
            signups.append(customer)
            return event | {"type": "signup", "visitor_id": visitor, "customer_id": customer}
        url = rng.choice(PAGES)
        roll = rng.random()
        if roll < 0.3 or not self.anonymous:
            event["visitor_id"] = self._visitor()
        elif roll < 0.8 or not self.members:
            event["visitor_id"] = rng.choice(self.anonymous[-300:])
        else:
            visitor, customer = rng.choice(self.members[-300:])
            event["visitor_id"] = visitor
            if rng.random() < 0.5:
                event["customer_id"] = customer
        if len(self.anonymous) > 3000:
            del self.anonymous[:1000]  # visitors who left
        return event | {"type": "page_view", "properties": {"url": url}}


@dataclass(slots=True)
class Load:
    """What one load run posted and what the server answered."""

    events: int = 0
    accepted: int = 0
    posts: int = 0
    first_post: float = 0.0  # epoch seconds
    last_answer: float = 0.0
    signup_at: dict[str, float] = field(default_factory=dict)  # customer → posted at
    answer_seconds: list[float] = field(default_factory=list)  # each POST's round trip
    late: list[float] = field(default_factory=list)  # how late each post left
    resent: Counter[int] = field(default_factory=Counter)  # status (0: no answer) → re-sends

    @property
    def seconds(self) -> float:
        return self.last_answer - self.first_post

    @property
    def accepted_rate(self) -> float:
        return self.accepted / self.seconds if self.seconds > 0 else 0.0


def _client(base: str, key: str, inflight: int) -> httpx.AsyncClient:
    headers = {"X-API-Key": key, "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=inflight, max_keepalive_connections=inflight)
    return httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=120)


async def _post(
    client: httpx.AsyncClient, events: list[Event], signups: list[str], at: float, load: Load
) -> None:
    """POST one batch (re-sent after a 5xx); note its sign-ups' post time and the answer."""
    body = orjson.dumps({"events": events})
    for customer in signups:
        load.signup_at[customer] = at
    status, text = 0, ""
    started = time.perf_counter()
    for _ in range(MAX_RESENDS + 1):
        try:
            response = await client.post("/v1/events", content=body)
        except httpx.TransportError as exc:
            status, text = 0, f"{type(exc).__name__}: {exc}"
        else:
            status, text = response.status_code, response.text
            if status < 500:
                break
        load.resent[status] += 1
    check(status == 202, f"POST /v1/events answered {status or 'no answer'}: {text[:300]}")
    load.answer_seconds.append(time.perf_counter() - started)
    load.accepted += int(orjson.loads(text)["accepted"])
    load.posts += 1
    load.last_answer = max(load.last_answer, time.time())


async def offered(
    base: str, key: str, mix: Mix, rate: float, seconds: float, per_post: int, inflight: int
) -> Load:
    """``rate × seconds`` events, ``per_post`` a POST, each POST leaving at its due time."""
    total = max(1, round(rate * seconds))
    load = Load(events=total)
    slots = asyncio.Semaphore(inflight)

    async def one(events: list[Event], signups: list[str], at: float) -> None:
        try:
            await _post(client, events, signups, at, load)
        finally:
            slots.release()

    async with _client(base, key, inflight) as client:
        tasks: list[asyncio.Task[None]] = []
        start, sent = time.perf_counter(), 0
        load.first_post = time.time()
        while sent < total:
            due = start + sent / rate
            if (wait := due - time.perf_counter()) > 0:
                await asyncio.sleep(wait)
            await slots.acquire()
            load.late.append(max(0.0, time.perf_counter() - due))
            at = time.time()
            events, signups = mix.take(min(per_post, total - sent), at)
            tasks.append(asyncio.create_task(one(events, signups, at)))
            sent += len(events)
        await asyncio.gather(*tasks)
    return load


async def closed(base: str, key: str, mix: Mix, total: int, per_post: int, inflight: int) -> Load:
    """``total`` events, ``per_post`` a POST, ``inflight`` POSTs at a time, as fast as
    the server answers."""
    load = Load(events=total)
    left = [total]

    async def poster(client: httpx.AsyncClient) -> None:
        while left[0] > 0:
            n = min(per_post, left[0])
            left[0] -= n
            at = time.time()
            events, signups = mix.take(n, at)
            await _post(client, events, signups, at, load)

    async with _client(base, key, inflight) as client:
        load.first_post = time.time()
        await asyncio.gather(*(poster(client) for _ in range(inflight)))
    return load
