"""Delivery: the ledger that moves each message row from queued to sent (or to a
reason why not), the contact policy consulted right before each send, the channels'
declarations read to render and deliver, and the call center's agent tasks. What a
failed send means (``classify``, ``failures``), channel pauses (``pause``) and review
items (``review``) are here too. Nothing here decides *what* to send."""

from automation.delivery.backlog import relay_messages
from automation.delivery.call_center import claim, list_tasks, open_task, record_outcome
from automation.delivery.deliver import deliver, deliver_many
from automation.delivery.ledger import Outcome
from automation.delivery.policy import Sent, Verdict, decide

__all__ = [
    "Outcome",
    "Sent",
    "Verdict",
    "claim",
    "decide",
    "deliver",
    "deliver_many",
    "list_tasks",
    "open_task",
    "record_outcome",
    "relay_messages",
]
