"""Prometheus metrics of this process (served at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

EVENTS_INGESTED = Counter(
    "automation_events_ingested_total", "Events offered to ingest, by result", ["source", "result"]
)
EVENTS_PROCESSED = Counter(
    "automation_events_processed_total", "Events processed by the worker, by result", ["result"]
)
EVENTS_RELAYED = Counter("automation_events_relayed_total", "Events re-published by the relay")
INGEST_BATCH_SECONDS = Histogram(
    "automation_ingest_batch_seconds",
    "Time to ingest one HTTP batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
SMTP_FAILURES = Counter(
    "automation_smtp_failures_total",
    "SMTP failures by stage, reply (code and enhanced code) and what delivery made of them",
    ["stage", "reply", "verdict"],
)
CHANNEL_PAUSES = Counter(
    "automation_channel_pauses_total",
    "Channels paused: after a sender-side failure (by=auto) or by an operator",
    ["channel", "by"],
)
MESSAGES_HELD = Counter(
    "automation_messages_held_total",
    "Messages claimed while their channel was paused, deferred unattempted",
    ["channel"],
)
