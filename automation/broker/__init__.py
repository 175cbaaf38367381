"""The broker: built from ``BROKER_URL`` (stub, Redis, RabbitMQ), carrying a replay's
clock to the workers; stored ids handed to it in chunks, addressed to the actors by
name."""

from automation.broker.build import (
    build_broker,
    drain_stub,
    get_broker,
    set_broker,
    start_worker,
)
from automation.broker.enqueue import enqueue_events, enqueue_messages

__all__ = [
    "build_broker",
    "drain_stub",
    "enqueue_events",
    "enqueue_messages",
    "get_broker",
    "set_broker",
    "start_worker",
]
