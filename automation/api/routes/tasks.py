"""The call-center queue: list tasks, claim one, record its outcome (agent key).

The agent is the name of the calling API key (``automation keys create agent --name
<agent>``): a rotated key with the same name keeps its agent's tasks. Claims and
outcomes are conditional UPDATEs, so two agents never hold one task. An outcome
becomes a ``call_completed`` event (``call:<task id>``); what it means for the
customer is the pipeline's business, not this route's.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import case, update
from sqlmodel import Session, col, select

from automation import clock
from automation.api.deps import AgentKey
from automation.api.keys import key_name
from automation.db import session_scope
from automation.errors import AuthError
from automation.events.ingest import ingest
from automation.models import CallTask, Customer, Message
from automation.worker.process import process_events

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1/tasks", tags=["tasks"])

OUTCOMES = ("reached", "not_reached", "interested", "appointment", "sold", "do_not_call")
STATUSES = ("open", "claimed", "done")
PRIORITY_RANK = {"high": 0, "normal": 1, "low": 2}
_tasks = CallTask.__table__  # type: ignore[attr-defined]


def current_agent(_scope: AgentKey, x_api_key: Annotated[str | None, Header()] = None) -> str:
    """The calling key's name (``AgentKey`` has checked the key and its scope)."""
    try:
        return key_name(x_api_key)
    except AuthError as exc:
        raise HTTPException(401, detail=str(exc)) from None


Agent = Annotated[str, Depends(current_agent)]


class OutcomeIn(BaseModel):
    """The body of ``POST /v1/tasks/{id}/outcome``."""

    model_config = ConfigDict(extra="forbid")

    outcome: str | None = None
    notes: str | None = Field(default=None, max_length=2000)


@router.get("")
def list_tasks(
    _agent: Agent,
    queue: str | None = None,
    status: str = "open",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    """Tasks by priority (high, normal, low), then due time, with who to call and why."""
    if status not in STATUSES:
        raise HTTPException(422, detail=f"status '{status}' is not one of {', '.join(STATUSES)}")
    rank = case(PRIORITY_RANK, value=col(CallTask.priority), else_=len(PRIORITY_RANK))
    query = (
        select(CallTask, Customer.name, Customer.mobile)
        .join(Customer, col(Customer.customer_id) == col(CallTask.customer_id))
        .where(CallTask.status == status)
        .order_by(rank, col(CallTask.due_at), col(CallTask.id))
        .limit(limit)
    )
    if queue:
        query = query.where(CallTask.queue == queue)
    with session_scope() as session:
        rows = session.exec(query).all()
    return {"tasks": [_task_json(task, name, mobile) for task, name, mobile in rows]}


@router.post("/{task_id}/claim")
def claim(task_id: int, agent: Agent) -> dict[str, Any]:
    """Take an open task; 409 naming the holder if someone else has it (or it is done)."""
    now = clock.now()
    with session_scope() as session:
        # The WHERE status='open' is the lock: of two agents, one UPDATE matches.
        won = session.connection().execute(
            update(_tasks)
            .where(_tasks.c.id == task_id, _tasks.c.status == "open")
            .values(status="claimed", claimed_by=agent, claimed_at=now)
        )
        task = _get(session, task_id)
        if won.rowcount == 0:
            if task.status == "claimed" and task.claimed_by == agent:
                pass  # already ours: claiming again is harmless
            elif task.status == "claimed":
                raise HTTPException(409, detail=f"task {task_id} is claimed by {task.claimed_by}")
            else:
                raise HTTPException(
                    409, detail=f"task {task_id} is done ({task.outcome}, by {task.claimed_by})"
                )
        return {"task": _task_json(task, *_contact(session, task))}


@router.post("/{task_id}/outcome")
def record_outcome(task_id: int, body: OutcomeIn, agent: Agent) -> dict[str, Any]:
    """Close a task the caller holds and emit ``call_completed``; repeating it is harmless."""
    if body.outcome not in OUTCOMES:
        given = "is missing" if body.outcome is None else f"'{body.outcome}' is not allowed"
        raise HTTPException(422, detail=f"outcome {given}; one of {', '.join(OUTCOMES)}")
    now = clock.now()
    with session_scope() as session:
        done = session.connection().execute(
            update(_tasks)
            .where(
                _tasks.c.id == task_id,
                _tasks.c.status == "claimed",
                _tasks.c.claimed_by == agent,
            )
            .values(status="done", outcome=body.outcome, notes=body.notes, completed_at=now)
        )
        task = _get(session, task_id)
        recorded = done.rowcount == 1
        if not recorded:
            _refuse_outcome(task, agent, body.outcome)
        message = session.get(Message, task.message_id)
        event = _call_event(task, message)
        contact = _contact(session, task)
    # After the commit: the event tells what the task row says. If ingest fails, the
    # agent's retry (same outcome: 200) stores it; its id makes it once.
    result = ingest([event], source="agent")
    if body.outcome == "do_not_call" and result.stored_ids:
        # An opt-out must hold before the next call is placed, broker or not.
        process_events(result.stored_ids)
    return {
        "task": _task_json(task, *contact),
        "recorded": recorded,
        "event_id": event["event_id"],
        "event_status": result.results[0].status,
    }


def _refuse_outcome(task: CallTask, agent: str, outcome: str) -> None:
    """Why an outcome cannot be recorded (returns if it is a harmless repeat)."""
    if task.status == "open":
        raise HTTPException(409, detail=f"task {task.id} is not claimed; claim it first")
    if task.claimed_by != agent:
        held = "is held" if task.status == "claimed" else "was done"
        raise HTTPException(409, detail=f"task {task.id} {held} by {task.claimed_by}, not you")
    if task.outcome != outcome:
        raise HTTPException(
            409, detail=f"task {task.id} is done already with outcome '{task.outcome}'"
        )


def _get(session: Session, task_id: int) -> CallTask:
    task = session.get(CallTask, task_id)
    if task is None:
        raise HTTPException(404, detail=f"no task {task_id}")
    return task


def _contact(session: Session, task: CallTask) -> tuple[str | None, str | None]:
    customer = session.get(Customer, task.customer_id)
    return (customer.name, customer.mobile) if customer else (None, None)


def _call_event(task: CallTask, message: Message | None) -> dict[str, Any]:
    assert task.completed_at is not None
    return {
        "event_id": f"call:{task.id}",
        "type": "call_completed",
        "occurred_at": _iso(task.completed_at),
        "customer_id": task.customer_id,
        "properties": {
            "outcome": task.outcome,
            "notes": task.notes,
            "task_id": task.id,
            "message_id": task.message_id,
            "journey_id": task.journey_id,
            "enrollment_id": message.enrollment_id if message else None,
            "state": task.state,
            "queue": task.queue,
            "agent": task.claimed_by,
        },
    }


def _task_json(task: CallTask, name: str | None, mobile: str | None) -> dict[str, Any]:
    return {
        "id": task.id,
        "queue": task.queue,
        "priority": task.priority,
        "due_at": _iso(task.due_at),
        "status": task.status,
        "customer": {"customer_id": task.customer_id, "name": name, "mobile": mobile},
        "reason": {"journey_id": task.journey_id, "state": task.state},
        "report": task.report,
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
