"""The agent's day in a real browser: the queue, a claim another agent sees, the live
customer card, an outcome that moves the journey, and finding a caller."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from automation.db import session_scope
from automation.delivery.deliver import deliver
from automation.models import CallTask, Event, Message
from tests.console.browser import (
    Served,
    client,
    open_page,
    person,
    shot,
    sign_in,
    signed_in_client,
)
from tests.journey_world import World, maturity_call


def _call_task(world: World) -> tuple[str, int]:
    """A maturity-retention customer whose e-mail and SMS went unanswered: a call task."""
    cid = maturity_call(world)
    with session_scope() as s:
        call = s.exec(select(Message).where(Message.channel == "call")).one()
    assert call.id is not None
    outcome = deliver(call.id)  # the worker's delivery opens the agent task
    assert outcome.status == "sent", outcome
    with session_scope() as s:
        task = s.exec(select(CallTask).where(CallTask.customer_id == cid)).one()
    assert task.id is not None
    return cid, task.id


def test_an_agent_claims_reads_the_card_and_records_an_appointment(
    console: Served, browser: Any
) -> None:
    world = World()
    cid, task_id = _call_task(world)
    person("kim", "agent")
    person("lee", "agent")

    kim, kim_watch = open_page(browser, console)
    sign_in(kim, "kim")
    assert kim.url.endswith("/agent")
    row = kim.get_by_test_id("task-row").filter(has_text="김민서")
    assert row.count() == 1
    assert "retention" in row.inner_text() and "high" in row.inner_text()
    shot(kim, "agent-queue")
    row.get_by_test_id("claim").click()
    kim.wait_for_url(f"**/agent/tasks/{task_id}")
    card = kim.get_by_test_id("customer-card")
    text = card.inner_text()
    assert "김민서" in text and "P1" in text and "2026년 11월 22일" in text  # the maturity
    assert "만기 D-" in kim.get_by_test_id("talking-points").inner_text()
    assert "교육" in text  # the content the customer read, with its share
    assert kim.get_by_test_id("task-holder").inner_text().startswith("kim")
    shot(kim, "agent-task")

    lee, lee_watch = open_page(browser, console)
    sign_in(lee, "lee")
    held = lee.get_by_test_id("task-row").filter(has_text="김민서")
    assert "kim 님이 맡음" in held.get_by_test_id("task-status").inner_text()
    assert held.get_by_test_id("claim").count() == 0
    shot(lee, "agent-queue-second-agent")
    lee.goto(f"/agent/tasks/{task_id}")
    assert lee.get_by_test_id("outcome").count() == 0  # only the holder records

    form = kim.get_by_test_id("outcome")
    form.get_by_label("방문 약속 appointment").check()
    form.get_by_label("메모 Notes").fill("토요일 오전 지점 방문")
    form.get_by_test_id("record-outcome").click()
    kim.wait_for_url("**/agent?done=*")
    assert f"상담 #{task_id}" in kim.get_by_test_id("done-notice").inner_text()
    assert kim.get_by_test_id("task-row").filter(has_text="김민서").count() == 0
    shot(kim, "agent-outcome-recorded")

    world.process()  # what the worker does with the call_completed event
    assert world.enrollment("maturity-retention", cid).state == "interested"
    with session_scope() as s:
        [event] = s.exec(select(Event).where(Event.type == "call_completed")).all()
    assert event.properties["outcome"] == "appointment"
    assert event.properties["agent"] == "kim"
    assert event.properties["notes"] == "토요일 오전 지점 방문"
    kim_watch.check()
    lee_watch.check()


def test_an_inbound_caller_is_found_by_phone_and_shown_the_same_card(
    console: Served, browser: Any
) -> None:
    world = World()
    cid, _ = _call_task(world)
    person("park", "agent")
    page, watch = open_page(browser, console)
    sign_in(page, "park")
    page.get_by_role("link", name="고객 조회 Customers").first.click()
    page.get_by_label("이름, 전화번호 또는 고객번호 Name, phone or id").fill("5678")
    page.get_by_test_id("search").click()
    rows = page.get_by_test_id("customer-row")
    assert rows.count() == 1 and cid in rows.inner_text()
    rows.get_by_role("link").click()
    page.wait_for_url(f"**/customers/{cid}")
    assert "P1" in page.get_by_test_id("customer-card").inner_text()
    shot(page, "customer-card")
    watch.check()
    http, _ = signed_in_client(console, "park")
    missing = http.get("/customers/NOBODY")
    assert missing.status_code == 404 and "찾을 수 없습니다" in missing.text


def test_a_second_agents_claim_is_refused_naming_the_holder(console: Served) -> None:
    world = World()
    _, task_id = _call_task(world)
    person("kim", "agent")
    person("lee", "agent")
    http, csrf = signed_in_client(console, "kim")
    assert http.post(f"/agent/tasks/{task_id}/claim", data={"csrf": csrf}).status_code == 303
    other, other_csrf = signed_in_client(console, "lee")
    refused = other.post(f"/agent/tasks/{task_id}/claim", data={"csrf": other_csrf})
    assert refused.status_code == 409
    assert f"task {task_id} is claimed by kim" in refused.text
    stolen = other.post(
        f"/agent/tasks/{task_id}/outcome", data={"csrf": other_csrf, "outcome": "sold"}
    )
    assert stolen.status_code == 409
    with session_scope() as s:
        task = s.get(CallTask, task_id)
        assert task is not None and (task.status, task.claimed_by) == ("claimed", "kim")


def test_forms_without_the_session_token_change_nothing(console: Served) -> None:
    world = World()
    _, task_id = _call_task(world)
    person("kim", "agent")
    http, _ = signed_in_client(console, "kim")
    for data in ({}, {"csrf": "forged"}):
        answer = http.post(f"/agent/tasks/{task_id}/claim", data=data)
        assert answer.status_code == 403 and "CSRF" in answer.text
    with session_scope() as s:
        task = s.get(CallTask, task_id)
        assert task is not None and task.status == "open"
    anonymous = client(console).post(f"/agent/tasks/{task_id}/claim", data={"csrf": "x"})
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
