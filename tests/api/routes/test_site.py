"""The site snippet and its demo page: served as they should be over HTTP, and in a real
browser the whole closed loop: visitor cookie, page view, slots filled, offer seen and
clicked with its token, then a sign-up credited to the offer."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from sqlmodel import col, select

from automation.api import keys
from automation.api.app import create_app
from automation.db import session_scope
from automation.demo.catalog import PRODUCTS
from automation.events.ingest import ingest
from automation.events.outbox import pending_events
from automation.models import Event, OfferCredit, Product, Scope
from automation.personalize import shelf, store, tokens
from automation.personalize.engine import in_holdout
from automation.worker.process import process_events
from tests.console.browser import Served, browser, open_page, serve, shot

__all__ = ["browser"]
T = TypeVar("T")


@pytest.fixture
def client(database: str) -> TestClient:
    return TestClient(create_app())


def test_site_js_is_served_as_a_script_of_our_own(client: TestClient) -> None:
    answer = client.get("/v1/site.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/javascript; charset=utf-8"
    assert answer.headers["cache-control"] == "public, max-age=300"
    text = answer.text
    assert len(answer.content) < 10_000  # a few KB
    assert re.findall(r"https?://", text) == [], "no URL of another host"
    for needed in ("ecrm_vid", "getRandomValues", "/v1/personalize", "/v1/events", "keepalive"):
        assert needed in text
    assert "innerHTML" not in text


def test_site_demo_includes_the_script_with_an_ingest_key(client: TestClient) -> None:
    answer = client.get("/site-demo")
    assert answer.status_code == 200
    assert "default-src 'self'" in answer.headers["content-security-policy"]
    found = re.search(r'<script src="/v1/site.js" data-key="([^"]+)" async>', answer.text)
    assert found is not None, answer.text[-500:]
    key = found.group(1)
    assert keys.check_key(key, Scope.INGEST) == "ingest"  # not admin
    assert [k.name for k in keys.list_keys()] == ["site-demo"]
    again = client.get("/site-demo")
    assert f'data-key="{key}"' in again.text  # reused, not a key per request
    assert len(keys.list_keys()) == 1


def test_site_demo_takes_a_key_and_a_customer_and_escapes_them(client: TestClient) -> None:
    answer = client.get("/site-demo", params={"key": "ak_ingest_given", "customer_id": 'C1"<x>'})
    assert answer.status_code == 200
    assert 'data-key="ak_ingest_given"' in answer.text
    assert 'data-customer-id="C1&#34;&lt;x&gt;"' in answer.text
    assert keys.list_keys() == []
    assert client.get("/site-demo", params={"key": 'k" onload="x'}).status_code == 422


@pytest.fixture
def site(postgres_database: str) -> Iterator[Served]:
    """The whole app under uvicorn on PostgreSQL, with the demo catalogue and the
    built-in offer rules published."""
    with session_scope() as session:
        for p in PRODUCTS:
            session.add(
                Product(
                    product_code=p.code,
                    name=p.name,
                    category=p.category,
                    content_tags=list(p.tags),
                    is_new=p.is_new,
                    md_pick=p.md_pick,
                )
            )
    store.publish_builtin()
    shelf.forget()  # an earlier test's catalogue is not this one's
    served = serve()
    try:
        yield served
    finally:
        served.stop()


def visitor_outside_holdout() -> str:
    """A cookie id that gets personalized content, not the holdout's default."""
    n = 0
    while in_holdout(f"v:testvisitor{n:04d}", 10):
        n += 1
    return f"testvisitor{n:04d}"


def eventually(what: str, find: Callable[[], T | None], timeout: float = 10.0) -> T:
    """Poll ``find()`` until it finds something (the page posts events as it goes)."""
    deadline = time.monotonic() + timeout
    while (found := find()) is None:
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f} s"
        time.sleep(0.1)
    return found


def stored(kind: str, visitor: str) -> list[Event]:
    with session_scope() as session:
        rows = session.exec(
            select(Event)
            .where(Event.type == kind, Event.visitor_id == visitor)
            .order_by(col(Event.id))
        ).all()
        for row in rows:
            session.expunge(row)
        return list(rows)


def test_site_demo_fills_the_slots_and_closes_the_loop(browser: Any, site: Served) -> None:
    visitor = visitor_outside_holdout()
    page, watch = open_page(browser, site)
    page.context.add_cookies([{"name": "ecrm_vid", "value": visitor, "url": site.url}])
    # The offer links to the insurer's /signup, which this server does not have.
    page.route("**/signup", lambda route: route.fulfill(body="<title>signup</title>ok"))
    page.goto("/site-demo")
    side = page.locator('[data-slot="side"][data-filled="true"]')
    side.wait_for()
    assert "회원가입" in side.inner_text()
    page.locator('[data-slot="hero"][data-filled="true"]').wait_for()
    page.locator('[data-slot="banner"][data-filled="true"]').wait_for()
    cookie = next(c for c in page.context.cookies() if c["name"] == "ecrm_vid")
    assert cookie["value"] == visitor and cookie["sameSite"] == "Lax"
    # Two years asked; Chromium keeps a cookie at most 400 days.
    assert cookie["expires"] > time.time() + 399 * 86400

    views = eventually("page_view", lambda: stored("page_view", visitor) or None)
    assert views[0].properties["url"] == "/site-demo"
    assert views[0].properties["title"].startswith("교보생명")
    seen = eventually("offer_viewed", lambda: stored("offer_viewed", visitor) or None)
    offers = [tokens.read(e.properties["token"]) for e in seen]
    assert len({e.properties["token"] for e in seen}) == len(seen)  # each item once
    signup = next(t for t in offers if t.key == "signup")
    assert (signup.rule, signup.slot, signup.holdout) == ("anonymous-signup", "side", False)
    assert signup.person == f"v:{visitor}"
    shot(page, "site-demo")

    side.locator("a", has_text="회원가입").click()
    page.wait_for_url("**/signup")
    clicks = eventually("offer_clicked", lambda: stored("offer_clicked", visitor) or None)
    assert tokens.read(clicks[0].properties["token"]).rule == "anonymous-signup"
    watch.check()

    event = {"event_id": "site-signup-1", "type": "signup", "visitor_id": visitor}
    assert ingest([event | {"customer_id": "C9"}]).results[0].status == "accepted"
    process_events(pending_events(0, limit=1000))
    with session_scope() as session:
        credits = session.exec(select(OfferCredit)).all()
        assert [(c.customer_id, c.rule, c.item, c.slot) for c in credits] == [
            ("C9", "anonymous-signup", "offer:signup", "side")
        ]
        assert credits[0].clicked_event_id == clicks[0].id
