"""The call-center queue: list tasks, claim one, record its outcome (agent key).

A task names the outcomes its queue offers (``delivery/queues.py``): a service task
(a complaint or an inquiry, with its category and text) is answered resolved,
escalated or callback; a call task with the call outcomes.

The agent is the name of the calling API key (``automation keys create agent --name
<agent>``): a rotated key with the same name keeps its agent's tasks. The rules are
``delivery/call_center.py``'s; this route parses, names the agent, calls, and answers
(its refusals as 404, 409 and 422).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, field_validator

from automation import clock
from automation.api.deps import NO_NUL, AgentName, RowId
from automation.delivery import call_center
from automation.delivery.call_center import InvalidChoice, TaskConflict, TaskView, UnknownTask
from automation.delivery.queues import queue_of
from automation.worker.process import process_events

router = APIRouter(prefix="/v1/tasks", tags=["tasks"])


Agent = AgentName


class OutcomeIn(BaseModel):
    """The body of ``POST /v1/tasks/{id}/outcome``."""

    model_config = ConfigDict(extra="forbid")

    outcome: str | None = None
    notes: str | None = Field(default=None, max_length=2000)

    @field_validator("notes")
    @classmethod
    def _no_nul(cls, value: str | None) -> str | None:
        # PostgreSQL text cannot hold NUL: refused here rather than failing the UPDATE.
        if value is not None and "\x00" in value:
            raise ValueError("must not contain a NUL character")
        return value


@router.get("")
def list_tasks(
    _agent: Agent,
    queue: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    status: Annotated[str, Query(max_length=64, pattern=NO_NUL)] = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Tasks by priority (high, normal, low), then due time, with who to call and why."""
    with _answers():
        views = call_center.list_tasks(status=status, queue=queue, limit=limit)
    return {"tasks": [_task_json(view) for view in views]}


@router.post("/{task_id}/claim")
def claim(task_id: RowId, agent: Agent) -> dict[str, Any]:
    """Take an open task; 409 naming the holder if someone else has it (or it is done)."""
    with _answers():
        view = call_center.claim(task_id, agent)
    return {"task": _task_json(view)}


@router.post("/{task_id}/outcome")
def record_outcome(task_id: RowId, body: OutcomeIn, agent: Agent) -> dict[str, Any]:
    """Close a task the caller holds with one of its queue's outcomes and emit the
    queue's event (``call_completed``, ``service_completed``); repeating it is harmless."""
    with _answers():
        done = call_center.record_outcome(task_id, agent, body.outcome, body.notes)
    if done.process_now:
        # An opt-out must hold before the next call is placed, broker or not.
        process_events(done.process_now)
    return {
        "task": _task_json(done.view),
        "recorded": done.recorded,
        "event_id": done.event_id,
        "event_status": done.event_status,
    }


# The call center's refusals and the answers they get.
_STATUS: dict[type[Exception], int] = {UnknownTask: 404, TaskConflict: 409, InvalidChoice: 422}


@contextmanager
def _answers() -> Iterator[None]:
    """A refusal of the call center as its HTTP answer, with its message."""
    try:
        yield
    except (UnknownTask, TaskConflict, InvalidChoice) as exc:
        raise HTTPException(_STATUS[type(exc)], detail=str(exc)) from None


def _task_json(view: TaskView) -> dict[str, Any]:
    task = view.task
    return {
        "id": task.id,
        "queue": task.queue,
        "priority": task.priority,
        "due_at": _iso(task.due_at),
        "status": task.status,
        "customer": {"customer_id": task.customer_id, "name": view.name, "mobile": view.mobile},
        "reason": {"journey_id": task.journey_id, "state": task.state},
        "report": task.report,
        "category": task.category,  # a service task's complaint or inquiry
        "text": task.request_text,
        "outcomes": list(queue_of(task.queue).outcomes),  # what an agent may record
        "message_id": task.message_id,
        "claimed_by": task.claimed_by,
        "claimed_at": _iso(task.claimed_at),
        "outcome": task.outcome,
        "notes": task.notes,
        "completed_at": _iso(task.completed_at),
        "created_at": _iso(task.created_at),
    }


def _iso(value: datetime | None) -> str | None:
    return clock.to_utc(value).isoformat() if value is not None else None
