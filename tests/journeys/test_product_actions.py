"""Product-aware actions: ``email: {template: cross_sell, product: EDU-CARE}`` (or a rule,
``best_for_customer``, ``md_pick``) validated at publish against the catalogue with
``FILE:LINE`` errors, the product fixed in the message when it is decided, and the
delivered mail naming it and linking to its page (SQLite and PostgreSQL, real SMTP)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from automation import clock
from automation.config import get_settings
from automation.db import session_scope
from automation.delivery.content import template_context
from automation.delivery.deliver import deliver
from automation.journeys.bulk import enter_matching
from automation.journeys.registry import publish_files
from automation.journeys.spec import SpecError, load_file, load_text
from automation.models import Customer, Message, Policy, Product
from automation.tracking.tokens import read_token
from tests.journey_world import World
from tests.peers import Mailbox, smtp_server_running

PRODUCTS = [
    ("EDU-CARE", "교보 에듀케어 교육보험", "insurance", True),
    ("CHILD-CI", "어린이 CI보험", "insurance", False),
    ("PENSION-SAVINGS", "연금저축보험", "insurance", True),
    ("HEALTH-PLUS", "건강보험 플러스", "insurance", False),
]


def _journey(action: str, journey: str = "product-test") -> str:
    return (
        f"journey: {journey}\n"
        "name: product test\n"
        "entry: {on: test_go}\n"
        "start: offer\n"
        "states:\n"
        "  offer:\n"
        "    do:\n"
        f"      - {action}\n"
        "    after: {wait: 1d, to: done}\n"
        "  done:\n"
        "    end: true\n"
    )


def _catalogue() -> None:
    with session_scope() as s:
        for code, name, category, pick in PRODUCTS:
            s.add(Product(product_code=code, name=name, category=category, md_pick=pick))


def _prefers(*codes: str) -> dict[str, Any]:
    """Attributes as the preferences step keeps them: ``codes`` most preferred first."""
    at = clock.now().isoformat()
    scores = {code: {"score": 10.0 - i, "at": at} for i, code in enumerate(codes)}
    return {"preferences": {"product": scores}}


def _publish(tmp_path: Path, action: str) -> None:
    path = tmp_path / "product-test.yaml"
    path.write_text(_journey(action), encoding="utf-8")
    publish_files([path])


def _messages(customer_id: str = "C1") -> list[Message]:
    with session_scope() as s:
        q = select(Message).where(Message.customer_id == customer_id, Message.journey_id != None)  # noqa: E711
        return list(s.exec(q.order_by(col(Message.id))))


@pytest.fixture
def mailbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Mailbox]:
    with smtp_server_running(monkeypatch) as box:
        yield box


# --- the file format ---------------------------------------------------------------------


def test_a_product_code_or_rule_is_read_and_a_bad_one_is_refused_with_its_line() -> None:
    spec = load_text(_journey("email: {template: cross_sell, product: best_for_customer}"))
    [action] = spec.states["offer"].actions
    assert action.args == {"template": "cross_sell", "product": "best_for_customer"}
    assert spec.templates() == [("email", "cross_sell")]
    with pytest.raises(SpecError) as refused:
        load_text(_journey("sms: {template: product_reminder, product: [A, B], ad: 1}"), "j.yaml")
    assert refused.value.problems == [
        "j.yaml:8: unknown key 'ad' (expected one of product, template)",
        "j.yaml:8: product is a product code or one of best_for_customer, md_pick",
    ]
    with pytest.raises(SpecError) as refused:
        load_text(_journey("email: {product: EDU-CARE}"), "j.yaml")
    assert refused.value.problems == [
        "j.yaml:8: email needs a template: {template: name, product: P}"
    ]


def test_an_unknown_product_code_is_refused_at_validate_with_file_and_line(
    database: str, tmp_path: Path
) -> None:
    _catalogue()
    path = tmp_path / "offer.yaml"
    text = _journey("email: {template: cross_sell, product: EDU-CARE}").replace(
        "    after:", "      - sms: {template: product_reminder, product: EDU-CAER}\n    after:"
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as refused:
        load_file(path)
    assert refused.value.problems == [
        f"{path}:9: product 'EDU-CAER' is not in the catalogue (products); or use best_for_customer"
    ]
    path.write_text(text.replace("EDU-CAER", "CHILD-CI"), encoding="utf-8")
    assert load_file(path).journey_id == "product-test"  # known codes validate


def test_with_an_empty_catalogue_a_code_cannot_be_checked_and_is_accepted(database: str) -> None:
    # A fresh install publishes its journeys before it imports its products.
    spec = load_text(_journey("email: {template: cross_sell, product: EDU-CARE}"))
    assert spec.products() == [(("states", "offer", "do", 0, "email", "product"), "EDU-CARE")]


# --- deciding and delivering -------------------------------------------------------------


def test_a_named_product_is_in_the_delivered_mail_with_its_link(
    database: str, mailbox: Mailbox, tmp_path: Path
) -> None:
    world = World(builtin=False)
    _catalogue()
    world.customer("C1", attributes=_prefers("CHILD-CI"))
    _publish(tmp_path, "email: {template: cross_sell, product: EDU-CARE}")
    world.send("test_go", "C1")
    [message] = _messages()
    assert message.payload["product_code"] == "EDU-CARE"
    assert message.payload["product_rule"] == "named"
    assert deliver(message.id).status == "sent"  # type: ignore[arg-type]
    [mail] = mailbox.received
    page = f"{get_settings().site.rstrip('/')}/products/EDU-CARE"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "교보 에듀케어 교육보험 자세히 보기" in text and page in text
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "교보 에듀케어 교육보험" in html and "어린이 CI보험" not in html
    targets = [read_token(t, "click").url for t in re.findall(r"/t/c/([\w.-]+)", html)]
    # The button is click-tracked and leads to EDU-CARE's page (with the mail's UTM tags).
    assert any(url.startswith(f"{page}?utm_source=") for url in targets), targets


def test_best_for_customer_is_the_preferred_product_not_held(database: str, tmp_path: Path) -> None:
    world = World(builtin=False)
    _catalogue()
    world.customer("C1", attributes=_prefers("EDU-CARE", "HEALTH-PLUS", "CHILD-CI"))
    with session_scope() as s:
        s.add(Policy(policy_id="P1", customer_id="C1", product_code="EDU-CARE"))
    _publish(tmp_path, "email: {template: product_recommendation, product: best_for_customer}")
    world.send("test_go", "C1")
    [message] = _messages()
    assert (message.payload["product_code"], message.payload["product_rule"]) == (
        "HEALTH-PLUS",
        "best_for_customer",
    )


def test_a_held_named_product_falls_back_to_best_for_customer(
    database: str, tmp_path: Path
) -> None:
    world = World(builtin=False)
    _catalogue()
    world.customer("C1", attributes=_prefers("CHILD-CI"))
    with session_scope() as s:
        s.add(Policy(policy_id="P1", customer_id="C1", product_code="EDU-CARE"))
    _publish(tmp_path, "email: {template: cross_sell, product: EDU-CARE}")
    world.send("test_go", "C1")
    [message] = _messages()
    assert message.payload["product_code"] == "CHILD-CI"
    assert message.payload["product_rule"] == "best_for_customer"


def test_md_pick_is_the_first_md_pick_not_held(database: str, tmp_path: Path) -> None:
    world = World(builtin=False)
    _catalogue()
    world.customer("C1", attributes=_prefers("CHILD-CI"))
    with session_scope() as s:
        s.add(Policy(policy_id="P1", customer_id="C1", product_code="EDU-CARE"))
    _publish(tmp_path, "email: {template: cross_sell, product: md_pick}")
    world.send("test_go", "C1")
    [message] = _messages()
    assert message.payload["product_code"] == "PENSION-SAVINGS"


def test_the_product_is_fixed_when_decided_so_a_retry_renders_the_same(
    database: str, tmp_path: Path
) -> None:
    world = World(builtin=False)
    _catalogue()
    world.customer("C1", attributes=_prefers("CHILD-CI"))
    _publish(tmp_path, "email: {template: cross_sell, product: best_for_customer}")
    world.send("test_go", "C1")
    with session_scope() as s:
        customer = s.get(Customer, "C1")
        assert customer is not None
        customer.attributes = _prefers("HEALTH-PLUS")  # the customer's taste moves on
        s.add(customer)
    [message] = _messages()
    with session_scope() as s:
        customer = s.get(Customer, "C1")
        context = template_context(s, message, customer)  # type: ignore[arg-type]
    assert context["product"] == {
        "product_code": "CHILD-CI",
        "name": "어린이 CI보험",
        "category": "insurance",
    }


def test_bulk_entry_keeps_the_wanted_product_and_the_render_chooses_it(
    database: str, tmp_path: Path
) -> None:
    world = World(builtin=False)
    _catalogue()
    world.customer("C1", attributes=_prefers("CHILD-CI"))
    world.customer("C2", attributes=_prefers("CHILD-CI"))
    with session_scope() as s:
        s.add(Policy(policy_id="P2", customer_id="C2", product_code="EDU-CARE"))
    _publish(tmp_path, "email: {template: cross_sell, product: EDU-CARE}")
    assert enter_matching("product-test") == 2
    chosen = {}
    for cid in ("C1", "C2"):
        [message] = _messages(cid)
        assert message.payload["product_wanted"] == "EDU-CARE"
        with session_scope() as s:
            context = template_context(s, message, s.get(Customer, cid))  # type: ignore[arg-type]
        chosen[cid] = context["product"]["product_code"]
    assert chosen == {"C1": "EDU-CARE", "C2": "CHILD-CI"}  # C2 holds EDU-CARE already
