"""A complaint in the agent's browser: the service task shows the category and the
customer's words, offers the service outcomes only, and its answer is the event."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from automation.db import session_scope
from automation.delivery.deliver import deliver
from automation.models import CallTask, Event, Message
from tests.console.browser import Served, open_page, person, shot, sign_in
from tests.journey_world import World

TEXT = "보험금 청구 후 2주째 연락이 없습니다."


def test_an_agent_answers_a_complaint_with_a_service_outcome(console: Served, browser: Any) -> None:
    world = World()
    world.customer("C1", mobile="010-1234-5678")
    world.send("complaint", "C1", category="claim", text=TEXT)
    with session_scope() as s:
        call = s.exec(select(Message).where(Message.channel == "call")).one()
    assert call.id is not None and deliver(call.id).status == "sent"
    with session_scope() as s:
        task = s.exec(select(CallTask)).one()
    person("kim", "agent")

    page, watch = open_page(browser, console)
    sign_in(page, "kim")
    row = page.get_by_test_id("task-row").filter(has_text="김민서")
    assert "service" in row.inner_text() and "claim" in row.inner_text()
    row.get_by_test_id("claim").click()
    page.wait_for_url(f"**/agent/tasks/{task.id}")
    assert page.get_by_test_id("task-category").inner_text() == "claim"
    assert page.get_by_test_id("task-text").inner_text() == TEXT
    form = page.get_by_test_id("outcome")
    assert form.get_by_label("계약 sold").count() == 0  # a call outcome: not offered here
    shot(page, "agent-service-task")
    form.get_by_label("해결 resolved").check()
    form.get_by_label("메모 Notes").fill("청구 담당자 확인, 내일 지급")
    form.get_by_test_id("record-outcome").click()
    page.wait_for_url("**/agent?done=*")
    watch.check()

    with session_scope() as s:
        [event] = s.exec(select(Event).where(Event.type == "service_completed")).all()
    assert event.event_id == f"service:{task.id}"
    assert (event.properties["category"], event.properties["outcome"]) == ("claim", "resolved")
    world.process()
    assert world.enrollment("service-desk").status == "completed"
