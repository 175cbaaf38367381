"""The agent workspace: the call queue, claiming a task, the customer card, the outcome.

The rules are the call center's (``delivery/call_center.py``), as for ``/v1/tasks``;
the agent is the signed-in person's user name. The outcomes offered are the task's
queue's (``delivery/queues.py``: a service task's are resolved, escalated, callback);
an outcome is the same event the API records, so the journey moves the same way.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from automation.console.auth import Viewer, for_area, form_of
from automation.console.render import page
from automation.console.roles import Area
from automation.delivery import call_center
from automation.delivery.call_center import InvalidChoice, TaskConflict, UnknownTask
from automation.delivery.queues import queue_of
from automation.reports.card import customer_card
from automation.worker.process import process_events

router = APIRouter(include_in_schema=False)
Agent = Annotated[Viewer, Depends(for_area(Area.AGENT))]
AgentForm = Annotated[tuple[Viewer, FormData], Depends(form_of(Area.AGENT))]
OUTCOME_LABELS = {
    "reached": "통화함 reached",
    "not_reached": "부재 not reached",
    "interested": "관심 있음 interested",
    "appointment": "방문 약속 appointment",
    "sold": "계약 sold",
    "do_not_call": "전화 거부 do not call",
    "resolved": "해결 resolved",
    "escalated": "상위 이관 escalated",
    "callback": "다시 연락 callback",
}
_STATUS = {UnknownTask: 404, TaskConflict: 409, InvalidChoice: 422}


@router.get("/agent", response_class=HTMLResponse)
def queue(
    request: Request,
    viewer: Agent,
    queue: Annotated[str, Query(max_length=64)] = "",
    done: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Open and claimed tasks by priority and due time, filtered by queue."""
    chosen = queue or None
    tasks = call_center.list_tasks(status="claimed", queue=chosen, limit=200)
    tasks += call_center.list_tasks(status="open", queue=chosen, limit=200)
    rank = call_center.PRIORITY_RANK
    tasks.sort(key=lambda v: (rank.get(v.task.priority, 9), v.task.due_at, v.task.id or 0))
    return page(
        request,
        viewer,
        "agent.html",
        tasks=tasks,
        queues=call_center.queues(),
        queue=queue,
        done=done,
        me=viewer.person.username,
    )


@router.get("/agent/tasks/{task_id}", response_class=HTMLResponse)
def task(request: Request, viewer: Agent, task_id: int) -> Response:
    """One task: why to call, the live customer card, and the outcome form."""
    return _task_page(request, viewer, task_id)


@router.post("/agent/tasks/{task_id}/claim", response_class=HTMLResponse)
def claim(request: Request, posted: AgentForm, task_id: int) -> Response:
    """Take the task; if another agent has it, the page says who."""
    viewer, _ = posted
    try:
        call_center.claim(task_id, viewer.person.username)
    except (UnknownTask, TaskConflict) as exc:
        return _task_page(request, viewer, task_id, error=str(exc), status=_STATUS[type(exc)])
    return RedirectResponse(f"/agent/tasks/{task_id}", status_code=303)


@router.post("/agent/tasks/{task_id}/outcome", response_class=HTMLResponse)
def outcome(request: Request, posted: AgentForm, task_id: int) -> Response:
    """Close the task with its outcome: the queue's event, as the API records."""
    viewer, form = posted
    chosen = str(form.get("outcome") or "") or None
    notes = str(form.get("notes") or "").replace("\x00", "")[:2000] or None
    try:
        done = call_center.record_outcome(task_id, viewer.person.username, chosen, notes)
    except (UnknownTask, TaskConflict, InvalidChoice) as exc:
        return _task_page(request, viewer, task_id, error=str(exc), status=_STATUS[type(exc)])
    if done.process_now:
        process_events(done.process_now)  # an opt-out holds before the next call
    return RedirectResponse(f"/agent?done={task_id}", status_code=303)


def _task_page(
    request: Request, viewer: Viewer, task_id: int, *, error: str = "", status: int = 200
) -> Response:
    try:
        view = call_center.get_task(task_id)
    except UnknownTask as exc:
        return page(request, viewer, "error.html", status=404, title="Not found", message=str(exc))
    card = customer_card(view.task.customer_id)
    return page(
        request,
        viewer,
        "agent_task.html",
        status=status,
        view=view,
        task=view.task,
        card=card,
        error=error,
        outcomes=[
            (value, OUTCOME_LABELS.get(value, value))
            for value in queue_of(view.task.queue).outcomes
        ],
        mine=view.task.status == "claimed" and view.task.claimed_by == viewer.person.username,
    )
