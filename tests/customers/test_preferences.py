"""Preferences, channel responsiveness and the prospect score, driven by real events
through ingest and processing: decay, top keys, late arrivals, scanners, the score's
reasons, and the prospect condition in SQL and in Python."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event
from sqlmodel import col, select

from automation import clock
from automation.conditions import Facts, compile_condition
from automation.customers import prospect
from automation.db import get_engine, session_scope
from automation.events.ingest import ingest
from automation.models import Customer, Product
from automation.worker import process
from tests.journey_world import START, World


def _attrs(customer_id: str = "C1") -> dict[str, Any]:
    with session_scope() as s:
        customer = s.get(Customer, customer_id)
        assert customer is not None
        return dict(customer.attributes)


def _products(**categories: str) -> None:
    with session_scope() as s:
        for code, category in categories.items():
            s.add(Product(product_code=code.replace("_", "-"), name=code, category=category))


def _late(world: World, type_: str, at: datetime, customer_id: str = "C1", **props: Any) -> None:
    """An event that happened at ``at`` but arrives now (after newer ones)."""
    event = {
        "event_id": f"late:{type_}:{at.isoformat()}",
        "type": type_,
        "customer_id": customer_id,
        "occurred_at": at.isoformat(),
        "properties": props,
    }
    assert ingest([event], publish=False).rejected == 0
    world.process()


def _days(n: float) -> None:
    clock.advance(timedelta(days=n))


def test_the_step_runs_after_the_profile_and_before_segments() -> None:
    names = [step.__name__ for step in process.STEPS]
    assert names.index("ProfileStep") < names.index("PreferenceStep")
    assert names.index("PreferenceStep") < names.index("SegmentStep")


def test_three_views_today_beat_five_views_ninety_days_ago(database: str) -> None:
    world = World(builtin=False)
    world.customer("C1")
    for _ in range(5):
        world.send("content_view", "C1", content="pension-savings")
    assert _attrs()["top_content"] == "pension-savings"
    _days(90)
    for _ in range(3):
        world.send("content_view", "C1", content="education-children")
    attrs = _attrs()
    # 5 × 0.5 ** (90 / 30) = 0.625 as of today, against 3.
    assert attrs["preferences"]["content"] == {
        "pension-savings": {"score": 5.0, "at": "2026-11-02T01:00:00Z"},
        "education-children": {"score": 3.0, "at": "2027-01-31T01:00:00Z"},
    }
    assert attrs["top_content"] == "education-children"
    _days(30)
    world.send("content_view", "C1", content="pension-savings")
    content = _attrs()["preferences"]["content"]
    # Decayed on update: 5 × 0.5 ** (120 / 30) + 1, against 3 × 0.5 = 1.5 as of today.
    assert content["pension-savings"] == {"score": 1.3125, "at": "2027-03-02T01:00:00Z"}
    assert _attrs()["top_content"] == "education-children"


def test_category_from_the_event_or_the_catalogue_and_the_best_ten_kept(database: str) -> None:
    world = World(builtin=False)
    world.customer("C1")
    _products(EDU_CARE="insurance", HOME_LOAN="loan")
    world.send("product_view", "C1", product="EDU-CARE")
    world.send("product_view", "C1", product="EDU-CARE")
    world.send("product_view", "C1", product="HOME-LOAN")
    world.send("page_view", "C1", url="/loans/rates", category="loan")
    world.send("page_view", "C1", url="/loans/faq", category="loan")
    world.send("product_view", "C1", product="NOT-IN-CATALOGUE")
    world.send("page_view", "C1", url="/")  # names nothing: no preference
    attrs = _attrs()
    at = "2026-11-02T01:00:00Z"
    assert attrs["preferences"] == {
        "content": {},
        "category": {"insurance": {"score": 2.0, "at": at}, "loan": {"score": 3.0, "at": at}},
        "product": {
            "EDU-CARE": {"score": 2.0, "at": at},
            "HOME-LOAN": {"score": 1.0, "at": at},
            "NOT-IN-CATALOGUE": {"score": 1.0, "at": at},
        },
    }
    assert (attrs["top_category"], attrs["top_product"]) == ("loan", "EDU-CARE")
    assert "top_content" not in attrs

    for day in range(12):  # twelve tags a day apart: the two oldest fall out
        world.send("content_view", "C1", content=f"c{day:02}")
        _days(1)
    content = _attrs()["preferences"]["content"]
    assert sorted(content) == [f"c{day:02}" for day in range(2, 12)]
    assert _attrs()["top_content"] == "c11"


def test_an_older_event_arriving_late_adds_its_decayed_weight(database: str) -> None:
    world = World(builtin=False)
    world.customer("C1")
    _days(30)
    world.send("content_view", "C1", content="pension")
    _late(world, "content_view", START, content="pension")  # 30 days older, arrives later
    assert _attrs()["preferences"]["content"]["pension"] == {
        "score": 1.5,  # 1 + 0.5 ** (30 / 30); the time stays at the newer view
        "at": "2026-12-02T01:00:00Z",
    }
    _late(world, "quote_request", START.add(days=15))  # 15 days old: 30 × 0.5 ** 0.5
    attrs = _attrs()
    assert (attrs["prospect_score"], attrs["prospect_reasons"]) == (
        21,
        ["quote_request 2026-11-17 (+21)"],
    )
    _late(world, "quote_request", START - timedelta(days=1))  # outside the 30-day window
    assert _attrs()["prospect_score"] == 21


def test_channel_responsiveness_counts_each_message_once_and_no_scanners(database: str) -> None:
    world = World(builtin=False)
    world.customer("C1")
    for message in (1, 2, 3):
        world.send("email_sent", "C1", message_id=message)
    assert "preferred_channel" not in _attrs()  # sent, never answered: no preference
    world.send("email_sent", "C1", message_id=4)
    world.send("email_opened", "C1", message_id=1)
    world.send("email_clicked", "C1", message_id=1)  # the same message: counted once
    world.send("email_clicked", "C1", message_id=2, suspected_bot=True)  # a scanner
    attrs = _attrs()
    assert attrs["channels"] == {
        "email": {"sent": 4, "responded": 1, "rate": 0.25, "responded_to": [1]}
    }
    assert attrs["preferred_channel"] == "email"

    for message in (11, 12, 13):
        world.send("sms_delivered", "C1", message_id=message)
    world.send("sms_replied", "C1", message_id=11)
    world.send("call_completed", "C1", outcome="interested", message_id=21)
    world.send("call_completed", "C1", outcome="not_reached", message_id=22)
    attrs = _attrs()
    assert attrs["channels"]["sms"] == {
        "sent": 3,
        "responded": 1,
        "rate": 0.3333,
        "responded_to": [11],
    }
    assert attrs["channels"]["call"]["rate"] == 0.5  # but two calls are too few
    assert attrs["preferred_channel"] == "sms"
    world.send("call_completed", "C1", outcome="appointment", message_id=23)
    attrs = _attrs()
    assert attrs["channels"]["call"] == {
        "sent": 3,
        "responded": 2,
        "rate": 0.6667,
        "responded_to": [21, 23],
    }
    assert attrs["preferred_channel"] == "call"


def test_prospect_score_and_its_reasons_for_a_known_sequence(database: str) -> None:
    world = World(builtin=False)
    world.customer("C1")
    world.policy("P1", "C1", START.date() + timedelta(days=3000))  # holds EDU-CARE: insurance
    # day 0
    world.send("content_view", "C1", content="pension-guide", category="pension")  # not held
    world.send("content_view", "C1", content="edu-tips", category="insurance")  # held: 0
    for _ in range(3):
        world.send("product_view", "C1", product="EDU-CARE")
    # day 10: the same product in another visit, a click, a scanner's click
    _days(10)
    world.send("product_view", "C1", product="EDU-CARE")
    world.send("email_clicked", "C1", message_id=7)
    world.send("email_clicked", "C1", message_id=8, suspected_bot=True)
    # day 20
    _days(10)
    world.send("quote_request", "C1")
    attrs = _attrs()
    # As of day 20, a day-10 point is worth 0.5 ** (10/30) = 0.794, a day-0 one 0.630:
    # views 5 × 0.794 + 15 × 0.630 = 13.4; return 7.9; click 7.9; new category 3.1.
    assert attrs["prospect_reasons"] == [
        "quote_request 2026-11-22 (+30)",
        "return_visit EDU-CARE 2026-11-12 (+8)",
        "email_clicked 2026-11-12 (+8)",
        "product_view EDU-CARE ×4 (+13)",
        "new_category pension 2026-11-02 (+3)",
    ]
    assert attrs["prospect_score"] == 62 >= prospect.PROSPECT_THRESHOLD

    # Time alone lowers it, once rescored: 25 days later only the quote is in the window.
    _days(25)
    assert prospect.rescore() == 1
    attrs = _attrs()
    assert (attrs["prospect_score"], attrs["prospect_reasons"]) == (
        17,  # 30 × 0.5 ** (25/30) = 16.8
        ["quote_request 2026-11-22 (+17)"],
    )
    assert prospect.rescore() == 0

    # A purchase ends that intent; an older request arriving late does not revive it.
    world.send("policy_purchased", "C1", policy_id="P2", product="EDU-CARE")
    assert (_attrs()["prospect_score"], _attrs()["prospect_reasons"]) == (0, [])
    _late(world, "consultation_request", clock.now() - timedelta(days=1))
    assert _attrs()["prospect_score"] == 0
    world.send("product_view", "C1", product="EDU-CARE")
    assert _attrs()["prospect_reasons"] == ["product_view EDU-CARE 2026-12-17 (+5)"]


def test_the_prospect_condition_selects_the_same_customers_in_sql_and_python(
    database: str,
) -> None:
    world = World(builtin=False)
    for cid in ("C1", "C2", "C3"):
        world.customer(cid)
    for _ in range(7):  # five count: +25
        world.send("product_view", "C1", product="EDU-CARE")
    world.send("consultation_request", "C1")
    world.send("quote_request", "C2")
    assert _attrs("C1")["prospect_reasons"] == [
        "consultation_request 2026-11-02 (+30)",
        "product_view EDU-CARE ×5 (+25)",
    ]
    assert (_attrs("C1")["prospect_score"], _attrs("C2")["prospect_score"]) == (55, 30)
    assert "prospect_score" not in _attrs("C3")

    condition = compile_condition(
        {"customer.attributes.prospect_score": {"gte": prospect.PROSPECT_THRESHOLD}},
        allow_event=False,
    )
    now = clock.now()
    with session_scope() as s:
        in_sql = s.exec(
            select(Customer.customer_id)
            .where(condition.to_sql(now))
            .order_by(col(Customer.customer_id))
        ).all()
        customers = s.exec(select(Customer).order_by(col(Customer.customer_id))).all()
        in_python = [c.customer_id for c in customers if condition.matches(Facts(c, now))]
    assert list(in_sql) == in_python == ["C1"]


def test_a_category_is_new_again_once_its_policy_ends_even_within_one_chunk(
    database: str,
) -> None:
    world = World(builtin=False)
    world.customer("C1")
    world.policy("P1", "C1", START.date() + timedelta(days=3000))  # EDU-CARE: insurance
    world.send("content_view", "C1", content="edu-tips", category="insurance")
    assert "prospect_score" not in _attrs()  # a category held: no signal
    now = clock.now()
    batch = [  # one chunk: the categories held were loaded before the cancellation
        {
            "event_id": "cancel",
            "type": "policy_cancelled",
            "customer_id": "C1",
            "occurred_at": (now + timedelta(minutes=1)).isoformat(),
            "properties": {"policy_id": "P1"},
        },
        {
            "event_id": "view",
            "type": "content_view",
            "customer_id": "C1",
            "occurred_at": (now + timedelta(minutes=2)).isoformat(),
            "properties": {"content": "edu-tips", "category": "insurance"},
        },
    ]
    assert ingest(batch, publish=False).rejected == 0
    world.process()
    assert _attrs()["prospect_reasons"] == ["new_category insurance 2026-11-02 (+5)"]


def test_a_view_naming_no_category_asks_nothing_of_the_policies(database: str) -> None:
    """Only a view's category scores against the categories held: a content view that
    names none still counts as a preference, with no look at the customer's policies."""
    world = World(builtin=False)
    world.customer("C1")
    world.policy("P1", "C1", START.date() + timedelta(days=400))
    asked: list[str] = []

    def policies_read(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM policies" in statement:
            asked.append(statement)

    event.listen(get_engine(), "before_cursor_execute", policies_read)
    try:
        world.send("content_view", "C1", content="edu-tips")
        assert asked == []
        world.send("content_view", "C1", content="edu-tips", category="pension")
        assert len(asked) == 1
    finally:
        event.remove(get_engine(), "before_cursor_execute", policies_read)
    attrs = _attrs()
    assert attrs["prospect_reasons"] == ["new_category pension 2026-11-02 (+5)"]
    assert "edu-tips" in str(attrs)


def test_a_category_changed_elsewhere_counts_from_the_next_event(database: str) -> None:
    """The step keeps the catalogue's categories while the definitions stamp stays; an
    edit from another process (here: SQL) moves it, so the next view sees the new one."""
    world = World(builtin=False)
    world.customer("C1")
    _products(EDU_CARE="insurance")
    world.send("product_view", "C1", product="EDU-CARE")
    with session_scope() as s:
        s.connection().execute(
            Product.__table__.update().values(category="savings")  # type: ignore[attr-defined]
        )
    world.send("product_view", "C1", product="EDU-CARE")
    categories = _attrs()["preferences"]["category"]
    assert set(categories) == {"insurance", "savings"}
