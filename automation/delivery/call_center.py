"""The call center: a call message becomes an agent task; agents list, claim and close
tasks.

The task is opened in the claim's transaction (:func:`open_task`), idempotent by
message id, with a snapshot of what the customer did online, due as its queue says
(``queues.py``), and, for a complaint or an inquiry, its category and text. An agent
is a name (the calling API key's). Claims and outcomes are conditional UPDATEs, so two
agents never hold one task and repeating an outcome is harmless. An outcome becomes
the queue's event, ``call_completed`` (``call:<task id>``) or ``service_completed``
(``service:<task id>``); what it means for the customer is the pipeline's business.
Nothing here knows HTTP: a refusal is :class:`UnknownTask`, :class:`TaskConflict` or
:class:`InvalidChoice`, with a message an agent can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, update
from sqlmodel import Session, col, select

from automation import clock
from automation.db import session_scope
from automation.delivery.content import preference_report
from automation.delivery.queues import ALL_OUTCOMES, CALL_OUTCOMES, queue_of
from automation.errors import AutomationError, NotFound, ValidationError
from automation.events.catalog import call_completed, service_completed
from automation.events.ingest import ingest
from automation.events.schema import EventIn
from automation.models import CallTask, Customer, Enrollment, Event, Message

OUTCOMES = CALL_OUTCOMES  # a marketing call queue's; a queue's own: ``queues.queue_of``
OPT_OUTS = frozenset({"do_not_call"})  # must hold before the next call, broker or not
STATUSES = ("open", "claimed", "done")
PRIORITY_RANK = {"high": 0, "normal": 1, "low": 2}
_tasks = CallTask.__table__  # type: ignore[attr-defined]


class UnknownTask(NotFound):
    """No task has this id."""


class TaskConflict(AutomationError):
    """Another agent holds the task, it is done, or it is not claimed yet."""


class InvalidChoice(ValidationError):
    """A status or outcome that is not one of the allowed values."""


@dataclass(frozen=True)
class TaskView:
    """A task with whom to call."""

    task: CallTask
    name: str | None
    mobile: str | None


@dataclass(frozen=True)
class Recorded:
    """What recording an outcome did."""

    view: TaskView
    recorded: bool  # False: the same outcome was recorded before (a harmless repeat)
    event_id: str
    event_status: str  # ingest's word for the event: accepted, duplicate
    process_now: list[int]  # stored events to process before answering (an opt-out)


def open_task(session: Session, message: Message, customer: Customer) -> None:
    """Open the agent task of a call message, in the caller's (the claim's) transaction;
    nothing if it is open already (the message was re-opened after a crash)."""
    if session.exec(select(CallTask).where(CallTask.message_id == message.id)).first():
        return
    due = message.payload.get("due_at")
    queue = queue_of(str(message.payload.get("queue", "default")))
    journey_due = clock.to_utc(datetime.fromisoformat(due)) if due else None
    request = _request(session, message) if queue.requested else {}
    session.add(
        CallTask(
            message_id=message.id,  # type: ignore[arg-type]
            customer_id=customer.customer_id,
            queue=queue.name,
            priority=str(message.payload.get("priority", "normal")),
            due_at=queue.due_at(journey_due, clock.now()),
            journey_id=message.journey_id,
            state=message.state,
            report=preference_report(session, customer),
            category=_short(request.get("category"), 64),
            request_text=_short(request.get("text"), 2000),
        )
    )
    session.flush()


def _request(session: Session, message: Message) -> dict[str, object]:
    """What the customer asked: the properties of the event that entered the journey
    (a callback's task, opened on the agent's outcome, keeps the complaint's)."""
    event_id = None
    if message.enrollment_id is not None:
        enrollment = session.get(Enrollment, message.enrollment_id)
        event_id = enrollment.entry_event_id if enrollment else None
    event_id = event_id or message.payload.get("trigger_event_id")
    event = session.get(Event, event_id) if event_id else None
    return dict(event.properties) if event else {}


def _short(value: object, limit: int) -> str | None:
    return value[:limit] if isinstance(value, str) and value.strip() else None


def list_tasks(
    *, status: str = "open", queue: str | None = None, limit: int = 50
) -> list[TaskView]:
    """Tasks by priority (high, normal, low), then due time, with whom to call.

    Raises:
        InvalidChoice: ``status`` is not open, claimed or done.
    """
    if status not in STATUSES:
        raise InvalidChoice(f"status '{status}' is not one of {', '.join(STATUSES)}")
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
    return [TaskView(task, name, mobile) for task, name, mobile in rows]


def get_task(task_id: int) -> TaskView:
    """One task with whom to call.

    Raises:
        UnknownTask: no such task.
    """
    with session_scope() as session:
        return _view(session, _get(session, task_id))


def queues() -> list[str]:
    """The queues that have tasks, by name."""
    with session_scope() as session:
        return sorted(session.exec(select(CallTask.queue).distinct()))


def claim(task_id: int, agent: str) -> TaskView:
    """Give an open task to ``agent``; claiming one's own task again is harmless.

    Raises:
        UnknownTask: no such task.
        TaskConflict: another agent holds it, or it is done (the message names who).
    """
    now = clock.now()
    with session_scope() as session:
        # The WHERE status='open' is the lock: of two agents, one UPDATE matches.
        won = session.connection().execute(
            update(_tasks)
            .where(_tasks.c.id == task_id, _tasks.c.status == "open")
            .values(status="claimed", claimed_by=agent, claimed_at=now)
        )
        task = _get(session, task_id)
        if won.rowcount == 0 and not (task.status == "claimed" and task.claimed_by == agent):
            if task.status == "claimed":
                raise TaskConflict(f"task {task_id} is claimed by {task.claimed_by}")
            raise TaskConflict(f"task {task_id} is done ({task.outcome}, by {task.claimed_by})")
        return _view(session, task)


def record_outcome(task_id: int, agent: str, outcome: str | None, notes: str | None) -> Recorded:
    """Close a task ``agent`` holds and emit its queue's event (``call_completed``,
    ``service_completed``); the same outcome again is harmless (nothing changes, the
    event is a duplicate).

    Raises:
        InvalidChoice: no outcome, or one its queue does not offer (``queues.py``).
        UnknownTask: no such task.
        TaskConflict: not claimed, held by someone else, or done with another outcome.
    """
    if outcome not in ALL_OUTCOMES:
        given = "is missing" if outcome is None else f"'{outcome}' is not allowed"
        allowed = queue_of(_queue_name(task_id)).outcomes
        raise InvalidChoice(f"outcome {given}; one of {', '.join(allowed)}")
    now = clock.now()
    with session_scope() as session:
        allowed = queue_of(_get(session, task_id).queue).outcomes
        if outcome not in allowed:
            raise InvalidChoice(f"outcome '{outcome}' is not allowed; one of {', '.join(allowed)}")
        done = session.connection().execute(
            update(_tasks)
            .where(
                _tasks.c.id == task_id,
                _tasks.c.status == "claimed",
                _tasks.c.claimed_by == agent,
            )
            .values(status="done", outcome=outcome, notes=notes, completed_at=now)
        )
        task = _get(session, task_id)
        recorded = done.rowcount == 1
        if not recorded:
            _refuse_outcome(task, agent, outcome)
        event = call_event(task, session.get(Message, task.message_id))
        view = _view(session, task)
    # After the commit: the event tells what the task row says. If ingest fails, the
    # agent's retry (same outcome: harmless) stores it; its id makes it once.
    result = ingest([event], source="agent")
    return Recorded(
        view,
        recorded,
        event.event_id,
        result.results[0].status,
        result.stored_ids if outcome in OPT_OUTS else [],
    )


def _queue_name(task_id: int) -> str | None:
    """The task's queue, for naming its outcomes (None: no such task)."""
    with session_scope() as session:
        task = session.get(CallTask, task_id)
        return task.queue if task else None


def call_event(task: CallTask, message: Message | None) -> EventIn:
    """The event of a done task: its queue's (``call_completed``, ``service_completed``)."""
    assert task.id is not None and task.completed_at is not None
    properties = {
        "outcome": task.outcome,
        "notes": task.notes,
        "task_id": task.id,
        "message_id": task.message_id,
        "journey_id": task.journey_id,
        "enrollment_id": message.enrollment_id if message else None,
        "state": task.state,
        "queue": task.queue,
        "agent": task.claimed_by,
    }
    if queue_of(task.queue).event == "service_completed":
        properties["category"] = task.category or "other"
        return service_completed(task.id, task.customer_id, task.completed_at, properties)
    return call_completed(task.id, task.customer_id, task.completed_at, properties)


def _refuse_outcome(task: CallTask, agent: str, outcome: str) -> None:
    """Why an outcome cannot be recorded (returns if it is a harmless repeat)."""
    if task.status == "open":
        raise TaskConflict(f"task {task.id} is not claimed; claim it first")
    if task.claimed_by != agent:
        held = "is held" if task.status == "claimed" else "was done"
        raise TaskConflict(f"task {task.id} {held} by {task.claimed_by}, not you")
    if task.outcome != outcome:
        raise TaskConflict(f"task {task.id} is done already with outcome '{task.outcome}'")


def _get(session: Session, task_id: int) -> CallTask:
    task = session.get(CallTask, task_id)
    if task is None:
        raise UnknownTask(f"no task {task_id}")
    return task


def _view(session: Session, task: CallTask) -> TaskView:
    customer = session.get(Customer, task.customer_id)
    return TaskView(task, *((customer.name, customer.mobile) if customer else (None, None)))
